package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.runtime.Runtime;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Steps the member tests share. */
final class MemberTestSupport {

    private MemberTestSupport() {
    }

    /** Waits (at most 15 s) until {@code m} leads its cluster. */
    static void awaitSelfLeader(Member m) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (m.leaderId() != m.memberId()) {
            assertTrue(System.nanoTime() < deadline, "no leader");
            Thread.sleep(2);
        }
    }

    /**
     * Waits (at most 15 s) for a leader among {@code members} that has applied its published attributes
     * (applied index 3 or more); returns its position.
     */
    static int awaitPublishedLeader(java.util.List<Member> members) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < members.size(); i++) {
                Member m = members.get(i);
                if (m.leaderId() == m.memberId() && m.appliedIndex() >= 3) return i;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no leader elected within 15 s");
    }

    /**
     * Holds {@code rt}'s apply loop (a defragment, a snapshot build, a compaction) from now until the
     * returned latch is released, or at most {@code maxSeconds}.
     */
    static CountDownLatch stallApply(Runtime rt, long maxSeconds) throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1), held = new CountDownLatch(1);
        rt.executeApply(() -> {
            held.countDown();
            try {
                release.await(maxSeconds, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(5, TimeUnit.SECONDS), "the apply loop never ran the stall");
        return release;
    }

    /**
     * Proposes until a proposal fails with "etcdserver: server stopped" (the member stops on its own loop,
     * asynchronously), at most 10 s; {@code after} names what should have stopped it.
     */
    static EtcdException awaitStoppedProposals(Member m, String after) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            Throwable later;
            try {
                m.propose(PutRequest.of("after", "v")).get(10, TimeUnit.SECONDS);
                later = null;
            } catch (ExecutionException e) {
                later = e.getCause();
            }
            if (later instanceof EtcdException ee && ee.error() == EtcdError.STOPPED) return ee;
            assertTrue(System.nanoTime() < until, "after " + after + " a proposal still got: "
                    + (later == null ? "success" : later.toString()));
            Thread.sleep(20);
        }
    }
}
