package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Lease deadlines live under the lessor's own lock (etcd's lessor mutex), not the store's: a keep-alive,
 * a remaining-TTL query and the leader's expiry check are answered while an apply holds the store
 * (here a defragment that does not return), and the expiry check claims a revoke once per retry delay.
 */
class LessorLockTest {
    static final long SEC = 1_000_000_000L;

    /** A backend whose defragment holds the store's write lock until released (a long defragment). */
    private static Backend stallingDefrag(Backend inner, CountDownLatch entered, CountDownLatch release) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("defragment")) {
                entered.countDown();
                if (!release.await(10, TimeUnit.SECONDS)) throw new AssertionError("never released");
            }
            try {
                return m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void keepAliveIsAnsweredWhileAnApplyHoldsTheStore() throws Exception {
        AtomicLong clock = new AtomicLong(1_000 * SEC);
        CountDownLatch entered = new CountDownLatch(1), release = new CountDownLatch(1);
        MvccStore s = new MvccStore(stallingDefrag(new InMemoryBackend(), entered, release), TestStores.noSyncThread().withClock(clock::get));
        s.promoteLessor();
        s.apply(1, new LeaseGrantRequest(5, 7));
        s.apply(2, new PutRequest(Bytes.of("lock"), Bytes.of("me"), 7, false, false, false));
        // The holder renews during the stall; the expiry check runs after the lease's first deadline.
        CompletableFuture<long[]> during = CompletableFuture.supplyAsync(() -> {
            try {
                entered.await();
                clock.addAndGet(4 * SEC);            // 1 s before the deadline
                long ttl = s.leaseKeepAlive(7).ttl(); // deadline now +5 s
                clock.addAndGet(3 * SEC);            // past the first deadline, 2 s before the renewed one
                long remaining = s.leaseRemainingTtl(7);
                long claimed = s.claimExpiredLeases(10, 3 * SEC).size();
                return new long[] {ttl, remaining, claimed};
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread applier = new Thread(() -> {
            s.transferApplyOwnership(); // the stalled thread is the applier now
            s.defragment();
        }, "stalled-apply");
        applier.start();
        long[] r;
        try {
            r = during.get(5, TimeUnit.SECONDS); // before the stall ends: it must not wait for the store's lock
        } catch (java.util.concurrent.TimeoutException e) {
            release.countDown();
            throw new AssertionError("keep-alive / TTL / expiry check waited for the stalled apply", e);
        }
        assertFalse(applier.getState() == Thread.State.TERMINATED, "answered during the stall");
        release.countDown();
        applier.join();
        assertEquals(5, r[0], "renewed during the stall");
        assertEquals(2, r[1], "remaining after the renewal");
        assertEquals(0, r[2], "a lease renewed before its deadline is not claimed for revoke");
        s.transferApplyOwnership();
        assertEquals(List.of(), s.expiredLeases(10));
        assertEquals(1, s.range(RangeRequest.key(Bytes.of("lock"))).count(), "the key survives");
        s.close();
    }

    /** etcd's expiredLeaseRetryInterval: a revoke claimed for an expired lease is not claimed again for 3 s. */
    @Test
    void expiredLeaseIsClaimedOncePerRetryDelay() {
        AtomicLong clock = new AtomicLong(-5 * SEC); // nanoTime may be negative
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(clock::get));
        s.promoteLessor();
        s.apply(1, new LeaseGrantRequest(5, 7));
        s.apply(2, new LeaseGrantRequest(60, 8));
        clock.addAndGet(5 * SEC);
        int claims = 0;
        // The revoke never commits (a stalled apply): twice a second for 10 s, the check runs.
        for (int check = 0; check < 20; check++) {
            List<Long> due = s.claimExpiredLeases(10, 3 * SEC);
            if (!due.isEmpty()) {
                assertEquals(List.of(7L), due);
                assertTrue(s.confirmLeaseRevoke(7), "still expired, still primary");
                claims++;
            }
            assertEquals(List.of(7L), s.expiredLeases(10), "the query still reports it");
            clock.addAndGet(SEC / 2);
        }
        assertEquals(4, claims, "claims at 0, 3, 6 and 9 s; without the in-flight record it would be 20");
        // Demotion forgets the claim and the deadline; a re-promotion starts a new clock (nothing due).
        s.demoteLessor();
        assertFalse(s.confirmLeaseRevoke(7), "not primary");
        assertEquals(List.of(), s.claimExpiredLeases(10, 3 * SEC));
        s.promoteLessor();
        assertFalse(s.confirmLeaseRevoke(7), "re-promoted: the lease has a fresh deadline");
        clock.addAndGet(5 * SEC);
        assertEquals(List.of(7L), s.claimExpiredLeases(10, 3 * SEC), "due again on the new clock");
        s.apply(3, new LeaseRevokeRequest(7));
        assertFalse(s.confirmLeaseRevoke(7), "revoked meanwhile: nothing to propose");
        s.close();
    }

    /** A capped claim takes the lowest ids (the same batch on every member and every run), the rest next time. */
    @Test
    void cappedClaimTakesLowestIdsThenTheRest() {
        AtomicLong clock = new AtomicLong(0);
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(clock::get));
        s.promoteLessor();
        for (long id = 10; id >= 1; id--) s.apply(11 - id, new LeaseGrantRequest(5, id * 1_000_003));
        clock.addAndGet(6 * SEC);
        assertEquals(List.of(1_000_003L, 2_000_006L, 3_000_009L), s.claimExpiredLeases(3, 3 * SEC));
        assertEquals(List.of(4_000_012L, 5_000_015L, 6_000_018L), s.claimExpiredLeases(3, 3 * SEC));
        assertEquals(7, s.claimExpiredLeases(100, 3 * SEC).size() + 3, "the other four, once");
        assertEquals(List.of(), s.claimExpiredLeases(100, 3 * SEC));
        s.close();
    }
}
