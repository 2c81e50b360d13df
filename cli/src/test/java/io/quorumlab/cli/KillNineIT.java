package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.HashKVResponse;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of members of a three-process cluster under a sequential write load: every write the
 * cluster acknowledged is, at the end, on every member.
 *
 * <p>The writer puts unique keys one at a time through one endpoint and records each acknowledged
 * key; on an error it moves to the next endpoint and retries the same key (a put of the same value
 * is idempotent for this check). Meanwhile: kill -9 a member the writer does not use, restart it;
 * kill -9 the member the writer uses, restart it; kill -9 the leader, restart it. At the end, after
 * a linearizable read on each member (a barrier: it has applied everything committed), a
 * serializable read of that member must hold every acknowledged key, and all members must hold
 * the same keys.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KillNineIT {
    static final String PREFIX = "/k9/";
    static final long PUT_DEADLINE_MS = 3000;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    ProcessCluster cluster;
    Writer writer;

    @AfterEach
    void stop() throws InterruptedException {
        if (writer != null) writer.stop();
        if (cluster != null) cluster.close();
    }

    final class Writer implements Runnable {
        final List<String> acked = Collections.synchronizedList(new ArrayList<>());
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean stop = new AtomicBoolean();
        volatile int endpoint;
        private final Thread thread = new Thread(this, "k9-writer");

        Writer(int endpoint) {
            this.endpoint = endpoint;
        }

        void start() {
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            int seq = 0;
            while (!stop.get()) {
                String key = PREFIX + String.format("%06d", seq);
                int ep = endpoint;
                try {
                    cluster.kv(ep, PUT_DEADLINE_MS).put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v" + seq)).build());
                    acked.add(key);
                    seq++;
                } catch (StatusRuntimeException e) {
                    if (errors.size() < 200) {
                        errors.add(System.currentTimeMillis() % 100_000 + " " + cluster.name(ep) + " " + key + ": " + e.getStatus());
                    }
                    cluster.channel(ep).resetConnectBackoff();
                    endpoint = (ep + 1) % cluster.size;
                    sleep(50);
                }
            }
        }

        int count() {
            return acked.size();
        }

        /** Waits until n more writes are acknowledged than when called. */
        void awaitMore(int n, long seconds, String phase) throws InterruptedException {
            int target = count() + n;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (count() < target) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(phase + ": only " + count() + " of " + target + " writes acknowledged within "
                            + seconds + " s; recent errors " + tailOf(errors, 10) + logs());
                }
                if (!thread.isAlive()) throw new AssertionError("writer thread died");
                Thread.sleep(20);
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(PUT_DEADLINE_MS / 1000 + 5));
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static ByteString bs(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    static String tailOf(List<String> l, int n) {
        synchronized (l) {
            return String.valueOf(new ArrayList<>(l.subList(Math.max(0, l.size() - n), l.size())));
        }
    }

    String logs() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cluster.size; i++) sb.append("\n---- ").append(cluster.name(i)).append(" log tail\n").append(cluster.tail(i, 15));
        return sb.toString();
    }

    void log(String msg) {
        System.out.printf("[KillNineIT %tT.%<tL] %s (acked=%d)%n", System.currentTimeMillis(), msg, writer == null ? 0 : writer.count());
    }

    @Test
    void everyAcknowledgedWriteSurvivesKillNineOfFollowerWriterEndpointAndLeader() throws Exception {
        // A small snapshot count: restarts recover from a snapshot plus the WAL after it.
        cluster = new ProcessCluster(dir, 3, "--snapshot-count", "100");
        cluster.startAll();
        for (int i = 0; i < 3; i++) cluster.awaitReady(i, 30);
        int leader = cluster.awaitLeader(15);
        log("cluster up, leader " + cluster.name(leader) + ", logs in " + dir);

        writer = new Writer(0);
        writer.start();
        writer.awaitMore(30, 15, "warm-up");

        // 1. a member the writer does not talk to
        int other = (writer.endpoint + 1) % 3;
        log("kill -9 " + cluster.name(other) + " (not the writer's endpoint " + cluster.name(writer.endpoint) + ")");
        cluster.kill9(other);
        writer.awaitMore(20, 20, "with " + cluster.name(other) + " dead");
        cluster.start(other);
        cluster.awaitReady(other, 30);
        log("restarted " + cluster.name(other));
        writer.awaitMore(20, 20, "after restarting " + cluster.name(other));

        // 2. the member the writer talks to
        int used = writer.endpoint;
        log("kill -9 " + cluster.name(used) + " (the writer's endpoint)");
        cluster.kill9(used);
        writer.awaitMore(20, 25, "with the writer's endpoint " + cluster.name(used) + " dead");
        cluster.start(used);
        cluster.awaitReady(used, 30);
        log("restarted " + cluster.name(used));
        writer.awaitMore(20, 20, "after restarting " + cluster.name(used));

        // 3. the leader
        leader = cluster.awaitLeader(15);
        log("kill -9 leader " + cluster.name(leader) + " (writer on " + cluster.name(writer.endpoint) + ")");
        cluster.kill9(leader);
        writer.awaitMore(20, 25, "with the leader " + cluster.name(leader) + " dead");
        cluster.start(leader);
        cluster.awaitReady(leader, 30);
        log("restarted " + cluster.name(leader));
        cluster.awaitLeader(15);
        writer.awaitMore(20, 20, "with every member back");

        // 4. all three at once, then all back on the same directories
        log("kill -9 all members");
        for (int i = 0; i < 3; i++) cluster.kill9(i);
        cluster.startAll();
        for (int i = 0; i < 3; i++) cluster.awaitReady(i, 30);
        log("restarted all members");
        writer.awaitMore(20, 25, "after restarting every member");
        writer.stop();
        List<String> acked;
        synchronized (writer.acked) {
            acked = new ArrayList<>(writer.acked);
        }
        log("writer stopped; " + writer.errors.size() + " failed attempts, first " + tailOf(writer.errors.subList(0,
                Math.min(5, writer.errors.size())), 5));

        // every member: barrier, then a local read of the whole prefix
        List<Set<String>> perMember = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            linearizableBarrier(i);
            RangeResponse r = cluster.kv(i, 10_000).range(RangeRequest.newBuilder().setKey(bs(PREFIX)).setRangeEnd(bs("/k90"))
                    .setKeysOnly(true).setSerializable(true).build());
            Set<String> keys = new TreeSet<>();
            for (KeyValue kv : r.getKvsList()) keys.add(kv.getKey().toString(StandardCharsets.UTF_8));
            List<String> missing = new ArrayList<>();
            for (String k : acked) {
                if (!keys.contains(k)) missing.add(k);
            }
            assertTrue(missing.isEmpty(), cluster.name(i) + " lost " + missing.size() + " of " + acked.size()
                    + " acknowledged writes, e.g. " + missing.subList(0, Math.min(20, missing.size())) + logs());
            perMember.add(keys);
        }
        assertEquals(perMember.get(0), perMember.get(1), "m1 and m2 hold different keys");
        assertEquals(perMember.get(0), perMember.get(2), "m1 and m3 hold different keys");

        // and the whole key-value history agrees (etcd's corruption check compares HashKV at one revision)
        long rev = cluster.kv(0, 5000).range(RangeRequest.newBuilder().setKey(bs("barrier")).build()).getHeader().getRevision();
        List<String> hashes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            HashKVResponse h = MaintenanceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
            hashes.add(h.getHash() + "/compact=" + h.getCompactRevision());
        }
        assertEquals(1, new TreeSet<>(hashes).size(), "HashKV at revision " + rev + " differs between members: " + hashes);
        log("all " + acked.size() + " acknowledged writes on every member (" + perMember.get(0).size() + " keys each)");
    }

    /** A linearizable read on member i: when it returns, i has applied everything committed before it. */
    void linearizableBarrier(int i) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        StatusRuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                cluster.kv(i, 3000).range(RangeRequest.newBuilder().setKey(bs("barrier")).build());
                return;
            } catch (StatusRuntimeException e) {
                last = e;
                cluster.channel(i).resetConnectBackoff();
                Thread.sleep(100);
            }
        }
        throw new AssertionError("linearizable read on " + cluster.name(i) + " kept failing: " + last + logs());
    }
}
