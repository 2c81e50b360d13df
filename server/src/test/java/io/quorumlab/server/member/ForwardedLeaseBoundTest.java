package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.LeaseKeepAliveResponse;
import io.quorumlab.raft.Message;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.peer.PeerTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower forwards keep-alives and TimeToLives to the leader; while the leader does not answer, at
 * most {@link Member#MAX_FORWARDED_LEASE_REQUESTS} wait, one more of either kind is refused at once with
 * "etcdserver: too many requests", and the waiting ones time out (freeing their slots) after the
 * request timeout.
 */
class ForwardedLeaseBoundTest {
    @TempDir
    Path dir;

    private final LocalTransport.Hub hub = new LocalTransport.Hub();
    private final List<Member> members = new ArrayList<>();
    private final List<RealRuntime> runtimes = new ArrayList<>();
    private final Map<Long, DroppingControl> transports = new LinkedHashMap<>();

    /** The local transport with a switch that drops this member's outgoing control messages (Raft still flows). */
    private static final class DroppingControl implements PeerTransport {
        final LocalTransport inner;
        volatile boolean dropControl;

        DroppingControl(LocalTransport inner) { this.inner = inner; }

        @Override public void start(Consumer<Message> inbound, Consumer<Long> unreachable) { inner.start(inbound, unreachable); }
        @Override public void updatePeers(Map<Long, String> peerUrls) { inner.updatePeers(peerUrls); }
        @Override public long send(Message m) { return inner.send(m); }
        @Override public void sendControl(long to, byte[] payload) { if (!dropControl) inner.sendControl(to, payload); }
        @Override public void onControl(BiConsumer<Long, byte[]> handler) { inner.onControl(handler); }
        @Override public void close() { inner.close(); }
    }

    @AfterEach
    void stop() {
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
    }

    @Test
    void forwardedLeaseRequestsAreBoundedAndTimeOut() throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) cluster.put("f" + i, "http://127.0.0.1:" + (23970 + i));
        for (String name : cluster.keySet()) {
            // election 500 ms: the request timeout is 5 s + 2 x 500 ms
            MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500);
            RealRuntime rt = new RealRuntime(name, 10, 1000);
            DroppingControl t = new DroppingControl(hub.join(cfg.memberId()));
            Member m = new Member(cfg, rt, t, MemberMetrics.isolated());
            m.start();
            members.add(m);
            runtimes.add(rt);
            transports.put(cfg.memberId(), t);
        }
        Member leader = awaitLeader();
        Member follower = members.stream().filter(m -> m != leader).findFirst().orElseThrow();
        long id = grant(leader);
        assertEquals(30, follower.leaseKeepAlive(id).get(10, TimeUnit.SECONDS).ttl(), "forwarded keep-alive");

        transports.get(follower.memberId()).dropControl = true; // the leader never hears these
        List<CompletableFuture<LeaseKeepAliveResponse>> waiting = new ArrayList<>();
        for (int i = 0; i < Member.MAX_FORWARDED_LEASE_REQUESTS; i++) waiting.add(follower.leaseKeepAlive(id));
        for (CompletableFuture<LeaseKeepAliveResponse> f : waiting) assertFalse(f.isDone(), "waiting for the leader");
        assertTooMany(follower.leaseKeepAlive(id));
        assertTooMany(follower.leaseTimeToLive(id, false));
        transports.get(follower.memberId()).dropControl = false;

        // Unanswered: each fails with the request timeout (6 s here), and its slot is free again.
        for (CompletableFuture<LeaseKeepAliveResponse> f : waiting) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(15, TimeUnit.SECONDS));
            assertEquals("etcdserver: request timed out", e.getCause().getMessage());
        }
        assertEquals(30, follower.leaseKeepAlive(id).get(10, TimeUnit.SECONDS).ttl(), "slots freed");
        assertEquals(30, follower.leaseTimeToLive(id, false).get(10, TimeUnit.SECONDS).grantedTtl(), "slots freed");
    }

    private static void assertTooMany(CompletableFuture<?> f) {
        assertTrue(f.isDone(), "refused at once, not queued");
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(1, TimeUnit.SECONDS));
        assertEquals("etcdserver: too many requests", e.getCause().getMessage());
    }

    private Member awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            for (Member m : members) if (m.leaderId() == m.memberId()) return m;
            Thread.sleep(20);
        }
        throw new AssertionError("no leader elected within 15 s");
    }

    private static long grant(Member leader) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return ((LeaseGrantResponse) leader.propose(new LeaseGrantRequest(30, 0)).get(10, TimeUnit.SECONDS)).id();
            } catch (ExecutionException e) {
                if (attempt > 50) throw e;
                Thread.sleep(50);
            }
        }
    }
}
