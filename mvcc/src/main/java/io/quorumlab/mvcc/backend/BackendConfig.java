package io.quorumlab.mvcc.backend;

import java.util.function.LongSupplier;

/**
 * Batch policy and size limits. Defaults are etcd's: 100 ms / 10,000 writes per batch.
 * {@code nanoClock} comes from the member's Runtime so the simulator controls batch timing.
 */
public record BackendConfig(long batchIntervalNanos, int batchLimit, long mapSizeBytes, LongSupplier nanoClock,
                            boolean unsafeNoFsync) {
    public static final long DEFAULT_BATCH_INTERVAL_NANOS = 100_000_000L;
    public static final int DEFAULT_BATCH_LIMIT = 10_000;
    /** LMDB reserves address space, not disk: the file grows only as pages are written. */
    public static final long DEFAULT_MAP_SIZE_BYTES = 10L << 30;

    public BackendConfig {
        if (batchIntervalNanos <= 0 || batchLimit <= 0 || mapSizeBytes <= 0) throw new IllegalArgumentException("bad backend config");
    }

    public static BackendConfig defaults() {
        return new BackendConfig(DEFAULT_BATCH_INTERVAL_NANOS, DEFAULT_BATCH_LIMIT, DEFAULT_MAP_SIZE_BYTES, System::nanoTime, false);
    }

    public BackendConfig withBatch(long intervalNanos, int limit) {
        return new BackendConfig(intervalNanos, limit, mapSizeBytes, nanoClock, unsafeNoFsync);
    }

    public BackendConfig withMapSize(long bytes) { return new BackendConfig(batchIntervalNanos, batchLimit, bytes, nanoClock, unsafeNoFsync); }

    public BackendConfig withClock(LongSupplier clock) {
        return new BackendConfig(batchIntervalNanos, batchLimit, mapSizeBytes, clock, unsafeNoFsync);
    }

    /** etcd's --unsafe-no-fsync: commits are ordered but not forced to disk. Tests and benchmarks only. */
    public BackendConfig withUnsafeNoFsync(boolean v) { return new BackendConfig(batchIntervalNanos, batchLimit, mapSizeBytes, nanoClock, v); }
}
