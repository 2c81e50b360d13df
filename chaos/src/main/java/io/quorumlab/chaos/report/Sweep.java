package io.quorumlab.chaos.report;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.SimResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

/**
 * {@code quorumlab sim sweep}: the same scenario and seed run once per value of one parameter, and
 * what came out of each run (elections, freezes, API-server p99) set against the value; every run is
 * checked by the linearizability and watch checkers ({@link SimResult#checks()}, {@link #ok}). Parameters:
 * <ul>
 *   <li>{@code disk.fsync.p99}: the etcd device's fsync distribution is scaled (median and p99 by one
 *       factor) so that its p99 is the value; each run reports the WAL fsync p99 it then observed;</li>
 *   <li>{@code load} (alias {@code workload.apiRequestsPerSecond}): API requests per second per API server.</li>
 * </ul>
 */
public final class Sweep {
    public static final List<String> PARAMS = List.of("disk.fsync.p99", "load", "workload.apiRequestsPerSecond");
    /** More runs than this is a batch job, not a sweep. */
    public static final int MAX_VALUES = 20;

    /** The sweep's runs, in the order of the values. */
    public record Result(String scenario, String param, List<String> values, List<SimResult> runs) {
        public Result {
            if (values.size() != runs.size()) throw new IllegalArgumentException("one run per value");
        }
    }

    /** Reports the run about to start (index, value) and then its virtual time as it advances. */
    public interface Progress {
        LongConsumer run(int index, String value, ClusterSimulation.Params params);
    }

    private Sweep() {}

    /** Checks the parameter and values before any run starts (a typo should not cost an hour). */
    public static List<String> values(String param, String csv) {
        if (!PARAMS.contains(param)) {
            throw new IllegalArgumentException("unknown sweep parameter \"" + param + "\" (" + String.join(", ", PARAMS) + ")");
        }
        List<String> out = new ArrayList<>();
        for (String v : csv.split(",")) {
            String t = v.trim();
            if (t.isEmpty()) continue;
            numeric(param, t);
            out.add(t);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--values needs at least one value");
        if (out.size() > MAX_VALUES) throw new IllegalArgumentException("at most " + MAX_VALUES + " values, not " + out.size());
        return out;
    }

    /** The value as a number: milliseconds for {@code disk.fsync.p99}, requests per second for {@code load}. */
    public static double numeric(String param, String value) {
        if (param.equals("disk.fsync.p99")) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            if (!v.endsWith("ms") && !v.endsWith("s")) v = v + "ms"; // a bare number is milliseconds here
            double ms = Scenario.duration(v) / 1e6;
            if (!(ms > 0) || ms > 60_000) throw new IllegalArgumentException("disk.fsync.p99 must be in (0, 60s], not " + value);
            return ms;
        }
        double d;
        try {
            d = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(param + " must be a number of API requests per second, not \"" + value + "\"");
        }
        if (!(d > 0) || d > 100_000) throw new IllegalArgumentException(param + " must be in (0, 100000], not " + value);
        return d;
    }

    /** The scenario's parameters with the swept one set to {@code value}. */
    public static ClusterSimulation.Params apply(ClusterSimulation.Params p, String param, String value) {
        double v = numeric(param, value);
        ClusterSimulation.Params out = param.equals("disk.fsync.p99") ? p.withEtcdFsyncP99Ms(v)
                : p.withWorkload(p.workload().withApiRequestsPerSecond(v));
        return out.withName(p.name() + " " + param + "=" + value);
    }

    public static Result run(Scenario base, String param, List<String> values, Progress progress) {
        List<SimResult> runs = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            ClusterSimulation.Params p = apply(base.params(), param, values.get(i));
            ClusterSimulation s = new Scenario(p, base.faults()).build();
            runs.add(s.run(progress == null ? null : progress.run(i, values.get(i), p)));
        }
        return new Result(base.params().name(), param, List.copyOf(values), List.copyOf(runs));
    }

    /** Whether no run of the sweep had a checker violation. */
    public static boolean ok(Result r) {
        for (SimResult s : r.runs()) if (!s.checks().ok()) return false;
        return true;
    }

    /** The table and an ASCII bar of elections per week per value. */
    public static String text(Result r) {
        StringBuilder sb = new StringBuilder();
        SimResult first = r.runs().get(0);
        sb.append(String.format(Locale.ROOT, "sweep of %s over %s (%s, seed %d, %s simulated per value)%n", r.param(),
                r.scenario(), first.placement(), first.seed(), HtmlReport.span(first.durationNanos() / 1e9)));
        boolean fsync = r.param().equals("disk.fsync.p99");
        sb.append(String.format(Locale.ROOT, "%-10s %14s %14s %10s %14s %14s %12s %10s  %s%n", "value",
                fsync ? "fsync p99 req" : "API req/s", "WAL fsync p99", "elections", "elections/wk", "freeze s/wk",
                "API p99 ms", "retries x", "checks"));
        for (int i = 0; i < r.runs().size(); i++) {
            SimResult s = r.runs().get(i);
            double requested = numeric(r.param(), r.values().get(i));
            sb.append(String.format(Locale.ROOT, "%-10s %14.2f %14.2f %10d %14.1f %14.1f %12.2f %10.3f  %s%n", r.values().get(i),
                    requested, s.walFsyncP99Ms(), s.leaderElections(), s.electionsPerWeek(), s.freezeSecondsPerWeek(),
                    s.apiP99Ms(), s.retryMultiplier(), s.checks().ok() ? "ok" : s.checks().violationCount() + " VIOLATIONS"));
        }
        if (fsync) {
            sb.append("(fsync p99 req: what the etcd device's fsync distribution was scaled to; WAL fsync p99: what the WAL\n"
                    + " observed in the run, device queueing included)\n");
        }
        double max = 0;
        for (SimResult s : r.runs()) max = Math.max(max, s.electionsPerWeek());
        sb.append("\nleader elections per week\n");
        for (int i = 0; i < r.runs().size(); i++) {
            double e = r.runs().get(i).electionsPerWeek();
            int w = max <= 0 ? 0 : (int) Math.round(e / max * 50);
            sb.append(String.format(Locale.ROOT, "%10s |%-50s %.1f%n", r.values().get(i), "#".repeat(w), e));
        }
        return sb.toString();
    }

    public static String json(Result r) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"scenario\": \"").append(r.scenario().replace("\\", "\\\\").replace("\"", "\\\"")).append("\",\n");
        sb.append("  \"param\": \"").append(r.param()).append("\",\n");
        sb.append("  \"runs\": [");
        for (int i = 0; i < r.runs().size(); i++) {
            sb.append(i == 0 ? "\n" : ",\n");
            sb.append("    {\"value\": \"").append(r.values().get(i)).append("\", \"result\": ")
                    .append(r.runs().get(i).toJson().trim().replace("\n", "\n    ")).append('}');
        }
        sb.append("\n  ]\n}\n");
        return sb.toString();
    }
}
