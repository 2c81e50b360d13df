package io.quorumlab.bench.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one load run measured, per series; latencies in milliseconds. {@link #toJsonMap()} is the
 * {@code --output json} document (schema {@value #SCHEMA}, described in bench/README.md).
 *
 * @param loop "closed" or "open"
 * @param rate the open-loop rate (requests/s), 0 in closed loop
 * @param seconds from the first request to the end of the request loops
 * @param counters workload-specific counts (conflicts, retries, expected events...)
 */
public record RunResult(String workload, String loop, double rate, int clients, int conns, List<String> endpoints,
                        double seconds, List<SeriesResult> series, Map<String, Long> counters) {
    public static final String SCHEMA = "quorumlab.bench.run/v1";

    public RunResult {
        if (series.isEmpty()) throw new IllegalArgumentException("a run has at least one series");
        series = List.copyOf(series);
        endpoints = List.copyOf(endpoints);
        counters = Map.copyOf(counters);
    }

    /** The first series: the workload's requests. */
    public SeriesResult primary() {
        return series.get(0);
    }

    /** Errors of every series together, by code. */
    public Map<String, Long> errors() {
        Map<String, Long> all = new java.util.TreeMap<>();
        for (SeriesResult s : series) s.errors().forEach((k, v) -> all.merge(k, v, Long::sum));
        return all;
    }

    /**
     * @param qps successes per second of the run
     */
    public record SeriesResult(String name, long ok, Map<String, Long> errors, double qps, double meanMs, double p50Ms,
                               double p90Ms, double p99Ms, double p999Ms, double maxMs) {
        public SeriesResult {
            errors = Map.copyOf(errors);
        }

        public static SeriesResult of(String name, long ok, Map<String, Long> errors, Histogram h, double seconds) {
            boolean empty = h.getTotalCount() == 0;
            return new SeriesResult(name, ok, new java.util.TreeMap<>(errors), seconds > 0 ? ok / seconds : 0,
                    empty ? 0 : h.getMean() / 1e6, ms(h, 50, empty), ms(h, 90, empty), ms(h, 99, empty), ms(h, 99.9, empty),
                    empty ? 0 : h.getMaxValue() / 1e6);
        }

        private static double ms(Histogram h, double percentile, boolean empty) {
            return empty ? 0 : h.getValueAtPercentile(percentile) / 1e6;
        }

        public long errorCount() {
            return errors.values().stream().mapToLong(Long::longValue).sum();
        }

        Map<String, Object> toJsonMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("ok", ok);
            m.put("errors", new java.util.TreeMap<>(errors));
            m.put("qps", qps);
            Map<String, Object> lat = new LinkedHashMap<>();
            lat.put("mean", meanMs);
            lat.put("p50", p50Ms);
            lat.put("p90", p90Ms);
            lat.put("p99", p99Ms);
            lat.put("p99.9", p999Ms);
            lat.put("max", maxMs);
            m.put("latencyMs", lat);
            return m;
        }
    }

    public Map<String, Object> toJsonMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("workload", workload);
        m.put("loop", loop);
        m.put("rate", rate);
        m.put("clients", clients);
        m.put("conns", conns);
        m.put("endpoints", endpoints);
        m.put("seconds", seconds);
        m.put("series", series.stream().map(SeriesResult::toJsonMap).toList());
        m.put("counters", new java.util.TreeMap<>(counters));
        return m;
    }

    public String json() {
        return Json.write(toJsonMap());
    }

    /** The final table: one row per series, then errors by gRPC code and the workload's counters. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s: %d clients, %d conns, %s loop%s, %.2f s%n", workload, clients, conns, loop,
                rate > 0 ? String.format(Locale.ROOT, " at %.0f/s (latency from each request's due time)", rate) : "", seconds));
        sb.append(String.format(Locale.ROOT, "%-14s %10s %8s %10s %9s %9s %9s %9s %9s %9s%n", "series", "ok", "errors", "qps",
                "mean ms", "p50", "p90", "p99", "p99.9", "max"));
        for (SeriesResult s : series) {
            sb.append(String.format(Locale.ROOT, "%-14s %10d %8d %10.1f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f%n", s.name(), s.ok(),
                    s.errorCount(), s.qps(), s.meanMs(), s.p50Ms(), s.p90Ms(), s.p99Ms(), s.p999Ms(), s.maxMs()));
        }
        for (SeriesResult s : series) {
            if (!s.errors().isEmpty()) sb.append("errors (").append(s.name()).append("): ").append(new java.util.TreeMap<>(s.errors())).append('\n');
        }
        if (!counters.isEmpty()) sb.append("counters: ").append(new java.util.TreeMap<>(counters)).append('\n');
        return sb.toString();
    }
}
