package io.quorumlab.bench.disk;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * etcd's hardware check done with the WAL's own I/O pattern: sequential appends of etcd-WAL-sized
 * writes (default 2,300 B, fio's recommended etcd test block size) each followed by fdatasync
 * ({@code FileChannel.force(false)}), on a preallocated file in the directory under test. Optionally a
 * competing writer streams large buffered writes to the same directory (the stacked case). Reports the
 * fdatasync latency distribution, the latency of the {@code write()} calls before it (timed apart: the
 * page-cache copy, and any dirty-limit throttling the competing writer causes), syncs/s and sequential
 * bandwidth, and a verdict against etcd's guidance; {@link Result#profile()} is a disk profile the
 * simulator accepts as {@code measured:FILE}.
 */
public final class DiskProbe {
    /** etcd's guidance: 99th percentile of WAL fdatasync below 10 ms. */
    public static final double ETCD_FSYNC_P99_LIMIT_MS = 10;
    /** etcd's guidance: at least 50 sequential IOPS (500 for heavy clusters). */
    public static final double MIN_SYNCS_PER_SECOND = 50, HEAVY_SYNCS_PER_SECOND = 500;

    public record Spec(Path dir, int writeBytes, long durationNanos, long fileBytes, boolean noise, int noiseMBps) {}

    /**
     * {@code p50Ms}..{@code meanMs}: the fdatasyncs; {@code writeP50Ms}, {@code writeP99Ms}, {@code writeMaxMs}: the
     * write() calls, each timed on its own; {@code writeMBps}: sequential bandwidth.
     */
    public record Result(Spec spec, long syncs, double seconds, double p50Ms, double p99Ms, double p999Ms, double maxMs,
                         double meanMs, double syncsPerSecond, double writeMBps, long noiseBytes, double writeP50Ms,
                         double writeP99Ms, double writeMaxMs) {
        public String verdict() {
            if (p99Ms >= ETCD_FSYNC_P99_LIMIT_MS) {
                return String.format(Locale.ROOT, "FAIL: fdatasync p99 %.2f ms >= %.0f ms: etcd's WAL will stall heartbeats on this disk",
                        p99Ms, ETCD_FSYNC_P99_LIMIT_MS);
            }
            if (syncsPerSecond < MIN_SYNCS_PER_SECOND) return "FAIL: fewer than 50 sequential syncs/s";
            if (syncsPerSecond < HEAVY_SYNCS_PER_SECOND) return "PASS for light clusters (fewer than 500 syncs/s: not for heavy load)";
            return "PASS: fdatasync p99 below 10 ms and at least 500 syncs/s";
        }

        /** The simulator's disk profile (see chaos DiskProfile.load). */
        public Properties profile() {
            Properties p = new Properties();
            p.setProperty("fsyncMedianMs", String.format(Locale.ROOT, "%.4f", Math.max(0.001, p50Ms)));
            p.setProperty("fsyncP99Ms", String.format(Locale.ROOT, "%.4f", Math.max(p99Ms, Math.max(0.001, p50Ms))));
            p.setProperty("writeMBps", String.format(Locale.ROOT, "%.1f", Math.max(1, writeMBps)));
            // Page-cache copies take microseconds: six decimals of a millisecond (1 ns), never 0.
            double wMedian = Math.max(0.000001, writeP50Ms);
            p.setProperty("writeMedianMs", String.format(Locale.ROOT, "%.6f", wMedian));
            p.setProperty("writeP99Ms", String.format(Locale.ROOT, "%.6f", Math.max(wMedian, writeP99Ms)));
            return p;
        }

        public String table() {
            return String.format(Locale.ROOT, """
                    disk probe: %s, %d-byte writes + fdatasync for %.1f s%s
                      fdatasync   p50 %.3f ms   p99 %.3f ms   p99.9 %.3f ms   max %.3f ms   mean %.3f ms
                      write()     p50 %.1f us   p99 %.1f us   max %.1f us (each call before its fdatasync, timed apart)
                      syncs/s     %.0f
                      sequential  %.1f MB/s (large buffered writes + one fdatasync)
                      verdict     %s
                    """, spec.dir(), spec.writeBytes(), seconds,
                    spec.noise() ? String.format(Locale.ROOT, ", with a competing writer (%d MB written)", noiseBytes >> 20) : "",
                    p50Ms, p99Ms, p999Ms, maxMs, meanMs, writeP50Ms * 1000, writeP99Ms * 1000, writeMaxMs * 1000, syncsPerSecond,
                    writeMBps, verdict());
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"dir\": \"%s\", \"writeBytes\": %d, \"seconds\": %.3f, \"syncs\": %d, "
                    + "\"fsyncP50Ms\": %.4f, \"fsyncP99Ms\": %.4f, \"fsyncP999Ms\": %.4f, \"fsyncMaxMs\": %.4f, "
                    + "\"fsyncMeanMs\": %.4f, \"writeP50Ms\": %.6f, \"writeP99Ms\": %.6f, \"writeMaxMs\": %.6f, "
                    + "\"syncsPerSecond\": %.1f, \"writeMBps\": %.1f, \"noise\": %b, \"verdict\": \"%s\"}",
                    spec.dir().toString().replace("\\", "\\\\").replace("\"", "\\\""), spec.writeBytes(), seconds, syncs,
                    p50Ms, p99Ms, p999Ms, maxMs, meanMs, writeP50Ms, writeP99Ms, writeMaxMs, syncsPerSecond, writeMBps, spec.noise(),
                    verdict());
        }
    }

    private DiskProbe() {}

    public static Result run(Spec spec) throws IOException, InterruptedException {
        Files.createDirectories(spec.dir());
        Path file = spec.dir().resolve("quorumlab-disk-probe.wal");
        Path noiseFile = spec.dir().resolve("quorumlab-disk-probe.noise");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong noiseBytes = new AtomicLong();
        Thread noise = null;
        try {
            double bandwidth = sequentialMBps(spec.dir().resolve("quorumlab-disk-probe.seq"), 64L << 20);
            if (spec.noise()) {
                noise = new Thread(() -> noiseWriter(noiseFile, spec.noiseMBps(), stop, noiseBytes), "disk-probe-noise");
                noise.setDaemon(true);
                noise.start();
            }
            Histogram h = new Histogram(60_000_000_000L, 3);
            Histogram w = new Histogram(60_000_000_000L, 3);
            long syncs = 0;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                preallocate(ch, spec.fileBytes());
                ch.force(true);
                byte[] block = new byte[spec.writeBytes()];
                new SplittableRandom(1).nextBytes(block);
                ByteBuffer buf = ByteBuffer.wrap(block);
                long pos = 0;
                long start = System.nanoTime();
                long end = start + spec.durationNanos();
                while (System.nanoTime() < end) {
                    buf.clear();
                    if (pos + block.length > spec.fileBytes()) pos = 0; // wrap like a reused segment
                    long w0 = System.nanoTime();
                    while (buf.hasRemaining()) pos += ch.write(buf, pos);
                    long t0 = System.nanoTime();
                    w.recordValue(Math.min(t0 - w0, w.getHighestTrackableValue()));
                    ch.force(false);
                    h.recordValue(Math.min(System.nanoTime() - t0, h.getHighestTrackableValue()));
                    syncs++;
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                return new Result(spec, syncs, seconds, h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6,
                        h.getValueAtPercentile(99.9) / 1e6, h.getMaxValue() / 1e6, h.getMean() / 1e6, syncs / seconds,
                        bandwidth, noiseBytes.get(), w.getValueAtPercentile(50) / 1e6, w.getValueAtPercentile(99) / 1e6,
                        w.getMaxValue() / 1e6);
            }
        } finally {
            stop.set(true);
            if (noise != null) noise.join(5000);
            Files.deleteIfExists(file);
            Files.deleteIfExists(noiseFile);
            Files.deleteIfExists(spec.dir().resolve("quorumlab-disk-probe.seq"));
        }
    }

    private static void preallocate(FileChannel ch, long bytes) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long p = 0; p < bytes; p += zeros.capacity()) {
            zeros.clear();
            if (bytes - p < zeros.capacity()) zeros.limit((int) (bytes - p));
            ch.write(zeros, p);
        }
    }

    /** Large buffered writes then one fdatasync: the device's sequential bandwidth as writeback sees it. */
    private static double sequentialMBps(Path file, long bytes) throws IOException {
        byte[] chunk = new byte[1 << 20];
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (long p = 0; p < bytes; p += chunk.length) ch.write(ByteBuffer.wrap(chunk), p);
            ch.force(false);
        }
        return bytes / 1e6 / ((System.nanoTime() - t0) / 1e9);
    }

    /** A competing tenant: buffered writes at a target rate, no fsync (page cache and writeback do the rest). */
    private static void noiseWriter(Path file, int mbps, AtomicBoolean stop, AtomicLong written) {
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            long start = System.nanoTime();
            while (!stop.get()) {
                out.write(chunk);
                long total = written.addAndGet(chunk.length);
                if (total > (4L << 30)) break; // bounded: never fill the disk
                long due = start + (long) (total / (mbps * 1e6) * 1e9);
                long wait = due - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
        } catch (IOException | InterruptedException e) {
            // the probe reports what was written
        }
    }
}
