package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * expiredLeases' lower bound on lease deadlines against a reference that checks every
 * lease the way the walk does (wrap-safe {@code now - deadline >= 0}), on a clock that may start
 * anywhere in the long range, as System.nanoTime may. Replay:
 * {@code mvn -B -o -pl mvcc -am test -Dtest=LessorBoundWrapTest -Dsurefire.failIfNoSpecifiedTests=false -Dmvcc.lessorSeed=S}
 */
class LessorBoundWrapTest {
    static final long SEC = 1_000_000_000L;

    /** The plain scenario: two leases whose deadlines straddle the clock's wrap. */
    @Test
    void deadlinesAcrossTheClockWrap() {
        AtomicLong clock = new AtomicLong(Long.MAX_VALUE - 5 * SEC);
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(clock::get));
        s.promoteLessor();
        s.apply(1, new LeaseGrantRequest(2, 1));   // deadline MAX - 3 s
        s.apply(2, new LeaseGrantRequest(10, 2));  // deadline wraps to MIN + ~5 s: 7 s after lease 1's
        clock.addAndGet(3 * SEC);                  // lease 1 is due now, lease 2 in 7 s
        assertEquals(List.of(1L), s.expiredLeases(10), "lease 1 is past its deadline");
        s.close();
    }

    @Test
    void matchesReference() {
        String only = System.getProperty("mvcc.lessorSeed");
        int seeds = only != null ? 1 : 30;
        for (int i = 1; i <= seeds; i++) {
            long seed = only != null ? Long.parseLong(only) : i;
            try {
                run(seed);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " failed; replay: mvn -B -o -pl mvcc -am test -Dtest=LessorBoundWrapTest"
                        + " -Dsurefire.failIfNoSpecifiedTests=false -Dmvcc.lessorSeed=" + seed, e);
            }
        }
    }

    private static void run(long seed) {
        Random r = new Random(seed);
        // Start anywhere within a minute of the wrap, or at an arbitrary point.
        long start = r.nextBoolean() ? Long.MAX_VALUE - r.nextInt(60) * SEC : r.nextLong();
        AtomicLong clock = new AtomicLong(start);
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(clock::get));
        Map<Long, Long> ttl = new HashMap<>();
        Map<Long, Long> deadline = new HashMap<>(); // leader only
        boolean primary = false;
        long index = 0, nextId = 1;
        for (int op = 0; op < 400; op++) {
            int k = r.nextInt(10);
            if (k < 3) {
                long t = 2 + r.nextInt(30);
                long id = nextId++;
                s.apply(++index, new LeaseGrantRequest(t, id));
                ttl.put(id, t);
                if (primary) deadline.put(id, clock.get() + t * SEC);
            } else if (k == 3 && !ttl.isEmpty()) {
                long id = new ArrayList<>(ttl.keySet()).get(r.nextInt(ttl.size()));
                s.apply(++index, new LeaseRevokeRequest(id));
                ttl.remove(id);
                deadline.remove(id);
            } else if (k == 4 && primary && !ttl.isEmpty()) {
                long id = new ArrayList<>(ttl.keySet()).get(r.nextInt(ttl.size()));
                Long due = deadline.get(id);
                if (due != null && clock.get() - due >= 0) {
                    // Expired (its revoke is due): refused as etcd's Renew does, and not revived.
                    org.junit.jupiter.api.Assertions.assertThrows(io.quorumlab.mvcc.api.MvccException.class, () -> s.leaseKeepAlive(id));
                } else {
                    s.leaseKeepAlive(id);
                    deadline.put(id, clock.get() + ttl.get(id) * SEC);
                }
            } else if (k == 5 && r.nextInt(4) == 0) {
                if (primary) {
                    s.demoteLessor();
                    deadline.clear();
                } else {
                    s.promoteLessor();
                    for (var e : ttl.entrySet()) deadline.put(e.getKey(), clock.get() + e.getValue() * SEC);
                }
                primary = !primary;
            } else {
                clock.addAndGet(r.nextInt(3000) * 1_000_000L);
            }
            long now = clock.get();
            List<Long> want = new ArrayList<>();
            for (var e : deadline.entrySet()) if (now - e.getValue() >= 0) want.add(e.getKey());
            Collections.sort(want);
            assertEquals(want, s.expiredLeases(Integer.MAX_VALUE), "op " + op + " at clock " + now + " (start " + start + ")");
        }
        s.close();
    }
}
