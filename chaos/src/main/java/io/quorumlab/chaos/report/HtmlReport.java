package io.quorumlab.chaos.report;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.SimResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * One self-contained HTML file for one run, a placement comparison or a sweep: inline SVG charts of
 * the time series the simulation sampled, the summary table, the fault log with the fault tolerance
 * left after each step, and every leader change with its cause chain. No scripts, no external
 * assets, and well-formed XML (XHTML), so it can be checked by a parser; the same results give the
 * same bytes (no wall-clock time in it).
 */
public final class HtmlReport {
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#17becf"};
    static final int WIDTH = 900;
    static final int HEIGHT = 230;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 26;
    private static final int BOTTOM = 36;

    /** A chart of one quantity over virtual time: the series column(s) it is computed from. */
    private record Chart(String id, String title, String unit, boolean log, Function<SimResult, double[]> values) {}

    /** The charts every report has, in order. */
    private static final List<Chart> CHARTS = List.of(
            new Chart("walFsyncP99Ms", "WAL fsync p99 per interval", "ms", true, r -> r.series().column("walFsyncP99Ms")),
            new Chart("walFsyncMaxMs", "Slowest WAL fsync per interval", "ms", true, r -> r.series().column("walFsyncMaxMs")),
            new Chart("leaderTerm", "Leader term", "term", false, r -> r.series().column("leaderTerm")),
            new Chart("apiServerP99Ms", "API-server request latency p99 per interval", "ms", true,
                    r -> r.series().column("apiServerP99Ms")),
            new Chart("deviceQueueMs", "etcd device queue (work ahead of an fsync, max per interval)", "ms", true,
                    r -> r.series().column("deviceQueueMs")),
            new Chart("retryMultiplier", "Retry multiplier (etcd attempts per API request that needed etcd)", "x", false,
                    HtmlReport::retryMultiplier),
            new Chart("faultTolerance", "Fault tolerance (voters that may still fail without losing quorum, min per interval)",
                    "members", false, r -> r.series().column("faultTolerance")),
            new Chart(ClusterSimulation.HAS_LEADER, "etcd_server_has_leader (lowest over members and 50 ms samples; 0: some member had no leader)",
                    "0/1", false, r -> r.series().column(ClusterSimulation.HAS_LEADER)),
            new Chart(ClusterSimulation.APPLY_LAG, "Apply lag: etcd_server_proposals_committed_total - etcd_server_proposals_applied_total "
                    + "(highest over members)", "entries", false, r -> r.series().column(ClusterSimulation.APPLY_LAG)),
            new Chart(ClusterSimulation.PROPOSALS_PENDING, "etcd_server_proposals_pending (highest over members)", "proposals", false,
                    r -> r.series().column(ClusterSimulation.PROPOSALS_PENDING)));

    /** The series names a report charts (tests check each is present). */
    public static List<String> chartIds() {
        List<String> ids = new ArrayList<>();
        for (Chart c : CHARTS) ids.add(c.id());
        return ids;
    }

    static double[] retryMultiplier(SimResult r) {
        double[] req = r.series().column("etcdRequests"), att = r.series().column("etcdAttempts");
        double[] out = new double[req.length];
        for (int i = 0; i < req.length; i++) out[i] = req[i] <= 0 ? 1 : att[i] / req[i];
        return out;
    }

    private HtmlReport() {}

    /** A report of one run ({@code sim run}) or of runs side by side ({@code sim compare-placement}). */
    public static String runs(String title, List<SimResult> runs) {
        return runs(title, null, null, runs);
    }

