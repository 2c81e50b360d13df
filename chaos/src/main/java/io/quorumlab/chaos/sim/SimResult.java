package io.quorumlab.chaos.sim;

import io.quorumlab.chaos.report.TimeSeries;
import java.util.List;
import java.util.Locale;

/**
 * What one simulated run produced. Every number is read off the simulated members, disks and
 * clients; rendering is deterministic so that the same seed gives byte-identical JSON. With a
 * {@code requestWeight} above 1 the API-server counts and latencies count each simulated request
 * that many times; Raft and WAL figures (fsyncs, proposals failed, elections) are the simulated
 * members' own.
 */
public record SimResult(String scenario, String placement, long seed, long durationNanos, int members, String etcdDisk,
                        int requestWeight,
                        double etcdFsyncP99RequestedMs, double walFsyncP50Ms, double walFsyncP99Ms, double walFsyncP999Ms, double walFsyncMaxMs,
                        double walFsyncPeakHourP99Ms, long walFsyncs, double apiP50Ms, double apiP99Ms,
                        long apiRequests, long etcdCalls, long etcdAttempts, long apiFailed, int leaderElections,
                        double writeFreezeSeconds, double longestFreezeSeconds, long proposalsFailed, int deploymentBursts,
                        List<ClusterSimulation.LeaderChange> leaderChanges, List<FaultRecord> faults,
                        int minFaultTolerance, int finalFaultTolerance, double quorumLostSeconds, List<String> finalMembers,
                        TimeSeries series, long events, io.quorumlab.chaos.check.CheckReport checks, Histogram walFsyncHistogram,
                        List<long[]> freezeIntervals, long freezeCount, List<DeviceWrites> diskWrites) {

    /** Upper bounds (seconds) of the write() histogram's buckets: 1 us x 2^k, k = 0..23 (1 us to 8.4 s). */
    static final double[] WRITE_BUCKETS = writeBuckets();

    private static double[] writeBuckets() {
        double[] b = new double[24];
        for (int k = 0; k < b.length; k++) b[k] = 1e-6 * (1L << k);
        return b;
    }

    /**
     * One device's blocking write() calls (the members' WAL and backend writes on it): the latency
     * they saw, page-cache copy plus dirty-limit throttling, in {@link #WRITE_BUCKETS}; how many the
     * dirty limit held and for how long in all.
     */
    public record DeviceWrites(String device, Histogram histogram, double p50Ms, double p99Ms, double maxMs, long throttled,
                               double throttledSeconds) {
        /** Read off the devices of a run, in the order given. */
        public static List<DeviceWrites> of(java.util.Collection<Disk> disks) {
            List<DeviceWrites> out = new java.util.ArrayList<>();
            for (Disk d : disks) {
                org.HdrHistogram.Histogram h = d.writeLatency();
                long n = h.getTotalCount();
                long[] cumulative = new long[WRITE_BUCKETS.length];
                for (int k = 0; k < cumulative.length; k++) {
                    cumulative[k] = n == 0 ? 0 : h.getCountBetweenValues(0, Math.round(WRITE_BUCKETS[k] * 1e9));
                }
                out.add(new DeviceWrites(d.name(), new Histogram(WRITE_BUCKETS.clone(), cumulative, n, d.writeLatencySumNanos() / 1e9),
                        n == 0 ? 0 : h.getValueAtPercentile(50) / 1e6, n == 0 ? 0 : h.getValueAtPercentile(99) / 1e6,
                        n == 0 ? 0 : h.getMaxValue() / 1e6, d.throttledWrites(), d.throttledNanos() / 1e9));
            }
            return out;
        }

        String toJson() {
            StringBuilder sb = new StringBuilder("{\"device\": \"").append(escape(device)).append("\", \"le\": [");
            double[] le = histogram.upperBounds();
            for (int i = 0; i < le.length; i++) sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", le[i]));
            sb.append(", \"+Inf\"], \"cumulativeCount\": [");
            long[] c = histogram.cumulativeCounts();
            for (int i = 0; i < c.length; i++) sb.append(i == 0 ? "" : ", ").append(c[i]);
            sb.append(", ").append(histogram.count()).append("], \"count\": ").append(histogram.count())
                    .append(String.format(Locale.ROOT, ", \"sum\": %.6f, \"p50Ms\": %.4f, \"p99Ms\": %.4f, \"maxMs\": %.4f",
                            histogram.sum(), p50Ms, p99Ms, maxMs))
                    .append(", \"throttledWrites\": ").append(throttled)
                    .append(String.format(Locale.ROOT, ", \"throttledSeconds\": %.6f}", throttledSeconds));
            return sb.toString();
        }
    }

    /**
     * A Prometheus-style histogram: cumulative counts of values at or below each upper bound (seconds),
     * the total count ("+Inf") and the sum.
     */
    public record Histogram(double[] upperBounds, long[] cumulativeCounts, long count, double sum) {
        String toJson() {
            StringBuilder sb = new StringBuilder("{\"le\": [");
            for (int i = 0; i < upperBounds.length; i++) sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", upperBounds[i]));
            sb.append(", \"+Inf\"], \"cumulativeCount\": [");
            for (int i = 0; i < cumulativeCounts.length; i++) sb.append(i == 0 ? "" : ", ").append(cumulativeCounts[i]);
            sb.append(", ").append(count).append("], \"count\": ").append(count)
                    .append(String.format(Locale.ROOT, ", \"sum\": %.6f}", sum));
            return sb.toString();
        }
    }

    /**
     * One fault (or its end) as it took effect: at {@code atNanos} it was due, at {@code doneNanos} it
     * was done (membership changes wait for the cluster); then the voters, those up (the largest group
     * of running voters one of which reaches each other both ways), how many more may fail before quorum is lost, and the lowest that
     * number was, sampled every 50 ms, until the next entry.
     */
    public record FaultRecord(long atNanos, long doneNanos, String fault, String outcome, int voters, int up,
                              int faultTolerance, int minFaultToleranceUntilNext) {}

    /** Whether the run reached the daily peak window (12:00-16:00) at all; if not, there is no peak-hour p99. */
    public boolean reachedPeakHours() {
        return durationNanos > 12 * 3_600_000_000_000L;
    }

    public double simulatedDays() {
        return durationNanos / 86_400e9;
    }

    public double electionsPerWeek() {
        return leaderElections / simulatedDays() * 7;
    }

    public double freezeSecondsPerWeek() {
        return writeFreezeSeconds / simulatedDays() * 7;
    }

    /** Attempts per API request that needed etcd (1.0 = no retries). */
    public double retryMultiplier() {
        return etcdCalls == 0 ? 1 : (double) etcdAttempts / etcdCalls;
    }

    public String toJson() {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n");
        field(sb, "scenario", scenario);
        field(sb, "placement", placement);
        field(sb, "seed", seed);
        field(sb, "simulatedSeconds", durationNanos / 1e9);
        field(sb, "members", members);
        field(sb, "etcdDisk", etcdDisk);
        field(sb, "requestWeight", requestWeight);
        if (etcdFsyncP99RequestedMs > 0) field(sb, "etcdFsyncP99RequestedMs", etcdFsyncP99RequestedMs);
        field(sb, "walFsyncP50Ms", walFsyncP50Ms);
        field(sb, "walFsyncP99Ms", walFsyncP99Ms);
        field(sb, "walFsyncP999Ms", walFsyncP999Ms);
        field(sb, "walFsyncMaxMs", walFsyncMaxMs);
        if (reachedPeakHours()) field(sb, "walFsyncPeakHourP99Ms", walFsyncPeakHourP99Ms);
        else sb.append("  \"walFsyncPeakHourP99Ms\": null,\n"); // the run ended before the first peak window
        field(sb, "walFsyncs", walFsyncs);
        field(sb, "apiServerP50Ms", apiP50Ms);
        field(sb, "apiServerP99Ms", apiP99Ms);
        field(sb, "apiRequests", apiRequests);
        field(sb, "etcdRequests", etcdCalls);
        field(sb, "etcdAttempts", etcdAttempts);
        field(sb, "retryMultiplier", retryMultiplier());
        field(sb, "apiRequestsFailed", apiFailed);
        field(sb, "leaderElections", leaderElections);
        field(sb, "leaderElectionsPerWeek", electionsPerWeek());
        field(sb, "writeFreezeSeconds", writeFreezeSeconds);
        field(sb, "writeFreezeSecondsPerWeek", freezeSecondsPerWeek());
        field(sb, "longestWriteFreezeSeconds", longestFreezeSeconds);
        field(sb, "writeFreezes", freezeCount);
        field(sb, "proposalsFailed", proposalsFailed);
        field(sb, "deploymentBursts", deploymentBursts);
        field(sb, "minFaultTolerance", minFaultTolerance);
        field(sb, "finalFaultTolerance", finalFaultTolerance);
        field(sb, "quorumLostSeconds", quorumLostSeconds);
        field(sb, "events", events);
        sb.append("  \"finalMembers\": [");
        for (int i = 0; i < finalMembers.size(); i++) sb.append(i == 0 ? "\"" : ", \"").append(escape(finalMembers.get(i))).append('"');
        sb.append("],\n");
        // Each freeze as [start, end] in simulated seconds; the first ClusterSimulation.MAX_FREEZE_INTERVALS of them.
        sb.append("  \"writeFreezeIntervals\": [");
        for (int i = 0; i < freezeIntervals.size(); i++) {
            long[] f = freezeIntervals.get(i);
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "[%.2f, %.2f]", f[0] / 1e9, f[1] / 1e9));
        }
        sb.append("],\n");
        sb.append("  \"faults\": [");
        for (int i = 0; i < faults.size(); i++) {
            FaultRecord f = faults.get(i);
            sb.append(i == 0 ? "\n" : ",\n");
            sb.append("    {\"at\": \"").append(ClusterSimulation.clock(f.atNanos())).append("\", \"done\": \"")
                    .append(ClusterSimulation.clock(f.doneNanos())).append("\", \"fault\": \"").append(escape(f.fault()))
                    .append("\", \"outcome\": \"").append(escape(f.outcome())).append("\", \"voters\": ").append(f.voters())
                    .append(", \"up\": ").append(f.up()).append(", \"faultTolerance\": ").append(f.faultTolerance())
                    .append(", \"minFaultToleranceUntilNext\": ").append(f.minFaultToleranceUntilNext()).append('}');
        }
        sb.append(faults.isEmpty() ? "],\n" : "\n  ],\n");
        sb.append("  \"checks\": ").append(checksJson(checks)).append(",\n");
        sb.append("  \"etcd_disk_wal_fsync_duration_seconds\": ").append(walFsyncHistogram.toJson()).append(",\n");
        // Per device: the members' buffered write() calls (page-cache copy and dirty-limit throttling), seconds.
        sb.append("  \"disk_write_duration_seconds\": [");
        for (int i = 0; i < diskWrites.size(); i++) sb.append(i == 0 ? "\n    " : ",\n    ").append(diskWrites.get(i).toJson());
        sb.append(diskWrites.isEmpty() ? "],\n" : "\n  ],\n");
        sb.append("  \"series\": ").append(series.toJson("  ")).append(",\n");
        sb.append("  \"leaderChanges\": [");
        for (int i = 0; i < leaderChanges.size(); i++) {
            ClusterSimulation.LeaderChange c = leaderChanges.get(i);
            sb.append(i == 0 ? "\n" : ",\n");
            sb.append("    {\"at\": \"").append(ClusterSimulation.clock(c.atNanos())).append("\", \"term\": ").append(c.term())
                    .append(", \"leader\": \"").append(c.leader()).append("\", \"previous\": \"").append(c.previousLeader())
                    .append("\", \"cause\": \"").append(escape(c.cause())).append("\"}");
        }
        sb.append(leaderChanges.isEmpty() ? "]\n" : "\n  ]\n");
        sb.append("}\n");
        return sb.toString();
    }

    /** The linearizability and watch checkers' verdict as one JSON object (violations listed up to CheckReport's bound). */
    static String checksJson(io.quorumlab.chaos.check.CheckReport c) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"ok\": ").append(c.ok()).append(", \"windows\": ").append(c.windows()).append(", \"ops\": ").append(c.ops())
                .append(", \"ambiguousOps\": ").append(c.ambiguousOps()).append(", \"partitions\": ").append(c.partitions())
                .append(", \"unknownPartitions\": ").append(c.unknowns().size()).append(", \"watchEvents\": ").append(c.watchEvents())
                .append(", \"violations\": ").append(c.violationCount()).append(", \"listed\": [");
        for (int i = 0; i < c.violations().size(); i++) sb.append(i == 0 ? "\"" : ", \"").append(escape(c.violations().get(i))).append('"');
        sb.append("]}");
        return sb.toString();
    }

    private static void field(StringBuilder sb, String name, Object v) {
        sb.append("  \"").append(name).append("\": ");
        if (v instanceof String s) sb.append('"').append(escape(s)).append('"');
        else if (v instanceof Double d) sb.append(String.format(Locale.ROOT, "%.3f", d));
        else sb.append(v);
        sb.append(",\n");
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
