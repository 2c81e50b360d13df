package io.quorumlab.wal;

import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * Tunables, each bounded and named with its unit.
 *
 * @param segmentBytes preallocated size of each segment file (etcd: 64 MB)
 * @param writeBufferBytes the encoder's reused buffer; larger batches are written in pieces
 * @param maxBatchRequests appends combined into one write + fsync at most
 * @param maxPendingAppends queued async appends before {@link Wal#append} answers "overloaded"
 * @param maxWals segments kept after release (etcd --max-wals; 0 keeps all)
 * @param slowFsyncNanos fsyncs slower than this log "slow fdatasync" (etcd: 1 s)
 * @param nanoClock time source for metrics; the simulator passes virtual time
 * @param metrics where fsync/write durations and bytes go
 * @param segmentPreparer runs next-segment preallocation; null means a private daemon thread,
 *        {@code Runnable::run} makes it synchronous (deterministic simulation)
 * @param backgroundCommit whether {@link Wal#append} hands work to a group-commit thread; when
 *        false the appending thread commits (and blocks) itself, which is what a simulator wants
 * @param delegateWakeups whether the committer wakes only the first parked blocking waiter of a
 *        batch and each woken waiter wakes two more (a tree), so the committer starts the next
 *        batch at once instead of paying one unpark per parked waiter
 */
public record WalOptions(
        long segmentBytes,
        int writeBufferBytes,
        int maxBatchRequests,
        int maxPendingAppends,
        int maxWals,
        long slowFsyncNanos,
        LongSupplier nanoClock,
        WalMetrics metrics,
        Executor segmentPreparer,
        boolean backgroundCommit,
        boolean delegateWakeups,
        int recycleSegments) {

    public static final long DEFAULT_SEGMENT_BYTES = 64L * 1024 * 1024;
    public static final int DEFAULT_MAX_WALS = 5;
    public static final long DEFAULT_SLOW_FSYNC_NANOS = 1_000_000_000L;
    /** Covers the cuts between two releases at a few hundred MB/s with releases per ~second. */
    public static final int DEFAULT_RECYCLE_SEGMENTS = 4;
    /** Hard bound on recycled files kept: each is a whole segment of disk. */
    public static final int MAX_RECYCLE_SEGMENTS = 64;

    public WalOptions {
        if (segmentBytes < 4096 || (segmentBytes & 7) != 0) {
            throw new IllegalArgumentException("segmentBytes must be >= 4096 and a multiple of 8: " + segmentBytes);
        }
        if (writeBufferBytes < 4096) {
            throw new IllegalArgumentException("writeBufferBytes must be >= 4096: " + writeBufferBytes);
        }
        if (maxBatchRequests < 1 || maxPendingAppends < 1 || maxWals < 0 || slowFsyncNanos <= 0
                || recycleSegments < 0 || recycleSegments > MAX_RECYCLE_SEGMENTS) {
            throw new IllegalArgumentException("bad bounds in " + this);
        }
        if (nanoClock == null || metrics == null) {
            throw new IllegalArgumentException("nanoClock and metrics are required");
        }
    }

    public static WalOptions defaults() {
        return new WalOptions(DEFAULT_SEGMENT_BYTES, 1 << 20, 1024, 4096, DEFAULT_MAX_WALS,
                DEFAULT_SLOW_FSYNC_NANOS, System::nanoTime, WalMetrics.NOOP, null, true, false, DEFAULT_RECYCLE_SEGMENTS);
    }

    public WalOptions withSegmentBytes(long v) {
        return new WalOptions(v, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals, slowFsyncNanos,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withWriteBufferBytes(int v) {
        return new WalOptions(segmentBytes, v, maxBatchRequests, maxPendingAppends, maxWals, slowFsyncNanos,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withMaxBatchRequests(int v) {
        return new WalOptions(segmentBytes, writeBufferBytes, v, maxPendingAppends, maxWals, slowFsyncNanos,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withMaxPendingAppends(int v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, v, maxWals, slowFsyncNanos,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withMaxWals(int v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, v, slowFsyncNanos,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withSlowFsyncNanos(long v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals, v,
                nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withNanoClock(LongSupplier v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, v, metrics, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withMetrics(WalMetrics v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, nanoClock, v, segmentPreparer, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withSegmentPreparer(Executor v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, nanoClock, metrics, v, backgroundCommit, delegateWakeups, recycleSegments);
    }

    public WalOptions withBackgroundCommit(boolean v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, nanoClock, metrics, segmentPreparer, v, delegateWakeups, recycleSegments);
    }

    public WalOptions withDelegateWakeups(boolean v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, nanoClock, metrics, segmentPreparer, backgroundCommit, v, recycleSegments);
    }

    public WalOptions withRecycleSegments(int v) {
        return new WalOptions(segmentBytes, writeBufferBytes, maxBatchRequests, maxPendingAppends, maxWals,
                slowFsyncNanos, nanoClock, metrics, segmentPreparer, backgroundCommit, delegateWakeups, v);
    }

    /** Everything in the caller's thread: no preparer thread, no commit thread. */
    public WalOptions singleThreaded() {
        return withSegmentPreparer(Runnable::run).withBackgroundCommit(false);
    }
}
