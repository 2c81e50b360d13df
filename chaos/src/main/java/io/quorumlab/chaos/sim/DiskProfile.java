package io.quorumlab.chaos.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.SplittableRandom;

/**
 * How one device behaves when nothing else uses it: the latency of a small fdatasync (log-normal,
 * given by its median and p99), the sequential write bandwidth that drains dirty data, and the cost of
 * a WAL-sized buffered {@code write()} into the page cache (log-normal too: a memory copy and the file
 * system's bookkeeping, CPU-bound, so the same on every built-in device; the dirty limit's throttling
 * comes on top, from {@link Disk}'s state).
 *
 * <p>Built-in profiles are inputs, not results. {@code ssd} (a local SSD) and {@code hdd} follow etcd's
 * hardware guidance and public fio measurements. {@code nvme} (dedicated etcd nodes) and {@code cloud-ssd}
 * (the general-purpose network block volume a stacked control-plane node typically runs on) are
 * <em>calibrated</em>: chosen so that the simulated WAL fsync p99 at the daily peak lands in the ranges
 * the seed articles report for those placements (2-4 ms dedicated NVMe, 15-25 ms stacked); what the
 * simulation then shows about elections, freezes and API latency is not calibrated (docs/simulator.md).
 * {@code measured:FILE} loads what {@code quorumlab disk probe} measured on a real device.
 */
public record DiskProfile(String name, double fsyncMedianMs, double fsyncP99Ms, double writeMBps, double writeMedianMs,
                          double writeP99Ms) {
    private static final double Z99 = 2.3263;
    /**
     * A WAL-sized (2,300 B) buffered write into the page cache on a server: median 6 us, p99 40 us
     * (docs/simulator.md, "Disk profiles", gives the sources). Also what a {@code measured:} file
     * from before the probe measured writes gets.
     */
    public static final double PAGE_CACHE_WRITE_MEDIAN_MS = 0.006, PAGE_CACHE_WRITE_P99_MS = 0.040;

    public DiskProfile {
        if (!(fsyncMedianMs > 0) || !(fsyncP99Ms >= fsyncMedianMs) || !(writeMBps > 0) || !(writeMedianMs > 0)
                || !(writeP99Ms >= writeMedianMs) || Double.isInfinite(fsyncP99Ms) || Double.isInfinite(writeP99Ms)) {
            throw new IllegalArgumentException("bad disk profile " + name + ": fsync median " + fsyncMedianMs + " ms, p99 "
                    + fsyncP99Ms + " ms, " + writeMBps + " MB/s, write median " + writeMedianMs + " ms, p99 " + writeP99Ms + " ms");
        }
    }

    /** A device whose writes cost the page-cache copy of a server ({@link #PAGE_CACHE_WRITE_MEDIAN_MS}, p99). */
    public DiskProfile(String name, double fsyncMedianMs, double fsyncP99Ms, double writeMBps) {
        this(name, fsyncMedianMs, fsyncP99Ms, writeMBps, PAGE_CACHE_WRITE_MEDIAN_MS, PAGE_CACHE_WRITE_P99_MS);
    }

    /** This device with another fsync distribution (the write side and bandwidth kept). */
    public DiskProfile withFsync(String newName, double medianMs, double p99Ms) {
        return new DiskProfile(newName, medianMs, p99Ms, writeMBps, writeMedianMs, writeP99Ms);
    }

    public static DiskProfile named(String spec) {
        return switch (spec) {
            case "nvme" -> new DiskProfile("nvme", 0.5, 3, 1500);
            case "ssd" -> new DiskProfile("ssd", 1.5, 6, 250);
            case "cloud-ssd" -> new DiskProfile("cloud-ssd", 3, 16, 250);
            case "hdd" -> new DiskProfile("hdd", 8, 35, 120);
            default -> {
                if (spec.startsWith("measured:")) yield load(Path.of(spec.substring("measured:".length())));
                throw new IllegalArgumentException("unknown disk profile \"" + spec + "\" (nvme, ssd, cloud-ssd, hdd, measured:FILE)");
            }
        };
    }

    /**
     * Reads a profile saved by the disk probe (a properties file with the same field names). A file from
     * before the probe timed its writes has no {@code writeMedianMs}/{@code writeP99Ms}: its writes cost
     * the built-in page-cache copy ({@link #PAGE_CACHE_WRITE_MEDIAN_MS}, p99); one of the two alone is an error.
     */
    public static DiskProfile load(Path file) {
        Properties p = new Properties();
        try (var in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read disk profile " + file + ": " + e.getMessage(), e);
        }
        boolean median = p.containsKey("writeMedianMs"), p99 = p.containsKey("writeP99Ms");
        if (median != p99) {
            throw new IllegalArgumentException("bad disk profile " + file + ": writeMedianMs and writeP99Ms come together (or neither:"
                    + " a profile from before the probe timed writes)");
        }
        try {
            return new DiskProfile("measured:" + file, number(p, "fsyncMedianMs"), number(p, "fsyncP99Ms"), number(p, "writeMBps"),
                    median ? number(p, "writeMedianMs") : PAGE_CACHE_WRITE_MEDIAN_MS,
                    p99 ? number(p, "writeP99Ms") : PAGE_CACHE_WRITE_P99_MS);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad disk profile " + file + ": needs fsyncMedianMs, fsyncP99Ms, writeMBps"
                    + " (and optionally writeMedianMs, writeP99Ms): " + e.getMessage(), e);
        }
    }

    private static double number(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) throw new IllegalArgumentException("no " + key);
        return Double.parseDouble(v.trim());
    }

    /**
     * The page-cache copy's (a write() without throttling) log-normal parameters {mu, sigma} of
     * milliseconds, for a sampler that keeps them.
     */
    double[] writeLogNormal() {
        double mu = Math.log(writeMedianMs);
        return new double[] {mu, (Math.log(writeP99Ms) - mu) / Z99};
    }

    /** A draw from the log-normal {@code {mu, sigma}} of {@link #writeLogNormal}, in nanoseconds. */
    static long sampleNanos(SplittableRandom r, double mu, double sigma) {
        return (long) (Math.exp(mu + sigma * gaussian(r)) * 1_000_000);
    }

    /** One fdatasync's own service time (no queueing), in nanoseconds. */
    long sampleFsyncNanos(SplittableRandom r) {
        return (long) (logNormalMs(r, fsyncMedianMs, fsyncP99Ms) * 1_000_000);
    }

    private static double logNormalMs(SplittableRandom r, double medianMs, double p99Ms) {
        double mu = Math.log(medianMs);
        double sigma = (Math.log(p99Ms) - mu) / Z99;
        return Math.exp(mu + sigma * gaussian(r));
    }

    long transferNanos(long bytes) {
        return (long) (bytes / (writeMBps * 1_000_000.0) * 1e9);
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller; SplittableRandom has no nextGaussian on Java 17.
        double u1 = r.nextDouble(), u2 = r.nextDouble();
        if (u1 < 1e-300) u1 = 1e-300;
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
