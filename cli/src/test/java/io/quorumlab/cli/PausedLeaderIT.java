package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader paused with SIGSTOP (a GC pause, a stalled VM) is replaced; the others commit a newer
 * value. When the old leader resumes it still believes it leads, so a linearizable read that
 * reached it while it was paused, or right after, must not answer from its stale state: ReadIndex
 * has to confirm leadership with a quorum first. A serializable read may be stale.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PausedLeaderIT {
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

    static String value(RangeResponse r) {
        return r.getKvsCount() == 0 ? "<none>" : r.getKvs(0).getValue().toString(StandardCharsets.UTF_8);
    }

    @Test
    void resumedOldLeaderDoesNotServeStaleLinearizableReads() throws Exception {
        cluster = new ProcessCluster(dir, 3);
        cluster.startAll();
        for (int i = 0; i < 3; i++) cluster.awaitReady(i, 30);
        int old = cluster.awaitLeader(15);
        int other = (old + 1) % 3;
        cluster.kv(old, 5000).put(PutRequest.newBuilder().setKey(bs("k")).setValue(bs("v1")).build());
        cluster.kv(old, 5000).range(RangeRequest.newBuilder().setKey(bs("k")).build()); // the channel to the old leader is up

        long oldId = cluster.status(old, 5000).getHeader().getMemberId();
        cluster.signal(old, "STOP");
        boolean resumed = false;
        try {
            // the other two elect a leader among themselves and commit v2
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long newLeader = 0;
            while (System.nanoTime() < deadline && newLeader == 0) {
                try {
                    long a = cluster.status(other, 1000).getLeader();
                    long b = cluster.status((old + 2) % 3, 1000).getLeader();
                    if (a != 0 && a == b && a != oldId) newLeader = a;
                } catch (StatusRuntimeException e) {
                    // not yet
                }
                Thread.sleep(100);
            }
            if (newLeader == 0) {
                StringBuilder why = new StringBuilder("no new leader within 20 s while " + cluster.name(old) + " is paused;");
                for (int i = 0; i < 3; i++) {
                    if (i == old) continue;
                    try {
                        var st = cluster.status(i, 2000);
                        why.append(' ').append(cluster.name(i)).append(": leader=").append(Long.toHexString(st.getLeader()))
                                .append(" term=").append(st.getRaftTerm()).append(" index=").append(st.getRaftIndex());
                    } catch (StatusRuntimeException e) {
                        why.append(' ').append(cluster.name(i)).append(": ").append(e.getStatus());
                    }
                    why.append(" threads: ").append(cluster.threadDump(i));
                }
                throw new AssertionError(why + logs());
            }
            long rev2 = putRetrying(other, "k", "v2");

            // a linearizable and a serializable read reach the paused old leader
            KVGrpc.KVFutureStub stub = KVGrpc.newFutureStub(cluster.channel(old)).withDeadlineAfter(15, TimeUnit.SECONDS);
            ListenableFuture<RangeResponse> queued = stub.range(RangeRequest.newBuilder().setKey(bs("k")).build());
            ListenableFuture<RangeResponse> queuedLocal = stub.range(RangeRequest.newBuilder().setKey(bs("k")).setSerializable(true).build());
            Thread.sleep(500);
            cluster.signal(old, "CONT");
            resumed = true;
            RangeResponse right = KVGrpc.newBlockingStub(cluster.channel(old)).withDeadlineAfter(15, TimeUnit.SECONDS)
                    .range(RangeRequest.newBuilder().setKey(bs("k")).build());
            assertEquals("v2", value(right), "linearizable read sent right after the old leader resumed");
            assertTrue(right.getHeader().getRevision() >= rev2, "its header revision " + right.getHeader() + " < " + rev2);
            try {
                RangeResponse r = queued.get(20, TimeUnit.SECONDS);
                assertEquals("v2", value(r), "linearizable read queued at the paused old leader answered from stale state");
            } catch (ExecutionException e) {
                // failing the read (leader changed, timeout) is allowed; a stale answer is not
                System.out.println("[PausedLeaderIT] queued linearizable read failed (allowed): " + e.getCause());
            }
            String local = value(queuedLocal.get(20, TimeUnit.SECONDS));
            assertTrue(local.equals("v1") || local.equals("v2"), "serializable read: " + local);

            // the resumed member follows: a write through it lands after v2
            long rev3 = putRetrying(old, "k", "v3");
            assertTrue(rev3 > rev2, "write through the resumed member at revision " + rev3 + " after " + rev2);
            for (int i = 0; i < 3; i++) {
                assertEquals("v3", value(cluster.kv(i, 10_000).range(RangeRequest.newBuilder().setKey(bs("k")).build())),
                        "member " + cluster.name(i));
            }
        } finally {
            if (!resumed) cluster.signal(old, "CONT");
        }
    }

    String logs() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cluster.size; i++) sb.append("\n---- ").append(cluster.name(i)).append(" log tail\n").append(cluster.tail(i, 15));
        return sb.toString();
    }

    long putRetrying(int member, String key, String value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        StatusRuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return cluster.kv(member, 3000).put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).build())
                        .getHeader().getRevision();
            } catch (StatusRuntimeException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("put " + key + "=" + value + " through " + cluster.name(member) + " kept failing: " + last);
    }
}
