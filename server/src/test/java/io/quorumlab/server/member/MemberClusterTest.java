package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.PutResponse;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three real members (threads, WAL files, LMDB) in one JVM over the local transport. */
class MemberClusterTest {
    @TempDir
    Path dir;

    private final LocalTransport.Hub hub = new LocalTransport.Hub();
    private final List<Member> members = new ArrayList<>();
    private final List<RealRuntime> runtimes = new ArrayList<>();
    private final Map<String, String> cluster = new LinkedHashMap<>();

    private Member start(String name, long snapshotCount) throws Exception {
        MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500)
                .withSnapshotCount(snapshotCount, 5).withWalSegmentBytes(1 << 20);
        RealRuntime rt = new RealRuntime(name, 10, 1000);
        Member m = new Member(cfg, rt, hub.join(cfg.memberId()), MemberMetrics.isolated());
        m.start();
        members.add(m);
        runtimes.add(rt);
        return m;
    }

    @AfterEach
    void stop() {
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
    }

    private void startCluster(long snapshotCount) throws Exception {
        for (int i = 1; i <= 3; i++) cluster.put("m" + i, "http://127.0.0.1:" + (23800 + i));
        for (int i = 1; i <= 3; i++) start("m" + i, snapshotCount);
    }

    private Member awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            for (Member m : members) {
                if (m.leaderId() == m.memberId()) return m;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no leader elected within 15 s");
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    private static Response putRetrying(Member m, String k, String v) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return get(m.propose(PutRequest.of(k, v)));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof EtcdException) || attempt > 50) throw e;
                Thread.sleep(50); // no leader yet, or it changed: the client retries, as etcd clients do
            }
        }
    }

    @Test
    void electsOneLeaderAndReplicatesWritesToEveryMember() throws Exception {
        startCluster(100_000);
        Member leader = awaitLeader();
        Member follower = members.stream().filter(m -> m != leader).findFirst().orElseThrow();
        PutResponse put = (PutResponse) putRetrying(follower, "foo", "bar");
        assertEquals(2, put.header().revision(), "first write is revision 2");
        for (int i = 0; i < 50; i++) putRetrying(members.get(i % 3), "k" + i, "v" + i);
        // A linearizable read on every member sees every acknowledged write.
        for (Member m : members) {
            get(m.readBarrier());
            RangeResponse r = m.store().range(RangeRequest.builder(Bytes.of("k")).prefix().countOnly(true).build());
            assertEquals(50, r.count(), "member " + m.name());
            assertEquals(52, m.store().currentRevision());
        }
        long leaders = members.stream().filter(m -> m.leaderId() == m.memberId()).count();
        assertEquals(1, leaders);
    }

    @Test
    void survivesLeaderIsolationAndElectsANewOne() throws Exception {
        startCluster(100_000);
        Member old = awaitLeader();
        putRetrying(old, "a", "1");
        hub.isolate(old.memberId());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Member next = null;
        while (next == null && System.nanoTime() < deadline) {
            for (Member m : members) {
                if (m != old && m.leaderId() == m.memberId()) next = m;
            }
            Thread.sleep(20);
        }
        assertTrue(next != null, "the majority elected a new leader");
        assertNotEquals(old.memberId(), next.memberId());
        putRetrying(next, "b", "2");
        hub.heal();
        // The old leader rejoins as a follower and catches up.
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (old.store().currentRevision() < 3 && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(3, old.store().currentRevision());
    }

    @Test
    void aProposalThatCannotCommitTimesOutWithEtcdsError() throws Exception {
        startCluster(100_000);
        Member leader = awaitLeader();
        putRetrying(leader, "a", "1");
        hub.isolate(leader.memberId());
        long t0 = System.nanoTime();
        CompletableFuture<Response> f = leader.propose(PutRequest.of("lost", "1"));
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(30, TimeUnit.SECONDS));
        long tookMillis = (System.nanoTime() - t0) / 1_000_000;
        assertInstanceOf(EtcdException.class, e.getCause());
        assertEquals("etcdserver: request timed out", e.getCause().getMessage());
        // The deadline is swept on heartbeat ticks: no earlier than the timeout, at most a few ticks late.
        long timeout = 5000 + 2 * 500;
        assertTrue(tookMillis >= timeout - 50 && tookMillis < timeout + 2000, "timed out after " + tookMillis + " ms");
    }

    @Test
    void restartRecoversEverythingAcknowledged() throws Exception {
        startCluster(20);
        awaitLeader();
        for (int i = 0; i < 100; i++) putRetrying(members.get(0), "r" + i, "v" + i);
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
        members.clear();
        runtimes.clear();
        for (int i = 1; i <= 3; i++) start("m" + i, 20);
        awaitLeader();
        for (Member m : members) {
            get(m.readBarrier());
            RangeResponse r = m.store().range(RangeRequest.builder(Bytes.of("r")).prefix().countOnly(true).build());
            assertEquals(100, r.count(), "member " + m.name() + " after restart");
        }
        Response after = putRetrying(members.get(1), "after", "restart");
        assertInstanceOf(PutResponse.class, after);
        assertEquals(102, after.header().revision());
    }

    @Test
    void followersForwardLeaseKeepAlivesToTheLeader() throws Exception {
        startCluster(100_000);
        Member leader = awaitLeader();
        Member follower = members.stream().filter(m -> m != leader).findFirst().orElseThrow();
        io.quorumlab.mvcc.api.LeaseGrantResponse g = null;
        for (int attempt = 0; g == null; attempt++) {
            try {
                g = (io.quorumlab.mvcc.api.LeaseGrantResponse) get(follower.propose(new io.quorumlab.mvcc.api.LeaseGrantRequest(30, 0)));
            } catch (ExecutionException e) {
                if (attempt > 50) throw e;
                Thread.sleep(50);
            }
        }
        long id = g.id();
        io.quorumlab.mvcc.api.LeaseKeepAliveResponse ka = get(follower.leaseKeepAlive(id));
        assertEquals(id, ka.id());
        assertEquals(30, ka.ttl());
        ExecutionException missing = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> get(follower.leaseKeepAlive(id + 1)));
        assertEquals("etcdserver: requested lease not found", missing.getCause().getMessage());
    }
}
