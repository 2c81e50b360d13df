package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class AutoCompactorTest {
    static final long MIN = 60_000_000_000L;

    @Test
    void revisionModeKeepsRetentionRevisionsEveryFiveMinutes() {
        AutoCompactor c = new AutoCompactor(AutoCompactor.Mode.REVISION, 1000, 0);
        assertEquals(0, c.tick(4 * MIN, 5000));
        assertEquals(4000, c.tick(5 * MIN, 5000));
        assertEquals(0, c.tick(6 * MIN, 9000), "not before the next 5-minute check");
        assertEquals(0, c.tick(10 * MIN, 4500), "never backwards");
        assertEquals(9000, c.tick(15 * MIN, 10_000));
    }

    @Test
    void periodicModeKeepsAboutOneRetentionOfHistory() {
        long retention = 10 * MIN;
        AutoCompactor c = new AutoCompactor(AutoCompactor.Mode.PERIODIC, retention, 0);
        long compacted = 0;
        // One revision per second; tick once a second for an hour.
        for (long t = 0; t <= 60 * MIN; t += 1_000_000_000L) {
            long rev = 1 + t / 1_000_000_000L;
            long target = c.tick(t, rev);
            if (target != 0) {
                assertTrue(target > compacted);
                long keptSeconds = rev - target;
                assertTrue(keptSeconds >= 600 && keptSeconds <= 600 + 60, "kept " + keptSeconds + " s of history");
                compacted = target;
            }
        }
        assertTrue(compacted > 0);
    }
}
