package io.quorumlab.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * {@code bench compare}'s results: for each workload case, each system's runs over the rounds, summarised as
 * min / median / max; the ratio is quorumlab's median over etcd's. Text table, JSON (schema {@value #SCHEMA})
 * and a self-contained HTML page (inline SVG, no external assets).
 */
public final class CompareReport {
    public static final String SCHEMA = "quorumlab.bench.compare/v1";
    public static final String BASELINE = "etcd";
    public static final String CANDIDATE = "quorumlab";

    private final int repeat;
    private final String started;
    private final List<String> cases = new ArrayList<>();
    /** case -> system -> runs, in round order. */
    private final Map<String, Map<String, List<RunResult>>> runs = new LinkedHashMap<>();
    /** system -> largest member RSS after each round. */
    private final Map<String, List<Long>> rss = new LinkedHashMap<>();
    /** case -> system -> per round: member CPU per op (us, JIT excluded) and JIT compiler CPU (s) during the measured run. */
    private final Map<String, Map<String, List<double[]>>> cpu = new LinkedHashMap<>();

    public CompareReport(int repeat, String started) {
        this.repeat = repeat;
        this.started = started;
    }

    public void add(String caseName, String system, RunResult r) {
        if (!runs.containsKey(caseName)) cases.add(caseName);
        runs.computeIfAbsent(caseName, k -> new LinkedHashMap<>()).computeIfAbsent(system, k -> new ArrayList<>()).add(r);
    }

    /** @param usPerOp CPU of all member threads but the JIT compilers per op; @param jitSeconds the compilers' CPU */
    public void addCpu(String caseName, String system, double usPerOp, double jitSeconds) {
        cpu.computeIfAbsent(caseName, k -> new LinkedHashMap<>()).computeIfAbsent(system, k -> new ArrayList<>())
                .add(new double[] {usPerOp, jitSeconds});
    }

    /** min / median / max over rounds of CPU per op ({@code which} 0) or JIT seconds (1); NaN stats when not recorded. */
    public Stat cpuStat(String caseName, String system, int which) {
        List<Double> v = new ArrayList<>();
        for (double[] x : cpu.getOrDefault(caseName, Map.of()).getOrDefault(system, List.of())) if (!Double.isNaN(x[which])) v.add(x[which]);
        return Stat.of(v);
    }

    public void addRss(String system, long bytes) {
        rss.computeIfAbsent(system, k -> new ArrayList<>()).add(bytes);
    }

    /** min, median, max of a metric over a system's runs of a case (the lower median for even counts). */
    public record Stat(double min, double median, double max, int n) {
        static Stat of(List<Double> values) {
            if (values.isEmpty()) return new Stat(Double.NaN, Double.NaN, Double.NaN, 0);
            List<Double> s = new ArrayList<>(values);
            s.sort(Double::compare);
            return new Stat(s.get(0), s.get((s.size() - 1) / 2), s.get(s.size() - 1), s.size());
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("min", min);
            m.put("median", median);
            m.put("max", max);
            return m;
        }
    }

    public Stat stat(String caseName, String system, ToDoubleFunction<RunResult> metric) {
        List<Double> v = new ArrayList<>();
        for (RunResult r : runs.getOrDefault(caseName, Map.of()).getOrDefault(system, List.of())) v.add(metric.applyAsDouble(r));
        return Stat.of(v);
    }

    static double qps(RunResult r) {
        return r.primary().qps();
    }

    static double p99(RunResult r) {
        return r.primary().p99Ms();
    }

    static double errors(RunResult r) {
        return r.primary().errorCount();
    }

    public double ratio(String caseName) {
        double e = stat(caseName, BASELINE, CompareReport::qps).median();
        double q = stat(caseName, CANDIDATE, CompareReport::qps).median();
        return e > 0 ? q / e : Double.NaN;
    }

    public List<String> cases() {
        return List.copyOf(cases);
    }

    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-26s %24s %24s %6s %20s %20s%n", "workload (median [min-max] of " + repeat + ")",
                "etcd ops/s", "quorumlab ops/s", "ratio", "etcd p99 ms", "quorumlab p99 ms"));
        for (String c : cases) {
            Stat eq = stat(c, BASELINE, CompareReport::qps), qq = stat(c, CANDIDATE, CompareReport::qps);
            Stat ep = stat(c, BASELINE, CompareReport::p99), qp = stat(c, CANDIDATE, CompareReport::p99);
            sb.append(String.format(Locale.ROOT, "%-26s %24s %24s %6.2f %20s %20s%n", c, range(eq, "%.0f"), range(qq, "%.0f"), ratio(c),
                    range(ep, "%.2f"), range(qp, "%.2f")));
        }
        long e = medianRss(BASELINE), q = medianRss(CANDIDATE);
        sb.append(String.format(Locale.ROOT, "%-26s %24s %24s %6.2f%n", "max member RSS after load", mb(e), mb(q),
                e > 0 ? (double) q / e : Double.NaN));
        if (!cpu.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%-26s %24s %24s %6s %20s %20s%n", "member CPU per op (us)", "etcd", "quorumlab", "ratio",
                    "etcd JIT s", "quorumlab JIT s"));
            for (String c : cases) {
                Stat ec = cpuStat(c, BASELINE, 0), qc = cpuStat(c, CANDIDATE, 0);
                sb.append(String.format(Locale.ROOT, "%-26s %24s %24s %6.2f %20s %20s%n", c, range(ec, "%.0f"), range(qc, "%.0f"),
                        qc.median() / ec.median(), range(cpuStat(c, BASELINE, 1), "%.1f"), range(cpuStat(c, CANDIDATE, 1), "%.1f")));
            }
        }
        for (String c : cases) {
            for (String sys : List.of(BASELINE, CANDIDATE)) {
                Stat err = stat(c, sys, CompareReport::errors);
                if (err.max() > 0) sb.append(String.format(Locale.ROOT, "note: %s had errors on %s (up to %.0f per run)%n", sys, c, err.max()));
            }
        }
        return sb.toString();
    }

    private static String range(Stat s, String f) {
        return String.format(Locale.ROOT, f + " [" + f + "-" + f + "]", s.median(), s.min(), s.max());
    }

    private long medianRss(String system) {
        List<Long> l = new ArrayList<>(rss.getOrDefault(system, List.of()));
        if (l.isEmpty()) return 0;
        l.sort(Long::compare);
        return l.get((l.size() - 1) / 2);
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }

    public Map<String, Object> toJsonMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("started", started);
        m.put("repeat", repeat);
        List<Object> ws = new ArrayList<>();
        for (String c : cases) {
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("name", c);
            for (String sys : List.of(BASELINE, CANDIDATE)) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("qps", stat(c, sys, CompareReport::qps).json());
                s.put("p99Ms", stat(c, sys, CompareReport::p99).json());
                s.put("errors", stat(c, sys, CompareReport::errors).json());
                s.put("cpuUsPerOp", cpuStat(c, sys, 0).json());
                s.put("jitSeconds", cpuStat(c, sys, 1).json());
                s.put("runs", runs.get(c).getOrDefault(sys, List.of()).stream().map(RunResult::toJsonMap).toList());
                w.put(sys, s);
            }
            w.put("qpsRatio", ratio(c));
            ws.add(w);
        }
        m.put("workloads", ws);
        Map<String, Object> r = new LinkedHashMap<>();
        for (String sys : List.of(BASELINE, CANDIDATE)) {
            List<Double> v = rss.getOrDefault(sys, List.of()).stream().map(Long::doubleValue).toList();
            r.put(sys, Stat.of(v).json());
        }
        m.put("maxMemberRssBytes", r);
        return m;
    }

    public String json() {
        return Json.write(toJsonMap());
    }

    /** A self-contained HTML page: the table, and per workload bars of median ops/s and p99 with min-max whiskers. */
    public String html() {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>quorumlab vs etcd</title><style>")
                .append("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}")
                .append("td:first-child{text-align:left}.chart{display:inline-block;margin:1em 2em 0 0}")
                .append("</style></head><body>\n<h1>quorumlab vs etcd</h1>\n<p>")
                .append(esc("Started " + started + "; " + repeat + " round(s), each system's 3-member cluster fresh per round; "
                        + "median [min-max] over the rounds; ratio = quorumlab median / etcd median."))
                .append("</p>\n<table><tr><th>workload</th><th>etcd ops/s</th><th>quorumlab ops/s</th><th>ratio</th>")
                .append("<th>etcd p99 ms</th><th>quorumlab p99 ms</th></tr>\n");
        for (String c : cases) {
            h.append("<tr><td>").append(esc(c)).append("</td><td>").append(esc(range(stat(c, BASELINE, CompareReport::qps), "%.0f")))
                    .append("</td><td>").append(esc(range(stat(c, CANDIDATE, CompareReport::qps), "%.0f"))).append("</td><td>")
                    .append(String.format(Locale.ROOT, "%.2f", ratio(c))).append("</td><td>")
                    .append(esc(range(stat(c, BASELINE, CompareReport::p99), "%.2f"))).append("</td><td>")
                    .append(esc(range(stat(c, CANDIDATE, CompareReport::p99), "%.2f"))).append("</td></tr>\n");
        }
        long e = medianRss(BASELINE), q = medianRss(CANDIDATE);
        h.append("<tr><td>max member RSS after load</td><td>").append(mb(e)).append("</td><td>").append(mb(q))
                .append("</td><td>").append(String.format(Locale.ROOT, "%.2f", e > 0 ? (double) q / e : Double.NaN))
                .append("</td><td></td><td></td></tr>\n</table>\n");
        for (String c : cases) {
            h.append("<h2>").append(esc(c)).append("</h2>\n");
            h.append(chart("ops/s (higher is better)", stat(c, BASELINE, CompareReport::qps), stat(c, CANDIDATE, CompareReport::qps)));
            h.append(chart("p99 latency, ms (lower is better)", stat(c, BASELINE, CompareReport::p99), stat(c, CANDIDATE, CompareReport::p99)));
        }
        h.append("</body></html>\n");
        return h.toString();
    }

    private static String chart(String title, Stat etcd, Stat ql) {
        int w = 360, barH = 28, top = 24, left = 80, height = top + 2 * (barH + 12) + 10;
        double max = Math.max(1e-9, Math.max(nz(etcd.max()), nz(ql.max())));
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", w + left + 70, height));
        s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"14\" font-size=\"13\">%s</text>", esc(title)));
        String[] names = {BASELINE, CANDIDATE};
        Stat[] stats = {etcd, ql};
        String[] colors = {"#4e79a7", "#f28e2b"};
        for (int i = 0; i < 2; i++) {
            int y = top + i * (barH + 12);
            double len = nz(stats[i].median()) / max * w;
            s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>", y + barH / 2 + 4, names[i]));
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", left, y, len, barH, colors[i]));
            double x0 = left + nz(stats[i].min()) / max * w, x1 = left + nz(stats[i].max()) / max * w;
            int ym = y + barH / 2;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\"/>", x0, ym, x1, ym));
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\"/>", x0, ym - 6, x0, ym + 6));
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\"/>", x1, ym - 6, x1, ym + 6));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%s</text>", Math.max(x1, left + len) + 6, ym + 4,
                    String.format(Locale.ROOT, max >= 100 ? "%.0f" : "%.2f", stats[i].median())));
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
