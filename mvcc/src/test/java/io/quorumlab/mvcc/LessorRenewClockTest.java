package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Review r9l: a keep-alive read the clock before it took the lessor's lock. A thread descheduled between
 * the two renewed with a reading from before the deadline after the expiry check had claimed and
 * confirmed (proposed) the lease's revoke: a positive TTL for a lease being revoked. The clock is now read
 * under the lessor's lock (the claim and the confirmation hold it too), for renewals and remaining TTLs.
 */
class LessorRenewClockTest {
    static final long SEC = 1_000_000_000L;

    @Test
    void keepAlivesAndRemainingTtlsReadTheClockUnderTheLessorsLock() throws Exception {
        AtomicLong clock = new AtomicLong(1_000 * SEC);
        List<Boolean> heldWhenRead = new ArrayList<>();
        MvccStore[] store = new MvccStore[1];
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(() -> {
            if (Thread.currentThread().getName().equals("keep-alive")) {
                synchronized (heldWhenRead) {
                    heldWhenRead.add(Thread.holdsLock(store[0].lessorForTest()));
                }
            }
            return clock.get();
        }));
        store[0] = s;
        s.promoteLessor();
        s.apply(1, new LeaseGrantRequest(5, 7));
        clock.addAndGet(4 * SEC);
        long[] got = new long[2];
        Thread t = new Thread(() -> {
            got[0] = s.leaseKeepAlive(7).ttl();
            got[1] = s.leaseRemainingTtl(7);
        }, "keep-alive");
        t.start();
        t.join();
        assertEquals(5, got[0]);
        assertEquals(5, got[1]);
        assertTrue(!heldWhenRead.isEmpty() && !heldWhenRead.contains(false),
                "the clock was read outside the lessor's lock: " + heldWhenRead);
    }
}
