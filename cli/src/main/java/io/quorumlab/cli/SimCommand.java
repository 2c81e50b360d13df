package io.quorumlab.cli;

import io.quorumlab.chaos.check.CheckReport;
import io.quorumlab.chaos.report.HtmlReport;
import io.quorumlab.chaos.report.Sweep;
import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.SimResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.LongConsumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quorumlab sim ...}: the deterministic simulator. */
@Command(name = "sim", mixinStandardHelpOptions = true, description = "Run the deterministic cluster simulator.",
        subcommands = {SimCommand.Run.class, SimCommand.ComparePlacement.class, SimCommand.SweepCommand.class})
final class SimCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Exit code when the linearizability or watch checker found a violation in the run. */
    static final int CHECK_FAILED = 1;

    static long minutes(double m) {
        return (long) (m * 60e9);
    }

    static SimResult simulate(ClusterSimulation.Params p, Double burstAtMinute, boolean progress) {
        return simulateChecked(p, burstAtMinute, progress).result();
    }

    /** A run and the linearizability and watch checkers' verdict on it. */
    record Checked(SimResult result, CheckReport check) {}

    static Checked simulateChecked(ClusterSimulation.Params p, Double burstAtMinute, boolean progress) {
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        if (burstAtMinute != null) s.burstAt(minutes(burstAtMinute));
        SimResult r = runWithProgress(s, p, progress);
        return new Checked(r, s.checkReport());
    }

    /**
     * Two independent simulations at once: the second on its own thread (each run is a pure
     * function of its parameters and seed, and they share no state), the first here with the
     * progress bar. On a machine with two cores this halves the wall time of a comparison.
     */
    static Checked[] simulateBoth(ClusterSimulation.Params first, ClusterSimulation.Params second, Double burstAtMinute,
                                  boolean progress) {
        java.util.concurrent.FutureTask<Checked> other = new java.util.concurrent.FutureTask<>(
                () -> simulateChecked(second, burstAtMinute, false));
        Thread t = new Thread(other, "sim-" + second.name());
        t.setDaemon(true);
        t.start();
        Checked a = simulateChecked(first, burstAtMinute, progress);
        if (progress && !other.isDone()) System.err.println("waiting for the " + second.name() + " run...");
        try {
            return new Checked[] {a, other.get()};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The checkers' verdict: on stdout with the text output, on stderr next to JSON (which stays one document). */
    static void printCheck(CommandLine cmd, String output, String name, CheckReport c) {
        PrintWriter w = "json".equals(output) ? cmd.getErr() : cmd.getOut();
        w.println("  checks" + (name.isEmpty() ? "" : " (" + name + ")") + ": " + c.toString().replace("\n", "\n  "));
        w.flush();
    }

    static SimResult runWithProgress(ClusterSimulation s, ClusterSimulation.Params p, boolean progress) {
        ProgressBar bar = progress ? new ProgressBar(p.name(), p.durationNanos()) : null;
        SimResult r = s.run(bar);
        if (bar != null) bar.done();
        return r;
    }

    /**
     * Shows progress when asked to ({@code --progress}) or when the console is interactive (Java can
     * only ask whether stdin and stdout are a terminal, not stderr alone) and the output is text.
     */
    static boolean showProgress(boolean forced, String output) {
        return forced || (System.console() != null && !"json".equals(output));
    }

    /** A progress bar on stderr with the simulated-time rate and an estimate of the time left. */
    static final class ProgressBar implements LongConsumer {
        static final int WIDTH = 30;
        private static final long REDRAW_NANOS = 250_000_000L;
        private final String label;
        private final long totalNanos;
        private final long startWall = System.nanoTime();
        private long lastDraw;
        private final PrintWriter err;

        ProgressBar(String label, long totalNanos) {
            this(label, totalNanos, new PrintWriter(System.err, true));
        }

        ProgressBar(String label, long totalNanos, PrintWriter err) {
            this.label = label;
            this.totalNanos = totalNanos;
            this.err = err;
        }

        @Override
        public void accept(long simNanos) {
            long now = System.nanoTime();
            if (simNanos < totalNanos && now - lastDraw < REDRAW_NANOS) return;
            lastDraw = now;
            err.print("\r" + line(simNanos, (now - startWall) / 1e9));
            err.flush();
        }

        /** One frame: {@code label [#####-----]  45.0%  d0 03:12:00 / 7d  312 sim-s/s  ETA 4m12s}. */
        String line(long simNanos, double wallSeconds) {
            double frac = Math.min(1, Math.max(0, (double) simNanos / totalNanos));
            int fill = (int) Math.round(frac * WIDTH);
            double rate = simNanos / 1e9 / Math.max(wallSeconds, 1e-3);
            double eta = rate > 0 ? (totalNanos - simNanos) / 1e9 / rate : Double.POSITIVE_INFINITY;
            return String.format(Locale.ROOT, "%s [%s%s] %5.1f%%  %s / %s  %.1f sim-s/s  ETA %s ", label, "#".repeat(fill),
                    "-".repeat(WIDTH - fill), frac * 100, fmt(simNanos), fmt(totalNanos), rate, wall(eta));
        }

        void done() {
            err.println();
        }

        static String wall(double seconds) {
            if (Double.isInfinite(seconds) || Double.isNaN(seconds)) return "?";
            long s = Math.round(seconds);
            if (s < 60) return s + "s";
            if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
            return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s / 60) % 60) + "m";
        }
    }

    static String fmt(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "%dd%02dh%02dm%02ds", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    }

    /**
     * Refuses a {@code --report} path that cannot be written before any simulated time is spent: a
     * directory, a read-only file, a parent that is not a writable directory (missing parents are
     * created, as {@link #writeReport} would).
     */
    static void checkReportPath(CommandLine cmd, Path file) {
        if (file == null) return;
        Path abs = file.toAbsolutePath();
        String why = null;
        if (Files.isDirectory(abs)) {
            why = "it is a directory";
        } else if (Files.exists(abs) && !Files.isWritable(abs)) {
            why = "the file is not writable";
        } else if (abs.getParent() != null) {
            try {
                Files.createDirectories(abs.getParent());
                if (!Files.isWritable(abs.getParent())) why = "directory " + abs.getParent() + " is not writable";
            } catch (IOException | SecurityException e) {
                why = "cannot create directory " + abs.getParent() + ": " + reason(e);
            }
        }
        if (why != null) throw new CommandLine.ParameterException(cmd, "cannot write --report " + file + ": " + why);
    }

    /** Writes the report; a failure (the path changed during the run) is a message and exit code 2, not a stack trace. */
    static int writeReport(CommandLine cmd, Path file, String html) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.writeString(file, html, StandardCharsets.UTF_8);
            return 0;
        } catch (IOException e) {
            cmd.getErr().println("cannot write --report " + file + ": " + reason(e));
            cmd.getErr().flush();
            return USAGE;
        }
    }

    private static String reason(Exception e) {
        if (e instanceof java.nio.file.FileAlreadyExistsException) return "a file is in the way (" + e.getMessage() + ")";
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied (" + e.getMessage() + ")";
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** picocli's exit code for a usage error, also used when the report could not be written. */
    static final int USAGE = 2;

    static void checkOutput(CommandLine cmd, String output) {
        if (!"text".equals(output) && !"json".equals(output)) {
            throw new CommandLine.ParameterException(cmd, "--output must be text or json, not " + output);
        }
    }

    static Scenario loadScenario(CommandLine cmd, Path file) {
        try {
            return Scenario.load(file);
        } catch (IOException e) {
            throw new CommandLine.ParameterException(cmd, "cannot read scenario " + file + ": " + e.getMessage());
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new CommandLine.ParameterException(cmd, e.getMessage());
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Simulate a scenario file (chaos/scenarios/*.yaml) or one placement, and print what happened.",
                    "Exit code 1 if the linearizability or watch checker found a violation."})
    static final class Run implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;
        @CommandLine.Parameters(arity = "0..1", description = "scenario YAML (cluster, workload, faults on a timeline)")
        Path scenario;
        @Option(names = "--placement", defaultValue = "stacked", description = "stacked | dedicated-nvme (without a scenario file)")
        String placement;
        @Option(names = "--minutes", description = "simulated minutes (default 30, or the scenario's duration)")
        Double minutes;
        @Option(names = "--duration", description = "simulated time, e.g. 45m, 2h, 7d (overrides --minutes and the scenario)")
        String duration;
        @Option(names = "--seed", description = "default 1, or the scenario's seed")
        Long seed;
        @Option(names = "--burst-at", description = "start a deployment burst at this simulated minute")
        Double burstAt;
        @Option(names = "--etcd-disk", description = "disk profile for etcd's device: nvme, ssd, cloud-ssd, hdd, measured:FILE")
        String disk;
        @Option(names = "--request-weight", description = WEIGHT_HELP)
        Integer weight;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;
        @Option(names = "--report", description = "also write a self-contained HTML report (charts over virtual time) to this file")
        Path report;
        @Option(names = "--progress", description = "show the progress bar even when the console is not interactive")
        boolean progress;

        @Override
        public Integer call() throws Exception {
            CommandLine cmd = spec.commandLine();
            checkOutput(cmd, output);
            checkReportPath(cmd, report);
            ClusterSimulation s;
            ClusterSimulation.Params p;
            try {
                Long dur = duration != null ? Long.valueOf(Scenario.duration(duration))
                        : minutes != null ? Long.valueOf(minutes(minutes)) : null;
                Scenario sc = scenario != null ? loadScenario(cmd, scenario)
                        : new Scenario(params(placement, minutes(30), 1), List.of());
                p = sc.params();
                if (dur != null) p = p.withDuration(dur);
                if (seed != null) p = p.withSeed(seed);
                if (disk != null) p = p.withEtcdDisk(disk);
                p = withWeight(p, weight);
                s = new Scenario(p, sc.faults()).build();
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
            if (burstAt != null) s.burstAt(minutes(burstAt));
            SimResult r = runWithProgress(s, p, showProgress(progress, output));
            CheckReport check = s.checkReport();
            PrintWriter out = cmd.getOut();
            out.print("json".equals(output) ? r.toJson() : text(r));
            out.flush();
            printCheck(cmd, output, "", check);
            if (report != null) {
                int rc = writeReport(cmd, report, HtmlReport.runs(r.scenario(), List.of(r)));
                if (rc != 0) return rc;
                if (!"json".equals(output)) out.println("report: " + report);
            }
            out.flush();
            return check.ok() ? 0 : CHECK_FAILED;
        }
    }

    /** The default weight of runs longer than {@link #LONG_RUN_NANOS}: measured in docs/simulator.md. */
    static final int LONG_RUN_WEIGHT = 10;
    /** The default weight of runs longer than {@link #WEEK_RUN_NANOS} (a simulated week in about 5 minutes). */
    static final int WEEK_RUN_WEIGHT = 30;
    static final String WEIGHT_HELP = "real API requests one simulated request stands for (bytes and counts scaled; "
            + "default: the scenario's, else 1 up to 6 simulated hours, " + LONG_RUN_WEIGHT + " up to 2 days and "
            + WEEK_RUN_WEIGHT + " beyond; see docs/simulator.md)";
    static final long LONG_RUN_NANOS = 6 * 3_600_000_000_000L;
    static final long WEEK_RUN_NANOS = 48 * 3_600_000_000_000L;

    /**
     * The request weight: the one asked for, else the scenario's own if it sets one, else 1 for runs
     * up to 6 simulated hours, {@link #LONG_RUN_WEIGHT} up to 2 days and {@link #WEEK_RUN_WEIGHT} beyond
     * (a week costs about two hours of CPU at weight 1, 13 minutes at 10, 5 at 30; the weights'
     * agreement is measured in docs/simulator.md).
     */
    static ClusterSimulation.Params withWeight(ClusterSimulation.Params p, Integer asked) {
        int w = asked != null ? asked
                : p.workload().requestWeight() > 1 ? p.workload().requestWeight()
                : p.durationNanos() > WEEK_RUN_NANOS ? WEEK_RUN_WEIGHT
                : p.durationNanos() > LONG_RUN_NANOS ? LONG_RUN_WEIGHT : 1;
        return p.withWorkload(p.workload().withRequestWeight(w));
    }

    static ClusterSimulation.Params params(String placement, long duration, long seed) {
        return switch (placement) {
            case "stacked" -> ClusterSimulation.Params.stacked(duration, seed);
            case "dedicated-nvme", "dedicated", "external" -> ClusterSimulation.Params.dedicatedNvme(duration, seed);
            default -> throw new IllegalArgumentException("unknown placement " + placement + " (stacked, dedicated-nvme)");
        };
    }

    static String text(SimResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s (%s, %d members, etcd disk %s, seed %d, %s simulated%s)%n", r.scenario(),
                r.placement(), r.members(), r.etcdDisk(), r.seed(), fmt(r.durationNanos()),
                r.requestWeight() > 1 ? ", each simulated request standing for " + r.requestWeight() : ""));
        sb.append(String.format(Locale.ROOT, "  WAL fsync      p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.1f ms  (%d fsyncs)%n",
                r.walFsyncP50Ms(), r.walFsyncP99Ms(), r.walFsyncP999Ms(), r.walFsyncMaxMs(), r.walFsyncs()));
        sb.append(String.format(Locale.ROOT, "  API server     p50 %.2f ms  p99 %.2f ms  requests %d  etcd calls %d  attempts %d  failed %d%n",
                r.apiP50Ms(), r.apiP99Ms(), r.apiRequests(), r.etcdCalls(), r.etcdAttempts(), r.apiFailed()));
        sb.append(String.format(Locale.ROOT, "  leader changes %d  write freeze %.1f s (longest %.1f s)  proposals failed %d  bursts %d%n",
                r.leaderElections(), r.writeFreezeSeconds(), r.longestFreezeSeconds(), r.proposalsFailed(), r.deploymentBursts()));
        if (!r.faults().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "  faults (fault tolerance = voters that may still fail without losing quorum; "
                    + "lowest %d, %.1f s without quorum)%n", r.minFaultTolerance(), r.quorumLostSeconds()));
            for (SimResult.FaultRecord f : r.faults()) {
                sb.append(String.format(Locale.ROOT, "    %s  %-38s voters %d up %d tolerance %d (lowest until next %d)  %s%n",
                        ClusterSimulationClock.of(f.atNanos()), f.fault(), f.voters(), f.up(), f.faultTolerance(),
                        f.minFaultToleranceUntilNext(), f.outcome()));
            }
            sb.append("  members at the end: ").append(String.join(", ", r.finalMembers())).append('\n');
        }
        for (ClusterSimulation.LeaderChange c : r.leaderChanges()) {
            sb.append("    ").append(ClusterSimulationClock.of(c.atNanos())).append(" term ").append(c.term()).append(' ')
                    .append(c.previousLeader()).append(" -> ").append(c.leader()).append(": ").append(c.cause()).append('\n');
        }
        return sb.toString();
    }

    @Command(name = "compare-placement", mixinStandardHelpOptions = true,
            description = {"Stacked vs dedicated NVMe etcd: same workload, same seed, side by side.",
                    "Exit code 1 if the linearizability or watch checker found a violation in either run."})
    static final class ComparePlacement implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;
        @Option(names = "--minutes", defaultValue = "20", description = "simulated minutes per placement")
        double minutes;
        @Option(names = "--days", description = "simulated days per placement (overrides --minutes)")
        Double days;
        @Option(names = "--seed", defaultValue = "1")
        long seed;
        @Option(names = "--request-weight", description = WEIGHT_HELP)
        Integer weight;
        @Option(names = "--burst-at", description = "simulated minute of an extra deployment burst (negative: none; default "
                + "minute 2 with --minutes, none with --days: the workload's own bursts are then in the run)")
        Double burstAt;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;
        @Option(names = "--report", description = "also write a self-contained HTML report (both runs on each chart) to this file")
        Path report;
        @Option(names = "--progress", description = "show the progress bar even when the console is not interactive")
        boolean progress;

        @Override
        public Integer call() throws IOException {
            CommandLine cmd = spec.commandLine();
            checkOutput(cmd, output);
            if (days != null && !(days > 0)) throw new CommandLine.ParameterException(cmd, "--days must be positive");
            if (!(minutes > 0)) throw new CommandLine.ParameterException(cmd, "--minutes must be positive");
            checkReportPath(cmd, report);
            long duration = days != null ? (long) (days * 86_400e9) : minutes(minutes);
            double b = burstAt != null ? burstAt : days != null ? -1 : 2;
            Double burst = b < 0 ? null : b;
            boolean bar = showProgress(progress, output);
            ClusterSimulation.Params sp, dp;
            try {
                sp = withWeight(ClusterSimulation.Params.stacked(duration, seed), weight);
                dp = withWeight(ClusterSimulation.Params.dedicatedNvme(duration, seed), weight);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
            Checked[] runs = simulateBoth(sp, dp, burst, bar);
            Checked stackedRun = runs[0], dedicatedRun = runs[1];
            SimResult stacked = stackedRun.result(), dedicated = dedicatedRun.result();
            int code = stackedRun.check().ok() && dedicatedRun.check().ok() ? 0 : CHECK_FAILED;
            PrintWriter out = cmd.getOut();
            if (report != null) {
                int rc = writeReport(cmd, report, HtmlReport.runs("Stacked vs dedicated NVMe etcd, seed " + seed, List.of(stacked, dedicated)));
                if (rc != 0) return rc;
            }
            if ("json".equals(output)) {
                out.print("{\"stacked\": " + stacked.toJson().trim() + ",\n\"dedicatedNvme\": " + dedicated.toJson().trim() + "}\n");
                out.flush();
                printCheck(cmd, output, "stacked", stackedRun.check());
                printCheck(cmd, output, "dedicated-nvme", dedicatedRun.check());
                return code;
            }
            out.printf(Locale.ROOT, "%-34s %16s %16s%n", "same workload and seed " + seed, "stacked", "dedicated-nvme");
            row(out, "WAL fsync p50 (ms)", stacked.walFsyncP50Ms(), dedicated.walFsyncP50Ms());
            row(out, "WAL fsync p99 (ms)", stacked.walFsyncP99Ms(), dedicated.walFsyncP99Ms());
            if (stacked.reachedPeakHours()) {
                row(out, "WAL fsync p99, peak hour (ms)", stacked.walFsyncPeakHourP99Ms(), dedicated.walFsyncPeakHourP99Ms());
            } else {
                out.printf(Locale.ROOT, "%-34s %16s %16s%n", "WAL fsync p99, peak hour (ms)", "n/a", "n/a");
            }
            row(out, "WAL fsync max (ms)", stacked.walFsyncMaxMs(), dedicated.walFsyncMaxMs());
            row(out, "API server p99 (ms)", stacked.apiP99Ms(), dedicated.apiP99Ms());
            count(out, "leader elections", stacked.leaderElections(), dedicated.leaderElections());
            row(out, "leader elections per week", stacked.electionsPerWeek(), dedicated.electionsPerWeek());
            row(out, "write freeze (s)", stacked.writeFreezeSeconds(), dedicated.writeFreezeSeconds());
            row(out, "write freeze per week (s)", stacked.freezeSecondsPerWeek(), dedicated.freezeSecondsPerWeek());
            count(out, "proposals failed", stacked.proposalsFailed(), dedicated.proposalsFailed());
            count(out, "API requests failed", stacked.apiFailed(), dedicated.apiFailed());
            row(out, "etcd attempts per call", stacked.retryMultiplier(), dedicated.retryMultiplier());
            out.println();
            out.print(text(stacked));
            printCheck(cmd, output, "", stackedRun.check());
            out.print(text(dedicated));
            printCheck(cmd, output, "", dedicatedRun.check());
            if (report != null) out.println("report: " + report);
            out.flush();
            return code;
        }

        private static void row(PrintWriter out, String name, double a, double b) {
            out.printf(Locale.ROOT, "%-34s %16.2f %16.2f%n", name, a, b);
        }

        private static void count(PrintWriter out, String name, long a, long b) {
            out.printf(Locale.ROOT, "%-34s %16d %16d%n", name, a, b);
        }
    }

    @Command(name = "sweep", mixinStandardHelpOptions = true,
            description = {"Run a scenario once per value of one parameter (same seed) and set elections, write freezes and "
                    + "API-server p99 against the value.",
                    "Exit code 1 if the linearizability or watch checker found a violation in any run."})
    static final class SweepCommand implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;
        @CommandLine.Parameters(arity = "1", description = "scenario YAML")
        Path scenario;
        @Option(names = "--param", required = true,
                description = "disk.fsync.p99 (the etcd device's fsync p99) | load (API requests/s per API server)")
        String param;
        @Option(names = "--values", required = true, description = "comma-separated, e.g. 2ms,5ms,10ms,25ms,50ms or 100,250,500")
        String values;
        @Option(names = "--duration", description = "simulated time per value (default: the scenario's)")
        String duration;
        @Option(names = "--seed", description = "default: the scenario's seed")
        Long seed;
        @Option(names = "--request-weight", description = WEIGHT_HELP)
        Integer weight;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;
        @Option(names = "--report", description = "also write a self-contained HTML report (bar charts and every run's time series)")
        Path report;
        @Option(names = "--progress", description = "show the progress bar even when the console is not interactive")
        boolean progress;

        @Override
        public Integer call() throws IOException {
            CommandLine cmd = spec.commandLine();
            checkOutput(cmd, output);
            checkReportPath(cmd, report);
            Scenario sc = loadScenario(cmd, scenario);
            List<String> vals;
            ClusterSimulation.Params p = sc.params();
            try {
                vals = Sweep.values(param, values);
                if (duration != null) p = p.withDuration(Scenario.duration(duration));
                if (seed != null) p = p.withSeed(seed);
                p = withWeight(p, weight);
                for (String v : vals) Sweep.apply(p, param, v);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
            boolean bar = showProgress(progress, output);
            ProgressBar[] current = {null};
            Sweep.Result r = Sweep.run(new Scenario(p, sc.faults()), param, vals, bar ? (i, v, params) -> {
                if (current[0] != null) current[0].done();
                current[0] = new ProgressBar(String.format(Locale.ROOT, "[%d/%d] %s=%s", i + 1, vals.size(), param, v),
                        params.durationNanos());
                return current[0];
            } : null);
            if (current[0] != null) current[0].done();
            PrintWriter out = cmd.getOut();
            out.print("json".equals(output) ? Sweep.json(r) : Sweep.text(r));
            out.flush();
            for (int i = 0; i < r.runs().size(); i++) {
                printCheck(cmd, output, param + "=" + r.values().get(i), r.runs().get(i).checks());
            }
            if (report != null) {
                int rc = writeReport(cmd, report, HtmlReport.sweep(r));
                if (rc != 0) return rc;
                if (!"json".equals(output)) out.println("report: " + report);
            }
            out.flush();
            return Sweep.ok(r) ? 0 : CHECK_FAILED;
        }
    }

    /** Formats virtual time as day and clock time. */
    static final class ClusterSimulationClock {
        static String of(long nanos) {
            long s = nanos / 1_000_000_000L;
            return String.format(Locale.ROOT, "d%d %02d:%02d:%02d", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
        }
    }
}
