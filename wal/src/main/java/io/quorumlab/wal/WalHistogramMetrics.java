package io.quorumlab.wal;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A dependency-free {@link WalMetrics} with etcd's buckets, renderable as Prometheus text. Used by
 * tests and the simulator; the server may instead bridge {@link WalMetrics} to its registry.
 */
public final class WalHistogramMetrics implements WalMetrics {

    /** Cumulative-on-render histogram: one counter per bucket plus +Inf, sum and count. */
    public static final class Histogram {
        private final AtomicLongArray counts = new AtomicLongArray(FSYNC_BUCKETS_SECONDS.length + 1);
        private final AtomicLong sumNanos = new AtomicLong();
        private final AtomicLong count = new AtomicLong();

        void observe(long nanos) {
            double s = nanos / 1e9;
            int i = 0;
            while (i < FSYNC_BUCKETS_SECONDS.length && s > FSYNC_BUCKETS_SECONDS[i]) {
                i++;
            }
            counts.incrementAndGet(i);
            sumNanos.addAndGet(nanos);
            count.incrementAndGet();
        }

        public long count() {
            return count.get();
        }

        public double sumSeconds() {
            return sumNanos.get() / 1e9;
        }

        /** Observations at or below bucket {@code k}'s upper bound (Prometheus' cumulative le). */
        public long cumulative(int k) {
            long c = 0;
            for (int i = 0; i <= k; i++) {
                c += counts.get(i);
            }
            return c;
        }

        void render(StringBuilder out, String name) {
            out.append("# TYPE ").append(name).append(" histogram\n");
            for (int k = 0; k < FSYNC_BUCKETS_SECONDS.length; k++) {
                out.append(name).append("_bucket{le=\"").append(fmt(FSYNC_BUCKETS_SECONDS[k])).append("\"} ")
                        .append(cumulative(k)).append('\n');
            }
            out.append(name).append("_bucket{le=\"+Inf\"} ").append(count()).append('\n');
            out.append(name).append("_sum ").append(fmt(sumSeconds())).append('\n');
            out.append(name).append("_count ").append(count()).append('\n');
        }
    }

    private final Histogram fsync = new Histogram();
    private final Histogram write = new Histogram();
    private final AtomicLong writeBytes = new AtomicLong();

    @Override
    public void observeFsyncNanos(long nanos) {
        fsync.observe(nanos);
    }

    @Override
    public void observeWriteNanos(long nanos) {
        write.observe(nanos);
    }

    @Override
    public void addWriteBytes(long bytes) {
        writeBytes.addAndGet(bytes);
    }

    public Histogram fsync() {
        return fsync;
    }

    public Histogram write() {
        return write;
    }

    public long writeBytes() {
        return writeBytes.get();
    }

    /** Prometheus text exposition of the three WAL metrics. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        fsync.render(sb, FSYNC_DURATION);
        write.render(sb, WRITE_DURATION);
        sb.append("# TYPE ").append(WRITE_BYTES).append(" counter\n");
        sb.append(WRITE_BYTES).append(' ').append(writeBytes()).append('\n');
        return sb.toString();
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%s", d);
    }
}
