package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long apply stall (a defragment, a snapshot build, a big compaction; here a task that holds the
 * apply loop) on a one-member cluster. etcd renews leases outside the apply path: keep-alives must be
 * answered during the stall and keep the lease, and an expired lease's revoke must be proposed once,
 * not once per expiry check that queued up behind the stall.
 */
class LeaseApplyStallTest {
    @TempDir
    Path dir;

    private Member member;
    private RealRuntime rt;

    private Member start(String name, int port) throws Exception {
        Map<String, String> cluster = Map.of(name, "http://127.0.0.1:" + port);
        // heartbeat 100 ms, election 1 s: the lease floor is 2 s ((3 * 10) / 2 ticks of 100 ms)
        MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(100, 1000);
        rt = new RealRuntime(name, 10, 1000);
        member = new Member(cfg, rt, new LocalTransport.Hub().join(cfg.memberId()), MemberMetrics.isolated());
        member.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        // Leader, and its attributes published (entry 3 after the bootstrap conf change and the leader's empty
        // entry; that proposal is retried every 500 ms until applied, and would be counted below).
        while (member.leaderId() != member.memberId() || member.appliedIndex() < 3) {
            if (System.nanoTime() > deadline) throw new AssertionError("no published leader within 15 s");
            Thread.sleep(20);
        }
        return member;
    }

    @AfterEach
    void stop() {
        if (member != null) member.close();
        if (rt != null) rt.close();
    }

    private long grantWithKey(Member m) throws Exception {
        LeaseGrantResponse g = (LeaseGrantResponse) m.propose(new LeaseGrantRequest(2, 0)).get(10, TimeUnit.SECONDS);
        assertEquals(2, g.ttlSeconds());
        m.propose(new PutRequest(Bytes.of("lock"), Bytes.of("holder"), g.id(), false, false, false)).get(10, TimeUnit.SECONDS);
        m.readBarrier().get(10, TimeUnit.SECONDS); // everything so far applied
        return g.id();
    }

    /** Holds the apply loop until released (at most 20 s). */
    private CountDownLatch stallApply() throws InterruptedException {
        return MemberTestSupport.stallApply(rt, 20);
    }

    @Test
    void keepAlivesDuringAnApplyStallKeepTheLease() throws Exception {
        Member m = start("stall1", 23961);
        long id = grantWithKey(m);
        CountDownLatch release = stallApply();
        renewThroughTheStall(m, id, release);
    }

    @Test
    void anExpiredLeaseIsRevokedByOneProposalAcrossAnApplyStall() throws Exception {
        Member m = start("stall2", 23962);
        long id = grantWithKey(m);
        long applied = m.appliedIndex();
        CountDownLatch release = stallApply();
        Thread.sleep(5_000); // the lease expires 2 s in; ~6 expiry checks run past its deadline during the stall
        release.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (m.store().range(RangeRequest.key(Bytes.of("lock"))).count() != 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("the expired lease was not revoked");
            Thread.sleep(50);
        }
        Thread.sleep(1_000); // let any further proposals commit and apply
        m.readBarrier().get(10, TimeUnit.SECONDS);
        // Nothing else proposes in a one-member cluster at rest: every entry since is a revoke.
        assertEquals(1, m.appliedIndex() - applied, "LeaseRevoke proposals for one expired lease");
        try {
            m.store().leaseTimeToLive(id, false);
            throw new AssertionError("lease still present");
        } catch (MvccException expected) {
            // revoked
        }
    }

    /**
     * The same stall with a write committed during it: the leader has not applied all it committed, and a
     * lease its lessor knows is still renewed at once (review r9m).
     */
    @Test
    void keepAlivesDuringAnApplyStallWithAWriteKeepTheLease() throws Exception {
        Member m = start("stallw", 23963);
        long id = grantWithKey(m);
        CountDownLatch release = stallApply();
        // One write commits during the stall (it cannot apply): the leader is no longer caught up (review r9m:
        // renewals then waited behind the stall and the lease expired).
        m.propose(new PutRequest(Bytes.of("other"), Bytes.of("v"), 0, false, false, false));
        Thread.sleep(100);
        renewThroughTheStall(m, id, release);
    }

    /**
     * Renews {@code id} every 250 ms for 3.5 s of stall (longer than its 2 s TTL), as a client would; each
     * renewal must be answered within 1 s. Then releases the stall, lets the expiry checks run, and checks
     * that the lease and its key survived.
     */
    private static void renewThroughTheStall(Member m, long id, CountDownLatch release) throws Exception {
        try {
            // 3.5 s of stall, longer than the 2 s TTL, renewing every 250 ms as a client would.
            long until = System.nanoTime() + 3_500_000_000L;
            int renewals = 0;
            while (System.nanoTime() < until) {
                try {
                    assertEquals(2, m.leaseKeepAlive(id).get(1, TimeUnit.SECONDS).ttl());
                } catch (TimeoutException e) {
                    throw new AssertionError("keep-alive " + renewals + " waited for the stalled apply loop", e);
                }
                renewals++;
                Thread.sleep(250);
            }
        } finally {
            release.countDown();
        }
        Thread.sleep(1_500); // several expiry checks after the stall
        m.readBarrier().get(10, TimeUnit.SECONDS);
        assertEquals(1, m.store().range(RangeRequest.key(Bytes.of("lock"))).count(), "the renewed lease's key was revoked");
        assertEquals(2, m.leaseKeepAlive(id).get(5, TimeUnit.SECONDS).ttl(), "the lease still exists");
    }
}
