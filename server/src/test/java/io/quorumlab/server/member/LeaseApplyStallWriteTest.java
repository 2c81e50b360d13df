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
 * Review r9m: a long apply stall (a defragment, a snapshot build, a big compaction; here a task that holds
 * the apply loop) on a one-member cluster, with one write committed just after it began. The leader's
 * keep-alives waited for its applied index to reach that write's, behind the stall, and the lease its
 * holder kept alive expired and was revoked. A lease the lessor knows is now renewed at once.
 */
class LeaseApplyStallWriteTest {
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
    void keepAlivesDuringAnApplyStallWithAWriteKeepTheLease() throws Exception {
        Member m = start("stallw", 23963);
        long id = grantWithKey(m);
        CountDownLatch release = stallApply();
        // r9m: one write commits during the stall (it cannot apply): the leader is no longer caught up.
        m.propose(new PutRequest(Bytes.of("other"), Bytes.of("v"), 0, false, false, false));
        Thread.sleep(100);
        try {
            // 3.5 s of stall, longer than the 2 s TTL, renewing every 250 ms as a client would.
            long until = System.nanoTime() + 3_500_000_000L;
            int renewals = 0;
            while (System.nanoTime() < until) {
                try {
                    assertEquals(2, m.leaseKeepAlive(id).get(1, TimeUnit.SECONDS).ttl());
                } catch (TimeoutException e) {
                    System.out.println("r9m: keep-alive " + renewals + " waited > 1 s for the stalled apply loop");
                }
                renewals++;
                Thread.sleep(250);
            }
        } finally {
            release.countDown();
        }
        Thread.sleep(1_500); // several expiry checks after the stall
        m.readBarrier().get(10, TimeUnit.SECONDS);
        System.out.println("r9m: lock key count after the stall = " + m.store().range(RangeRequest.key(Bytes.of("lock"))).count());
        assertEquals(1, m.store().range(RangeRequest.key(Bytes.of("lock"))).count(), "the renewed lease's key was revoked");
        assertEquals(2, m.leaseKeepAlive(id).get(5, TimeUnit.SECONDS).ttl(), "the lease still exists");
    }

}