    /**
     * The same, with a section of preformatted text first (the demo puts its measured cluster
     * benchmark there): {@code prefaceTitle} as a heading, {@code preface} escaped in a {@code pre}.
     */
    public static String runs(String title, String prefaceTitle, String preface, List<SimResult> runs) {
        StringBuilder sb = new StringBuilder();
        head(sb, title);
        if (preface != null) {
            sb.append("<h2>").append(esc(prefaceTitle == null ? "" : prefaceTitle)).append("</h2>\n<pre>").append(esc(preface))
                    .append("</pre>\n");
        }
        sb.append("<p class=\"note\">Every number and curve below was read off the simulated members, disks and clients "
                + "(sampled every ").append(fmt(runs.get(0).series().intervalNanos() / 1e9)).append(" s of virtual time")
                .append(runs.get(0).series().rowNanos() != runs.get(0).series().intervalNanos()
                        ? ", merged to " + fmt(runs.get(0).series().rowNanos() / 1e9) + " s per point (the worse value of merged points is kept)"
                        : "")
                .append("); no model parameter sets elections or freezes.</p>\n");
        summary(sb, runs);
        charts(sb, runs);
        for (int i = 0; i < runs.size(); i++) details(sb, runs.get(i), COLORS[i % COLORS.length]);
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    /** A sweep's report: elections, freezes and API-server p99 against the swept value, then every run. */
    public static String sweep(Sweep.Result r) {
        StringBuilder sb = new StringBuilder();
        head(sb, "Sweep of " + r.param() + " over " + r.scenario());
        boolean fsync = r.param().equals("disk.fsync.p99");
        sb.append("<h2>Against ").append(esc(r.param())).append("</h2>\n");
        sb.append("<table>\n<tr><th>value</th><th>").append(fsync ? "fsync p99 requested (ms)" : "API requests/s per API server")
                .append("</th><th>WAL fsync p99 observed (ms)</th><th>leader elections</th><th>elections per week</th>")
                .append("<th>write freeze s per week</th><th>API-server p99 (ms)</th><th>retry multiplier</th></tr>\n");
        List<String> labels = new ArrayList<>();
        double[] elections = new double[r.runs().size()], freeze = new double[r.runs().size()], api = new double[r.runs().size()];
        for (int i = 0; i < r.runs().size(); i++) {
            SimResult s = r.runs().get(i);
            labels.add(r.values().get(i));
            elections[i] = s.electionsPerWeek();
            freeze[i] = s.freezeSecondsPerWeek();
            api[i] = s.apiP99Ms();
            sb.append("<tr><td>").append(esc(r.values().get(i))).append("</td><td>").append(fmt(Sweep.numeric(r.param(), r.values().get(i))))
                    .append("</td><td>").append(fmt(s.walFsyncP99Ms())).append("</td><td>").append(s.leaderElections())
                    .append("</td><td>").append(fmt(s.electionsPerWeek())).append("</td><td>").append(fmt(s.freezeSecondsPerWeek()))
                    .append("</td><td>").append(fmt(s.apiP99Ms())).append("</td><td>").append(fmt(s.retryMultiplier()))
                    .append("</td></tr>\n");
        }
        sb.append("</table>\n");
        if (fsync) {
            sb.append("<p class=\"note\">requested: the p99 the etcd device's fsync distribution was scaled to; observed: "
                    + "the WAL's fsync p99 in the run (device queueing included, so it is at least the requested one "
                    + "when other tenants share the device).</p>\n");
        }
        bars(sb, "sweep-elections", "Leader elections per week", "per week", labels, elections);
        bars(sb, "sweep-freeze", "Write freeze seconds per week", "s/week", labels, freeze);
        bars(sb, "sweep-api", "API-server p99", "ms", labels, api);
        charts(sb, r.runs());
        for (int i = 0; i < r.runs().size(); i++) details(sb, r.runs().get(i), COLORS[i % COLORS.length]);
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    private static void head(StringBuilder sb, String title) {
        sb.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
                .append("<title>").append(esc(title)).append("</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\n")
                .append("table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;")
                .append("text-align:right;font-size:13px}td:first-child,th:first-child{text-align:left}\n")
                .append("td.l{text-align:left}.note{color:#555;font-size:13px}svg{display:block;margin:4px 0 14px}\n")
                .append("svg text{font-size:11px;fill:#333}.grid{stroke:#e5e5e5}.axis{stroke:#888}\n")
                .append("</style>\n</head>\n<body>\n<h1>").append(esc(title)).append("</h1>\n");
    }

    /** Each device that carried members' writes: its write() latency (page-cache copy and dirty-limit throttling). */
    private static String diskWrites(SimResult r) {
        StringBuilder sb = new StringBuilder();
        for (SimResult.DeviceWrites d : r.diskWrites()) {
            if (d.histogram().count() == 0) continue;
            sb.append(sb.length() == 0 ? "" : "; ").append(d.device()).append(": ")
                    .append(String.format(java.util.Locale.ROOT, "%.4f / %.4f / %.3f", d.p50Ms(), d.p99Ms(), d.maxMs()))
                    .append(d.throttled() == 0 ? "" : String.format(java.util.Locale.ROOT, ", %d held %.3f s", d.throttled(),
                            d.throttledSeconds()));
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    private static void summary(StringBuilder sb, List<SimResult> runs) {
        sb.append("<h2>Summary</h2>\n<table>\n<tr><th></th>");
        for (int i = 0; i < runs.size(); i++) {
            sb.append("<th style=\"color:").append(COLORS[i % COLORS.length]).append("\">").append(esc(runs.get(i).scenario()))
                    .append("</th>");
        }
        sb.append("</tr>\n");
        row(sb, "placement", runs, r -> r.placement());
        row(sb, "members at start", runs, r -> Integer.toString(r.members()));
        row(sb, "etcd disk", runs, r -> r.etcdDisk());
        row(sb, "seed", runs, r -> Long.toString(r.seed()));
        row(sb, "simulated", runs, r -> span(r.durationNanos() / 1e9));
        row(sb, "WAL fsync p50 / p99 / p99.9 (ms)", runs,
                r -> fmt(r.walFsyncP50Ms()) + " / " + fmt(r.walFsyncP99Ms()) + " / " + fmt(r.walFsyncP999Ms()));
        row(sb, "WAL fsync max (ms)", runs, r -> fmt(r.walFsyncMaxMs()));
        row(sb, "WAL fsync p99, peak hour (ms)", runs, r -> r.reachedPeakHours() ? fmt(r.walFsyncPeakHourP99Ms()) : "n/a (ended before 12:00)");
        row(sb, "members' write() p50 / p99 / max (ms), held by the dirty limit, per device", runs, HtmlReport::diskWrites);
        row(sb, "API-server p50 / p99 (ms)", runs, r -> fmt(r.apiP50Ms()) + " / " + fmt(r.apiP99Ms()));
        row(sb, "API requests / failed", runs, r -> r.apiRequests() + " / " + r.apiFailed());
        row(sb, "retry multiplier", runs, r -> fmt(r.retryMultiplier()));
        row(sb, "leader elections (per week)", runs, r -> r.leaderElections() + " (" + fmt(r.electionsPerWeek()) + ")");
        row(sb, "write freeze s (per week)", runs, r -> fmt(r.writeFreezeSeconds()) + " (" + fmt(r.freezeSecondsPerWeek()) + ")");
        row(sb, "longest write freeze (s)", runs, r -> fmt(r.longestFreezeSeconds()));
        row(sb, "write freezes", runs, r -> Long.toString(r.freezeCount()));
        row(sb, "proposals failed", runs, r -> Long.toString(r.proposalsFailed()));
        row(sb, "deployment bursts", runs, r -> Integer.toString(r.deploymentBursts()));
        row(sb, "lowest fault tolerance", runs, r -> Integer.toString(r.minFaultTolerance()));
        row(sb, "time without quorum (s)", runs, r -> fmt(r.quorumLostSeconds()));
        row(sb, "members at the end", runs, r -> String.join(", ", r.finalMembers()));
        row(sb, "simulator events", runs, r -> Long.toString(r.events()));
        row(sb, "linearizability and watch checks", runs, r -> (r.checks().ok() ? "ok: " : "VIOLATIONS: ") + r.checks().summary());
        sb.append("</table>\n");
    }

    private static void row(StringBuilder sb, String name, List<SimResult> runs, Function<SimResult, String> v) {
        sb.append("<tr><td>").append(esc(name)).append("</td>");
        for (SimResult r : runs) sb.append("<td>").append(esc(v.apply(r))).append("</td>");
        sb.append("</tr>\n");
    }

    private static void charts(StringBuilder sb, List<SimResult> runs) {
        sb.append("<h2>Over virtual time</h2>\n");
        for (Chart c : CHARTS) {
            List<double[]> ys = new ArrayList<>();
            for (SimResult r : runs) ys.add(c.values().apply(r));
            lineChart(sb, c, runs, ys);
        }
    }

    /** One SVG line chart, one polyline per run, leader changes as dashed marks in the run's colour. */
    static void lineChart(StringBuilder sb, Chart c, List<SimResult> runs, List<double[]> ys) {
        double maxT = 1;
        for (SimResult r : runs) maxT = Math.max(maxT, r.durationNanos() / 1e9);
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (double[] y : ys) {
            for (double v : y) {
                if (c.log() && v <= 0) continue;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (lo == Double.MAX_VALUE) {
            lo = c.log() ? 0.1 : 0;
            hi = c.log() ? 1 : 1;
        }
        if (c.log()) {
            lo = Math.pow(10, Math.floor(Math.log10(Math.max(lo, 1e-3))));
            hi = Math.pow(10, Math.ceil(Math.log10(Math.max(hi, lo * 10))));
        }
        double step = 0;
        if (!c.log()) {
            lo = Math.min(0, Math.floor(lo));
            step = niceStep(Math.max(hi - lo, 1) / 4);
            boolean integral = true;
            for (double[] y : ys) for (double v : y) integral &= v == Math.rint(v);
            if (integral) step = Math.max(step, 1); // terms and member counts get whole-number ticks
            hi = lo + Math.max(1, Math.ceil((hi - lo) / step - 1e-9)) * step;
        }
        double ylo = lo, yhi = hi, tmax = maxT;
        int pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
        java.util.function.DoubleUnaryOperator x = t -> LEFT + t / tmax * pw;
        java.util.function.DoubleUnaryOperator y = v -> {
            double f = c.log() ? (Math.log10(Math.max(v, ylo)) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo))
                    : (v - ylo) / (yhi - ylo);
            return TOP + ph - Math.max(0, Math.min(1, f)) * ph;
        };
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-series=\"").append(c.id())
                .append("\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ")
                .append(WIDTH).append(' ').append(HEIGHT).append("\">\n");
        sb.append("<title>").append(esc(c.title())).append("</title>\n");
        sb.append("<text x=\"").append(LEFT).append("\" y=\"16\" style=\"font-size:13px;font-weight:bold\">").append(esc(c.title()))
                .append(" (").append(esc(c.unit())).append(c.log() ? ", log scale" : "").append(")</text>\n");
        // y grid and labels
        List<Double> ticks = new ArrayList<>();
        if (c.log()) {
            for (double v = ylo; v <= yhi * 1.0001; v *= 10) ticks.add(v);
        } else {
            for (double v = ylo; v <= yhi + step * 1e-6; v += step) ticks.add(v);
        }
        for (double v : ticks) {
            double yy = y.applyAsDouble(v);
            sb.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(WIDTH - RIGHT).append("\" y1=\"")
                    .append(f1(yy)).append("\" y2=\"").append(f1(yy)).append("\"/>\n");
            sb.append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(f1(yy + 4)).append("\" text-anchor=\"end\">")
                    .append(fmt(v)).append("</text>\n");
        }
        // x axis: virtual time
        for (int i = 0; i <= 6; i++) {
            double t = tmax * i / 6, xx = x.applyAsDouble(t);
            sb.append("<line class=\"axis\" x1=\"").append(f1(xx)).append("\" x2=\"").append(f1(xx)).append("\" y1=\"")
                    .append(TOP + ph).append("\" y2=\"").append(TOP + ph + 4).append("\"/>\n");
            sb.append("<text x=\"").append(f1(xx)).append("\" y=\"").append(TOP + ph + 16).append("\" text-anchor=\"middle\">")
                    .append(esc(span(t))).append("</text>\n");
        }
        sb.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(WIDTH - RIGHT).append("\" y1=\"")
                .append(TOP + ph).append("\" y2=\"").append(TOP + ph).append("\"/>\n");
        for (int i = 0; i < runs.size(); i++) {
            String color = COLORS[i % COLORS.length];
            for (ClusterSimulation.LeaderChange lc : runs.get(i).leaderChanges()) {
                double xx = x.applyAsDouble(lc.atNanos() / 1e9);
                sb.append("<line x1=\"").append(f1(xx)).append("\" x2=\"").append(f1(xx)).append("\" y1=\"").append(TOP)
                        .append("\" y2=\"").append(TOP + ph).append("\" stroke=\"").append(color)
                        .append("\" stroke-dasharray=\"2,3\" stroke-opacity=\"0.5\"><title>")
                        .append(esc("term " + lc.term() + ": " + lc.previousLeader() + " -> " + lc.leader())).append("</title></line>\n");
            }
            double[] ts = runs.get(i).series().endSeconds();
            double[] v = ys.get(i);
            sb.append("<polyline class=\"series\" data-run=\"").append(esc(runs.get(i).scenario()))
                    .append("\" fill=\"none\" stroke-width=\"1.5\" stroke=\"").append(color).append("\" points=\"");
            for (int k = 0; k < v.length; k++) {
                if (k > 0) sb.append(' ');
                sb.append(f1(x.applyAsDouble(ts[k]))).append(',').append(f1(y.applyAsDouble(v[k])));
            }
            sb.append("\"/>\n");
            sb.append("<text x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(16 + 0).append("\" dy=\"").append(i * 12)
                    .append("\" text-anchor=\"end\" style=\"fill:").append(color).append("\">").append(esc(runs.get(i).scenario()))
                    .append("</text>\n");
        }
        sb.append("</svg>\n");
    }

    /** 1, 2 or 5 times a power of ten, at least {@code x} (readable axis steps). */
    static double niceStep(double x) {
        double p = Math.pow(10, Math.floor(Math.log10(x)));
        double f = x / p;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    }

    /** A bar chart of one number per swept value. */
    private static void bars(StringBuilder sb, String id, String title, String unit, List<String> labels, double[] v) {
        double max = 0;
        for (double d : v) max = Math.max(max, d);
        double top = max <= 0 ? 1 : max * 1.1;
        int pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
        double slot = (double) pw / Math.max(1, v.length);
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-series=\"").append(id).append("\" width=\"")
                .append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ')
                .append(HEIGHT).append("\">\n<title>").append(esc(title)).append("</title>\n");
        sb.append("<text x=\"").append(LEFT).append("\" y=\"16\" style=\"font-size:13px;font-weight:bold\">").append(esc(title))
                .append(" (").append(esc(unit)).append(")</text>\n");
        sb.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(WIDTH - RIGHT).append("\" y1=\"")
                .append(TOP + ph).append("\" y2=\"").append(TOP + ph).append("\"/>\n");
        for (int i = 0; i < v.length; i++) {
            double h = v[i] / top * ph, x0 = LEFT + i * slot + slot * 0.2;
            sb.append("<rect x=\"").append(f1(x0)).append("\" y=\"").append(f1(TOP + ph - h)).append("\" width=\"")
                    .append(f1(slot * 0.6)).append("\" height=\"").append(f1(h)).append("\" fill=\"").append(COLORS[0])
                    .append("\"><title>").append(esc(labels.get(i) + ": " + fmt(v[i]))).append("</title></rect>\n");
            sb.append("<text x=\"").append(f1(x0 + slot * 0.3)).append("\" y=\"").append(f1(TOP + ph - h - 4))
                    .append("\" text-anchor=\"middle\">").append(fmt(v[i])).append("</text>\n");
            sb.append("<text x=\"").append(f1(x0 + slot * 0.3)).append("\" y=\"").append(TOP + ph + 16)
                    .append("\" text-anchor=\"middle\">").append(esc(labels.get(i))).append("</text>\n");
        }
        sb.append("</svg>\n");
    }

    private static void details(StringBuilder sb, SimResult r, String color) {
        sb.append("<h2 style=\"color:").append(color).append("\">").append(esc(r.scenario())).append("</h2>\n");
        sb.append("<h3>Faults and the fault tolerance left after each</h3>\n");
        if (r.faults().isEmpty()) {
            sb.append("<p class=\"note\">No faults on the timeline.</p>\n");
        } else {
            sb.append("<table>\n<tr><th>due</th><th>done</th><th>fault</th><th>outcome</th><th>voters</th><th>up</th>")
                    .append("<th>fault tolerance</th><th>lowest until next</th></tr>\n");
            for (SimResult.FaultRecord f : r.faults()) {
                sb.append("<tr><td>").append(esc(clock(f.atNanos()))).append("</td><td>").append(esc(clock(f.doneNanos())))
                        .append("</td><td class=\"l\">").append(esc(f.fault())).append("</td><td class=\"l\">").append(esc(f.outcome()))
                        .append("</td><td>").append(f.voters()).append("</td><td>").append(f.up()).append("</td><td>")
                        .append(f.faultTolerance()).append("</td><td>").append(f.minFaultToleranceUntilNext()).append("</td></tr>\n");
            }
            sb.append("</table>\n");
        }
        sb.append("<h3>Leader changes and their cause chains</h3>\n");
        if (r.leaderChanges().isEmpty()) {
            sb.append("<p class=\"note\">The first leader kept its term for the whole run.</p>\n");
        } else {
            sb.append("<table>\n<tr><th>at</th><th>term</th><th>from</th><th>to</th><th>cause chain</th></tr>\n");
            for (ClusterSimulation.LeaderChange c : r.leaderChanges()) {
                sb.append("<tr><td>").append(esc(clock(c.atNanos()))).append("</td><td>").append(c.term()).append("</td><td>")
                        .append(esc(c.previousLeader())).append("</td><td>").append(esc(c.leader())).append("</td><td class=\"l\">")
                        .append(esc(c.cause())).append("</td></tr>\n");
            }
            sb.append("</table>\n");
        }
    }

    static String clock(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "d%d %02d:%02d:%02d", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    }

    /** Virtual time as an axis label: 90s, 12m, 5h, 3d 4h. */
    static String span(double seconds) {
        long s = Math.round(seconds);
        if (s < 600) return s + "s";
        if (s < 3 * 3600) return (s / 60) + "m";
        if (s < 3 * 86400) return String.format(Locale.ROOT, "%.1fh", s / 3600.0);
        return String.format(Locale.ROOT, "%.1fd", s / 86400.0);
    }

    static String fmt(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e12) return Long.toString((long) d);
        if (Math.abs(d) >= 100) return String.format(Locale.ROOT, "%.1f", d);
        if (Math.abs(d) >= 0.1) return String.format(Locale.ROOT, "%.2f", d);
        return String.format(Locale.ROOT, "%.3g", d);
    }

    private static String f1(double d) {
        return String.format(Locale.ROOT, "%.1f", d);
    }

    /** Escapes text for XML content and attribute values. */
    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    if (ch < 0x20 && ch != '\n' && ch != '\t') sb.append(' ');
                    else sb.append(ch);
                }
            }
        }
        return sb.toString();
    }
}
