package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.HashKVResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member that was down while the leader snapshotted and compacted its log past the member's
 * position is caught up by a snapshot when it comes back (etcd keeps 5,000 entries after a
 * snapshot for slow followers; the load here writes more than that while the member is dead).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SnapshotCatchUpIT {
    static final String PREFIX = "/sc/";
    static final int BEFORE = 100;
    static final int WHILE_DOWN = 7_000;
    static final int IN_FLIGHT = 64;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    ProcessCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) cluster.close();
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    static RangeRequest countPrefix(boolean serializable) {
        return RangeRequest.newBuilder().setKey(bs(PREFIX)).setRangeEnd(bs("/sc0")).setCountOnly(true)
                .setSerializable(serializable).build();
    }

    String logs() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cluster.size; i++) sb.append("\n---- ").append(cluster.name(i)).append(" log tail\n").append(cluster.tail(i, 20));
        return sb.toString();
    }

    /** Pipelined puts through one endpoint; every one must be acknowledged. */
    void load(int endpoint, int from, int count) throws InterruptedException {
        KVGrpc.KVFutureStub stub = KVGrpc.newFutureStub(cluster.channel(endpoint));
        Semaphore window = new Semaphore(IN_FLIGHT);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        String value = "x".repeat(100);
        for (int i = from; i < from + count; i++) {
            if (!window.tryAcquire(10, TimeUnit.SECONDS)) throw new AssertionError("put window stuck at key " + i + logs());
            PutRequest put = PutRequest.newBuilder().setKey(bs(PREFIX + String.format("%06d", i))).setValue(bs(value)).build();
            Futures.addCallback(stub.withDeadlineAfter(10, TimeUnit.SECONDS).put(put), new FutureCallback<PutResponse>() {
                @Override
                public void onSuccess(PutResponse r) {
                    window.release();
                }

                @Override
                public void onFailure(Throwable t) {
                    failed.incrementAndGet();
                    firstError.compareAndSet(null, t);
                    window.release();
                }
            }, MoreExecutors.directExecutor());
        }
        if (!window.tryAcquire(IN_FLIGHT, 20, TimeUnit.SECONDS)) throw new AssertionError("puts still in flight after 20 s" + logs());
        window.release(IN_FLIGHT);
        assertEquals(0, failed.get(), "failed puts with two of three members up; first: " + firstError.get() + logs());
    }

    long count(int member, boolean serializable) {
        RangeResponse r = cluster.kv(member, 5_000).range(countPrefix(serializable));
        return r.getCount();
    }

    @Test
    void memberDownWhileTheLogWasCompactedIsCaughtUpBySnapshot() throws Exception {
        cluster = new ProcessCluster(dir, 3, "--snapshot-count", "1000");
        cluster.startAll();
        for (int i = 0; i < 3; i++) cluster.awaitReady(i, 30);
        int leader = cluster.awaitLeader(15);
        int lagging = (leader + 1) % 3;
        load(leader, 0, BEFORE);

        cluster.kill9(lagging);
        long t0 = System.nanoTime();
        load(leader, BEFORE, WHILE_DOWN);
        System.out.printf("[SnapshotCatchUpIT] %d puts with %s down in %d ms; leader snap dir: %s%n", WHILE_DOWN,
                cluster.name(lagging), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), listing(leader));

        cluster.start(lagging);
        cluster.awaitReady(lagging, 30);
        long total = BEFORE + WHILE_DOWN;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long seen = -1;
        StatusRuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                cluster.kv(lagging, 5_000).range(RangeRequest.newBuilder().setKey(bs("barrier")).build()); // linearizable
                seen = count(lagging, true);
                if (seen == total) break;
            } catch (StatusRuntimeException e) {
                last = e;
                cluster.channel(lagging).resetConnectBackoff();
            }
            Thread.sleep(200);
        }
        assertEquals(total, seen, cluster.name(lagging) + " did not catch up within 30 s (last error " + last + ")" + logs());
        System.out.printf("[SnapshotCatchUpIT] %s caught up; its snap dir: %s%n", cluster.name(lagging), listing(lagging));

        // it serves writes and reads like the others afterwards
        cluster.kv(lagging, 10_000).put(PutRequest.newBuilder().setKey(bs(PREFIX + "after")).setValue(bs("1")).build());
        for (int i = 0; i < 3; i++) {
            cluster.kv(i, 10_000).range(RangeRequest.newBuilder().setKey(bs("barrier")).build());
            assertEquals(total + 1, count(i, true), "keys on " + cluster.name(i));
        }
        long rev = cluster.kv(leader, 5_000).range(RangeRequest.newBuilder().setKey(bs("barrier")).build()).getHeader().getRevision();
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            HashKVResponse h = MaintenanceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
            hashes.add(cluster.name(i) + "=" + h.getHash() + "/compact=" + h.getCompactRevision());
        }
        assertEquals(1, new TreeSet<>(hashes.stream().map(h -> h.substring(h.indexOf('=') + 1)).toList()).size(),
                "HashKV at revision " + rev + " differs between members: " + hashes);
    }

    String listing(int member) {
        Path snap = dir.resolve(cluster.name(member)).resolve("member").resolve("snap");
        try (Stream<Path> files = Files.list(snap)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList().toString();
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }
}
