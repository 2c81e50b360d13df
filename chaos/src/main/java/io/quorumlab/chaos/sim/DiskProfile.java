package io.quorumlab.chaos.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.SplittableRandom;

/**
 * How one device behaves when nothing else uses it: the latency of a small fdatasync (log-normal,
 * given by its median and p99) and the sequential write bandwidth that drains dirty data.
 *
 * <p>Built-in profiles are inputs, not results. {@code ssd} (a local SSD) and {@code hdd} follow etcd's
 * hardware guidance and public fio measurements. {@code nvme} (dedicated etcd nodes) and {@code cloud-ssd}
 * (the general-purpose network block volume a stacked control-plane node typically runs on) are
 * <em>calibrated</em>: chosen so that the simulated WAL fsync p99 at the daily peak lands in the ranges
 * the seed articles report for those placements (2-4 ms dedicated NVMe, 15-25 ms stacked); what the
 * simulation then shows about elections, freezes and API latency is not calibrated (docs/simulator.md).
 * {@code measured:FILE} loads what {@code quorumlab disk probe} measured on a real device.
 */
public record DiskProfile(String name, double fsyncMedianMs, double fsyncP99Ms, double writeMBps) {
    private static final double Z99 = 2.3263;

    public DiskProfile {
        if (fsyncMedianMs <= 0 || fsyncP99Ms < fsyncMedianMs || writeMBps <= 0) {
            throw new IllegalArgumentException("bad disk profile " + name + ": median " + fsyncMedianMs + " ms, p99 "
                    + fsyncP99Ms + " ms, " + writeMBps + " MB/s");
        }
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

    /** Reads a profile saved by the disk probe (a properties file with the same field names). */
    public static DiskProfile load(Path file) {
        Properties p = new Properties();
        try (var in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read disk profile " + file + ": " + e.getMessage(), e);
        }
        try {
            return new DiskProfile("measured:" + file, Double.parseDouble(p.getProperty("fsyncMedianMs")),
                    Double.parseDouble(p.getProperty("fsyncP99Ms")), Double.parseDouble(p.getProperty("writeMBps")));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad disk profile " + file + ": needs fsyncMedianMs, fsyncP99Ms, writeMBps", e);
        }
    }

    /** One fdatasync's own service time (no queueing), in nanoseconds. */
    long sampleFsyncNanos(SplittableRandom r) {
        double mu = Math.log(fsyncMedianMs);
        double sigma = (Math.log(fsyncP99Ms) - mu) / Z99;
        double ms = Math.exp(mu + sigma * gaussian(r));
        return (long) (ms * 1_000_000);
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
