package io.quorumlab.mvcc;

import java.util.function.LongSupplier;

/**
 * Store limits, with etcd's defaults. {@code nanoClock} is the member's Runtime clock: lease
 * deadlines are measured with it, so the simulator drives lease expiry in virtual time.
 *
 * @param maxTxnOps           --max-txn-ops
 * @param minLeaseTtlSeconds  ceil(1.5 x election timeout); 2 s for the 1 s default
 * @param quotaBackendBytes   --quota-backend-bytes; 0 = etcd's 2 GiB default, negative = no quota
 * @param watchSyncIntervalNanos how often lagging watchers are caught up by the sync thread; 0 = no thread (caller drives)
 */
public record StoreConfig(int maxTxnOps, long minLeaseTtlSeconds, long quotaBackendBytes, LongSupplier nanoClock,
                          long watchSyncIntervalNanos) {
    public static final int DEFAULT_MAX_TXN_OPS = 128;
    public static final long DEFAULT_QUOTA_BYTES = 2L << 30;
    public static final long MAX_LEASE_TTL_SECONDS = 9_000_000_000L;

    public static StoreConfig defaults() {
        return new StoreConfig(DEFAULT_MAX_TXN_OPS, 2, 0, System::nanoTime, 100_000_000L);
    }

    public long effectiveQuotaBytes() {
        return quotaBackendBytes == 0 ? DEFAULT_QUOTA_BYTES : quotaBackendBytes < 0 ? Long.MAX_VALUE : quotaBackendBytes;
    }

    public StoreConfig withClock(LongSupplier clock) {
        return new StoreConfig(maxTxnOps, minLeaseTtlSeconds, quotaBackendBytes, clock, watchSyncIntervalNanos);
    }

    public StoreConfig withQuota(long bytes) {
        return new StoreConfig(maxTxnOps, minLeaseTtlSeconds, bytes, nanoClock, watchSyncIntervalNanos);
    }

    public StoreConfig withWatchSyncInterval(long nanos) {
        return new StoreConfig(maxTxnOps, minLeaseTtlSeconds, quotaBackendBytes, nanoClock, nanos);
    }

    public StoreConfig withMaxTxnOps(int n) {
        return new StoreConfig(n, minLeaseTtlSeconds, quotaBackendBytes, nanoClock, watchSyncIntervalNanos);
    }
}
