package io.quorumlab.wal;

/**
 * Where the WAL reports what it measures. Implementations map these to etcd's metric names:
 * <ul>
 *   <li>{@code etcd_disk_wal_fsync_duration_seconds} (histogram, {@link #FSYNC_BUCKETS_SECONDS});</li>
 *   <li>{@code etcd_disk_wal_write_duration_seconds} (histogram, same buckets; etcd 3.6 name);</li>
 *   <li>{@code etcd_disk_wal_write_bytes_total} (counter).</li>
 * </ul>
 * A sink, not a registry, so the module works without Prometheus on the classpath and the
 * simulator can record against virtual time. Called from the committing thread; keep it cheap.
 */
public interface WalMetrics {

    String FSYNC_DURATION = "etcd_disk_wal_fsync_duration_seconds";
    String WRITE_DURATION = "etcd_disk_wal_write_duration_seconds";
    String WRITE_BYTES = "etcd_disk_wal_write_bytes_total";

    /** etcd's buckets: 0.001 * 2^k seconds, k = 0..13 (1 ms .. 8.192 s). */
    double[] FSYNC_BUCKETS_SECONDS = buckets();

    WalMetrics NOOP = new WalMetrics() {
        @Override
        public void observeFsyncNanos(long nanos) {
        }

        @Override
        public void observeWriteNanos(long nanos) {
        }

        @Override
        public void addWriteBytes(long bytes) {
        }
    };

    void observeFsyncNanos(long nanos);

    void observeWriteNanos(long nanos);

    void addWriteBytes(long bytes);

    /**
     * One group-commit round finished: how many requests shared its write (and fsync, if any),
     * and how long completing them took (marking done, waking parked waiters, running callbacks).
     * Not an etcd metric; the benchmark uses it to show where the committer's time goes.
     */
    default void observeBatch(int requests, long completionNanos) {
    }

    /**
     * Where one group-commit round's time went, in clock nanoseconds; called only when the JVM runs
     * with {@code -Dquorumlab.wal.stageTiming=true} (two extra clock reads per round), so the split
     * costs nothing otherwise. {@code gap}: since the previous round ended (lock hand-over, the
     * committer's loop; 0 after the group-commit thread parked idle); {@code collect}: taking the batch off the submission stack;
     * {@code encode}: validating and framing its records into the write buffer, CRC32C included;
     * {@code write}: the write call(s); {@code fsync}: fdatasync (0 if none was needed);
     * {@code complete}: completing the requests (callbacks, including what they append, and wake-ups).
     */
    default void observeCommitStages(int requests, long gap, long collect, long encode, long write, long fsync,
                                     long complete) {
    }

    private static double[] buckets() {
        double[] b = new double[14];
        for (int k = 0; k < b.length; k++) {
            b[k] = 0.001 * (1L << k);
        }
        return b;
    }
}
