package io.quorumlab.mvcc;

import java.util.ArrayDeque;

/**
 * Decides when the leader proposes a compaction (--auto-compaction-mode / --auto-compaction-retention).
 * Pure: the caller passes its Runtime clock and the store's revision and proposes what comes back,
 * so the simulator drives it in virtual time.
 *
 * <ul>
 *   <li>REVISION: every 5 minutes, compact to (current - retention) revisions.</li>
 *   <li>PERIODIC: sample the revision every retention/10 (at most 1 h/10); once a full retention
 *       window of samples exists, compact every min(retention, 1 h) to the oldest sample, so
 *       about one retention period of history is kept.</li>
 * </ul>
 */
public final class AutoCompactor {
    public enum Mode { PERIODIC, REVISION }

    static final long HOUR_NANOS = 3_600_000_000_000L;
    static final long REVISION_CHECK_NANOS = 5 * 60_000_000_000L;
    private static final int SAMPLE_DIVISOR = 10;

    private final Mode mode;
    private final long retention;
    private final long sampleEveryNanos;
    private final long compactEveryNanos;
    /** Bounded: retention/sample interval + 1 entries. */
    private final ArrayDeque<Long> samples = new ArrayDeque<>();
    private final int samplesMax;
    private long lastSampleNanos;
    private long lastCompactNanos;
    private long lastCompactedRev;

    /** @param retention nanoseconds of history (PERIODIC) or revisions (REVISION); must be positive */
    public AutoCompactor(Mode mode, long retention, long nowNanos) {
        if (retention <= 0) throw new IllegalArgumentException("retention must be positive");
        this.mode = mode;
        this.retention = retention;
        long window = Math.min(retention, HOUR_NANOS);
        this.sampleEveryNanos = Math.max(1, window / SAMPLE_DIVISOR);
        this.compactEveryNanos = mode == Mode.PERIODIC ? window : REVISION_CHECK_NANOS;
        this.samplesMax = mode == Mode.PERIODIC ? (int) Math.min(100_000, retention / sampleEveryNanos) + 1 : 0;
        this.lastSampleNanos = nowNanos - sampleEveryNanos;
        this.lastCompactNanos = nowNanos;
    }

    /** @return the revision to propose a compaction for, or 0 for "not now" */
    public long tick(long nowNanos, long currentRev) {
        if (mode == Mode.REVISION) {
            if (nowNanos - lastCompactNanos < compactEveryNanos) return 0;
            lastCompactNanos = nowNanos;
            return propose(currentRev - retention);
        }
        if (nowNanos - lastSampleNanos >= sampleEveryNanos) {
            samples.addLast(currentRev);
            if (samples.size() > samplesMax) samples.removeFirst();
            lastSampleNanos = nowNanos;
        }
        if (samples.size() < samplesMax || nowNanos - lastCompactNanos < compactEveryNanos) return 0;
        lastCompactNanos = nowNanos;
        return propose(samples.peekFirst());
    }

    private long propose(long rev) {
        if (rev <= 0 || rev <= lastCompactedRev) return 0;
        lastCompactedRev = rev;
        return rev;
    }
}
