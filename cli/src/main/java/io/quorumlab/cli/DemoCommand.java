package io.quorumlab.cli;

import io.quorumlab.bench.load.LoadGenerator;
import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.SimResult;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.member.MemberApi;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code quorumlab demo}: a 3-member cluster on 127.0.0.1 in temporary directories, a short put and
 * range benchmark against it, a leader failure and re-election, then the simulator's stacked vs
 * dedicated comparison. Everything printed is measured by the run; it cleans up after itself.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a local 3-member cluster, benchmark it, fail its leader, and run the placement simulation.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--put-seconds", defaultValue = "15", description = "length of the put benchmark")
    int putSeconds;
    @Option(names = "--range-seconds", defaultValue = "5", description = "length of the range benchmark")
    int rangeSeconds;
    @Option(names = "--sim-duration", defaultValue = DEFAULT_SIM,
            description = "simulated time per placement, e.g. 1d, 6h, 30m (0 skips); both placements run at once")
    String simDuration;
    @Option(names = "--sim-minutes", description = "simulated minutes per placement (overrides --sim-duration)")
    Double simMinutes;
    @Option(names = "--request-weight", description = SimCommand.WEIGHT_HELP)
    Integer weight;
    @Option(names = "--clients", defaultValue = "16")
    int clients;
    @Option(names = "--report", defaultValue = "quorumlab-demo.html", description = "where to write the HTML report")
    Path report;

    /**
     * What the demo simulates by default: one day per placement, as {@code sim compare-placement --days 1
     * --request-weight 30 --burst-at -1} (the day's bursts where the seed puts them), each simulated request standing for 30 (docs/simulator.md measures what that changes), which takes
     * about a minute of one core per placement; runs shorter than a day get a deployment burst at
     * minute 30 (or a quarter of the run).
     */
    static final String DEFAULT_SIM = "1d";
    static final double BURST_AT_MINUTE = 30;
    static final int DEFAULT_WEIGHT = 30;
    static final long DAY_NANOS = 86_400_000_000_000L;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("quorumlab-demo-");
        List<EtcdServer> servers = new ArrayList<>();
        try {
            System.out.println("== starting a 3-member cluster on 127.0.0.1 (data in " + dir + ")");
            io.quorumlab.bench.InProcessCluster.start(dir, 3, servers);
            EtcdServer leader = awaitLeader(servers, null);
            System.out.println("   " + leader.config().name() + " is the leader\n");
            printMembers(servers);

            List<String> endpoints = new ArrayList<>();
            for (EtcdServer s : servers) endpoints.add("127.0.0.1:" + s.clientPorts().get(0));
            System.out.println("\n== put benchmark: " + clients + " clients, 256-byte values, " + putSeconds + " s");
            LoadGenerator.Result put = LoadGenerator.run(new LoadGenerator.Spec(endpoints, LoadGenerator.Op.PUT, clients,
                    Math.max(1, clients / 4), putSeconds * 1_000_000_000L, 10_000, 16, 256, 1), p -> bar(p, putSeconds));
            System.out.println();
            System.out.print(put.table());
            System.out.println("\n== linearizable range benchmark: " + clients + " clients, " + rangeSeconds + " s");
            LoadGenerator.Result range = LoadGenerator.run(new LoadGenerator.Spec(endpoints, LoadGenerator.Op.RANGE_LINEARIZABLE,
                    clients, Math.max(1, clients / 4), rangeSeconds * 1_000_000_000L, 10_000, 16, 256, 2), p -> bar(p, rangeSeconds));
            System.out.println();
            System.out.print(range.table());

            System.out.println("\n== stopping the leader " + leader.config().name());
            long stop = System.nanoTime();
            leader.close();
            EtcdServer next = awaitLeader(servers, leader);
            System.out.printf(Locale.ROOT, "   %s took over in %.0f ms (term %d)%n", next.config().name(),
                    (System.nanoTime() - stop) / 1e6, next.member().term());
            printMembers(servers);

            StringBuilder measured = new StringBuilder();
            measured.append(String.format(Locale.ROOT, "3-member cluster on 127.0.0.1 (this machine), %d clients, 256-byte values%n%n", clients));
            measured.append(put.table()).append(range.table());
            List<SimResult> sims = new ArrayList<>();
            long simNanos = simMinutes != null ? SimCommand.minutes(simMinutes)
                    : "0".equals(simDuration.trim()) ? 0 : io.quorumlab.chaos.sim.Scenario.duration(simDuration);
            if (simNanos > 0) {
                Integer w = weight != null ? weight : Integer.valueOf(DEFAULT_WEIGHT);
                ClusterSimulation.Params sp = SimCommand.withWeight(ClusterSimulation.Params.stacked(simNanos, 1), w);
                ClusterSimulation.Params dp = SimCommand.withWeight(ClusterSimulation.Params.dedicatedNvme(simNanos, 1), w);
                // A day or more has its own deployment bursts (where the seed puts them, as in
                // `sim compare-placement --days 1`); a shorter run gets one early enough to be seen.
                Double burstAt = simNanos >= DAY_NANOS ? null : Math.min(BURST_AT_MINUTE, simNanos / 60e9 / 4);
                System.out.printf(Locale.ROOT, "%n== simulator: stacked vs dedicated NVMe etcd, %s simulated each (both at once), same"
                        + " workload and seed, %s%s%n", SimCommand.fmt(simNanos),
                        burstAt == null ? "deployment bursts where the seed puts them" : String.format(Locale.ROOT, "a deployment burst at minute %.1f", burstAt),
                        sp.workload().requestWeight() > 1 ? ", each simulated API request standing for " + sp.workload().requestWeight() : "");
                SimCommand.Checked[] both = SimCommand.simulateBoth(sp, dp, burstAt, true);
                SimResult stacked = both[0].result(), dedicated = both[1].result();
                System.out.printf(Locale.ROOT, "%-28s %14s %16s%n", "", "stacked", "dedicated-nvme");
                System.out.printf(Locale.ROOT, "%-28s %14.2f %16.2f%n", "WAL fsync p99 (ms)", stacked.walFsyncP99Ms(), dedicated.walFsyncP99Ms());
                if (simNanos >= DAY_NANOS) {
                    System.out.printf(Locale.ROOT, "%-28s %14.2f %16.2f%n", "WAL fsync p99, 12-16h (ms)",
                            stacked.walFsyncPeakHourP99Ms(), dedicated.walFsyncPeakHourP99Ms());
                }
                System.out.printf(Locale.ROOT, "%-28s %14.1f %16.1f%n", "WAL fsync max (ms)", stacked.walFsyncMaxMs(), dedicated.walFsyncMaxMs());
                System.out.printf(Locale.ROOT, "%-28s %14.2f %16.2f%n", "API server p99 (ms)", stacked.apiP99Ms(), dedicated.apiP99Ms());
                System.out.printf(Locale.ROOT, "%-28s %14d %16d%n", "leader elections", stacked.leaderElections(), dedicated.leaderElections());
                System.out.printf(Locale.ROOT, "%-28s %14.1f %16.1f%n", "write freeze (s)", stacked.writeFreezeSeconds(), dedicated.writeFreezeSeconds());
                for (ClusterSimulation.LeaderChange c : stacked.leaderChanges()) {
                    System.out.println("   stacked " + SimCommand.ClusterSimulationClock.of(c.atNanos()) + " " + c.previousLeader()
                            + " -> " + c.leader() + ": " + c.cause());
                }
                sims.add(stacked);
                sims.add(dedicated);
            }
            System.out.printf(Locale.ROOT, "%n== summary: %.0f puts/s (p99 %.1f ms), %.0f linearizable reads/s (p99 %.1f ms) on this machine;"
                    + " leader failover handled.%n", put.qps(), put.p99Ms(), range.qps(), range.p99Ms());
            if (!sims.isEmpty()) {
                Files.writeString(report, io.quorumlab.chaos.report.HtmlReport.runs("quorumlab demo", "Measured on this machine",
                        measured.toString(), sims), java.nio.charset.StandardCharsets.UTF_8);
                System.out.println("   report: " + report.toAbsolutePath());
            }
            return 0;
        } finally {
            for (EtcdServer s : servers) {
                try {
                    s.close();
                } catch (RuntimeException e) {
                    // already stopped
                }
            }
            deleteRecursively(dir);
        }
    }

    private static EtcdServer awaitLeader(List<EtcdServer> servers, EtcdServer excluded) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (EtcdServer s : servers) {
                if (s == excluded) continue;
                MemberApi m = s.member();
                if (!s.member().isStopped() && m.leaderId() == m.memberId()) return s;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("no leader within 20 s");
    }

    private static void printMembers(List<EtcdServer> servers) {
        System.out.printf(Locale.ROOT, "   %-5s %-17s %-22s %-9s %6s %10s %10s%n", "NAME", "ID", "CLIENT URL", "LEADER", "TERM", "INDEX", "APPLIED");
        for (EtcdServer s : servers) {
            if (s.member().isStopped()) {
                System.out.printf(Locale.ROOT, "   %-5s %-17s %-22s%n", s.config().name(), "-", "stopped");
                continue;
            }
            MemberApi.MemberStatus st = s.member().status();
            System.out.printf(Locale.ROOT, "   %-5s %-17s %-22s %-9s %6d %10d %10d%n", s.config().name(),
                    Long.toHexString(st.memberId()), s.config().advertiseClientUrls().get(0).toString(),
                    st.leaderId() == st.memberId(), st.raftTerm(), st.raftIndex(), st.raftAppliedIndex());
        }
    }

    private static void bar(long elapsedNanos, int totalSeconds) {
        int width = 40;
        double f = Math.min(1, elapsedNanos / (totalSeconds * 1e9));
        int n = (int) (f * width);
        System.out.print("\r   [" + "#".repeat(n) + " ".repeat(width - n) + "] " + (int) (f * 100) + "%");
        System.out.flush();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
