package io.quorumlab.cli;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.SimResult;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quorumlab sim ...}: the deterministic simulator. */
@Command(name = "sim", mixinStandardHelpOptions = true, description = "Run the deterministic cluster simulator.",
        subcommands = {SimCommand.Run.class, SimCommand.ComparePlacement.class})
final class SimCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static long minutes(double m) {
        return (long) (m * 60e9);
    }

    static SimResult simulate(ClusterSimulation.Params p, Double burstAtMinute, boolean progress) {
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        if (burstAtMinute != null) s.burstAt(minutes(burstAtMinute));
        return runWithProgress(s, p, progress);
    }

    static SimResult runWithProgress(ClusterSimulation s, ClusterSimulation.Params p, boolean progress) {
        long t0 = System.nanoTime();
        SimResult r = s.run(progress ? t -> {
            double done = 100.0 * t / p.durationNanos();
            double wall = (System.nanoTime() - t0) / 1e9;
            System.err.printf(Locale.ROOT, "\r[%s] %5.1f%%  simulated %s  (%.1f simulated s per wall s)", p.name(), done,
                    fmt(t), t / 1e9 / Math.max(wall, 1e-3));
        } : null);
        if (progress) System.err.println();
        return r;
    }

    static String fmt(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "%dd%02dh%02dm%02ds", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Simulate a scenario file (chaos/scenarios/*.yaml) or one placement, and print what happened.")
    static final class Run implements Callable<Integer> {
        @picocli.CommandLine.Parameters(arity = "0..1", description = "scenario YAML (cluster, workload, faults on a timeline)")
        java.nio.file.Path scenario;
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
        @Option(names = "--etcd-disk", description = "disk profile for etcd's device: nvme, ssd, hdd, measured:FILE")
        String disk;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;

        @Override
        public Integer call() throws Exception {
            Long dur = duration != null ? Long.valueOf(io.quorumlab.chaos.sim.Scenario.duration(duration))
                    : minutes != null ? Long.valueOf(minutes(minutes)) : null;
            io.quorumlab.chaos.sim.Scenario sc = scenario != null ? io.quorumlab.chaos.sim.Scenario.load(scenario)
                    : new io.quorumlab.chaos.sim.Scenario(params(placement, minutes(30), 1), java.util.List.of());
            ClusterSimulation.Params p = sc.params();
            if (dur != null) p = p.withDuration(dur);
            if (seed != null) p = p.withSeed(seed);
            if (disk != null) p = p.withEtcdDisk(disk);
            ClusterSimulation s = new io.quorumlab.chaos.sim.Scenario(p, sc.faults()).build();
            if (burstAt != null) s.burstAt(minutes(burstAt));
            SimResult r = runWithProgress(s, p, !"json".equals(output));
            System.out.print("json".equals(output) ? r.toJson() : text(r));
            return 0;
        }
    }

    static ClusterSimulation.Params params(String placement, long duration, long seed) {
        return switch (placement) {
            case "stacked" -> ClusterSimulation.Params.stacked(duration, seed);
            case "dedicated-nvme", "dedicated", "external" -> ClusterSimulation.Params.dedicatedNvme(duration, seed);
            default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new Run()),
                    "unknown placement " + placement + " (stacked, dedicated-nvme)");
        };
    }

    static String text(SimResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s (%s, %d members, etcd disk %s, seed %d, %s simulated)%n", r.scenario(),
                r.placement(), r.members(), r.etcdDisk(), r.seed(), fmt(r.durationNanos())));
        sb.append(String.format(Locale.ROOT, "  WAL fsync      p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.1f ms  (%d fsyncs)%n",
                r.walFsyncP50Ms(), r.walFsyncP99Ms(), r.walFsyncP999Ms(), r.walFsyncMaxMs(), r.walFsyncs()));
        sb.append(String.format(Locale.ROOT, "  API server     p50 %.2f ms  p99 %.2f ms  requests %d  etcd calls %d  attempts %d  failed %d%n",
                r.apiP50Ms(), r.apiP99Ms(), r.apiRequests(), r.etcdCalls(), r.etcdAttempts(), r.apiFailed()));
        sb.append(String.format(Locale.ROOT, "  leader changes %d  write freeze %.1f s (longest %.1f s)  proposals failed %d  bursts %d%n",
                r.leaderElections(), r.writeFreezeSeconds(), r.longestFreezeSeconds(), r.proposalsFailed(), r.deploymentBursts()));
        for (ClusterSimulation.LeaderChange c : r.leaderChanges()) {
            sb.append("    ").append(ClusterSimulationClock.of(c.atNanos())).append(" term ").append(c.term()).append(' ')
                    .append(c.previousLeader()).append(" -> ").append(c.leader()).append(": ").append(c.cause()).append('\n');
        }
        return sb.toString();
    }

    @Command(name = "compare-placement", mixinStandardHelpOptions = true,
            description = "Stacked vs dedicated NVMe etcd: same workload, same seed, side by side.")
    static final class ComparePlacement implements Callable<Integer> {
        @Option(names = "--minutes", defaultValue = "20", description = "simulated minutes per placement")
        double minutes;
        @Option(names = "--seed", defaultValue = "1")
        long seed;
        @Option(names = "--burst-at", defaultValue = "2", description = "simulated minute of a deployment burst (negative: none)")
        double burstAt;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;

        @Override
        public Integer call() {
            Double burst = burstAt < 0 ? null : burstAt;
            boolean progress = !"json".equals(output);
            SimResult stacked = simulate(ClusterSimulation.Params.stacked(minutes(minutes), seed), burst, progress);
            SimResult dedicated = simulate(ClusterSimulation.Params.dedicatedNvme(minutes(minutes), seed), burst, progress);
            if ("json".equals(output)) {
                System.out.print("{\"stacked\": " + stacked.toJson().trim() + ",\n\"dedicatedNvme\": " + dedicated.toJson().trim() + "}\n");
                return 0;
            }
            System.out.printf(Locale.ROOT, "%-34s %16s %16s%n", "same workload and seed " + seed, "stacked", "dedicated-nvme");
            row("WAL fsync p50 (ms)", stacked.walFsyncP50Ms(), dedicated.walFsyncP50Ms());
            row("WAL fsync p99 (ms)", stacked.walFsyncP99Ms(), dedicated.walFsyncP99Ms());
            row("WAL fsync max (ms)", stacked.walFsyncMaxMs(), dedicated.walFsyncMaxMs());
            row("API server p99 (ms)", stacked.apiP99Ms(), dedicated.apiP99Ms());
            row("leader elections", stacked.leaderElections(), dedicated.leaderElections());
            row("write freeze (s)", stacked.writeFreezeSeconds(), dedicated.writeFreezeSeconds());
            row("API requests failed", stacked.apiFailed(), dedicated.apiFailed());
            row("etcd attempts per call", (double) stacked.etcdAttempts() / Math.max(1, stacked.etcdCalls()),
                    (double) dedicated.etcdAttempts() / Math.max(1, dedicated.etcdCalls()));
            System.out.println();
            System.out.print(text(stacked));
            System.out.print(text(dedicated));
            return 0;
        }

        private static void row(String name, double a, double b) {
            System.out.printf(Locale.ROOT, "%-34s %16.2f %16.2f%n", name, a, b);
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
