package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.check.CheckReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What faults do to a run, measured on its outputs: disk latency steps (additive, ended in the log), a
 * stacked node's power loss taking its API server down, and every bundled scenario run (shortened) under
 * the checkers.
 */
class FaultEffectsTest {

    @Test
    void diskLatencyStepsAddUpAndEndInTheLog() {
        Scenario sc = Scenario.parse("""
                name: disk-latency
                placement: external
                duration: 70s
                seed: 2
                workload: {apiRequestsPerSecond: 30, burstsPerDay: 0}
                faults:
                  - {at: 20s, diskLatency: etcd1, add: 20ms, for: 30s}
                  - {at: 30s, diskLatency: etcd1, add: 25ms, for: 10s}
                """, "inline");
        ClusterSimulation s = sc.build();
        SimResult r = s.run(null);
        String replay = "\nreplay: FaultEffectsTest (external, seed 2, 70 s)\n" + r.toJson();
        double[] p99 = r.series().column("walFsyncP99Ms");
        double[] max = r.series().column("walFsyncMaxMs");
        // Rows end at 10, 20, ... s. A WAL fsync pays the step on each device operation it waits for (about
        // 3x the step here): [20,30) +20 ms, [30,40) +45 ms, [40,50) +20 ms again (the shorter step's end
        // does not clear the longer one), [60,70) back to nvme.
        assertTrue(p99[2] >= 20, "row 20-30 s: " + p99[2] + replay);
        assertTrue(p99[3] > 1.8 * p99[2], "row 30-40 s, both steps: " + p99[3] + replay);
        assertTrue(Math.abs(p99[4] - p99[2]) < 0.2 * p99[2], "row 40-50 s, the first step alone: " + p99[4] + replay);
        assertTrue(max[1] < 20 && max[6] < 20, "rows 10-20 s and 60-70 s, no step: " + max[1] + ", " + max[6] + replay);
        assertEquals(0, s.runtime("etcd1").disk().extraLatencyNanos(), replay);
        List<String> log = r.faults().stream().map(f -> f.fault() + ": " + f.outcome()).toList();
        assertTrue(log.contains("disk latency +25ms on etcd1 for 10s: device slowed (+45 ms in all)"), log + replay);
        assertTrue(log.contains("end of disk latency +25ms on etcd1 for 10s: latency step removed (+20 ms left)"), log + replay);
        assertTrue(log.contains("end of disk latency +20ms on etcd1 for 30s: latency step removed (+0 ms left)"), log + replay);
    }

    @Test
    void aStackedNodesPowerLossTakesItsApiServerDownButAProcessRestartDoesNot() {
        String yaml = """
                name: stacked-kill
                placement: stacked
                duration: 80s
                seed: 2
                workload: {apiRequestsPerSecond: 60, burstsPerDay: 0}
                faults:
                  - {at: 20s, %s: cp1, downFor: 30s}
                """;
        SimResult kill = Scenario.parse(yaml.formatted("kill"), "kill").build().run(null);
        SimResult restart = Scenario.parse(yaml.formatted("restart"), "restart").build().run(null);
        String replay = "\nreplay: FaultEffectsTest (stacked, seed 2, 80 s, 60 req/s)\nkill: " + kill.toJson() + "\nrestart: "
                + restart.toJson();
        // Power loss: cp1's API server is down with its member, its clients go elsewhere; nothing it accepted
        // fails. A process restart leaves the API server up, pinned to its local member (kubeadm), so its
        // requests fail for the 30 s while the member is down: about 60 req/s x 0.6 reach etcd.
        assertTrue(kill.apiRequests() < restart.apiRequests() * 0.95, kill.apiRequests() + " vs " + restart.apiRequests() + replay);
        assertTrue(restart.apiFailed() > 300, "restart: " + restart.apiFailed() + replay);
        assertTrue(kill.apiFailed() * 10 < restart.apiFailed(), "kill: " + kill.apiFailed() + replay);
    }

    @Test
    void everyBundledScenarioRunsShortenedWithoutAViolation() throws Exception {
        List<Path> files;
        try (Stream<Path> st = Files.list(Path.of("scenarios"))) {
            files = st.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 6, files.toString());
        for (Path f : files) {
            Scenario file = Scenario.load(f);
            // Two minutes at a fifth of the default load: the faults in the first two minutes take effect.
            ClusterSimulation.Params p = file.params().withDuration(Math.min(file.params().durationNanos(), 120_000_000_000L))
                    .withWorkload(file.params().workload().withApiRequestsPerSecond(50));
            ClusterSimulation s = new Scenario(p, file.faults()).build();
            SimResult r = s.run(null);
            CheckReport c = s.checkReport();
            String replay = "\nreplay: quorumlab sim run " + f + " --duration 2m (at 50 API requests/s)\n" + c;
            assertTrue(c.ok(), f + replay);
            assertTrue(c.ops() > 0, f + replay);
            for (SimResult.FaultRecord fr : r.faults()) assertFalse(fr.outcome().startsWith("failed"), fr + replay);
        }
    }

    @Test
    void aTornKillAndNetworkLossTakeEffectAndTheRunStaysLinearizable() {
        Scenario sc = Scenario.parse("""
                name: torn-and-loss
                placement: stacked
                duration: 60s
                seed: 5
                workload: {apiRequestsPerSecond: 30, burstsPerDay: 0}
                loss: 0.001
                faults:
                  - {at: 10s, kill: cp2, downFor: 5s, torn: true}
                  - {at: 25s, loss: 0.05, for: 20s}
                """, "inline");
        assertTrue(sc.faults().contains(new Scenario.Kill(10_000_000_000L, "cp2", 5_000_000_000L, true)), sc.faults().toString());
        ClusterSimulation s = sc.build();
        SimResult r = s.run(null);
        String replay = "\nreplay: FaultEffectsTest (stacked, seed 5, 60 s)\n" + r.toJson();
        List<String> log = r.faults().stream().map(f -> f.fault() + ": " + f.outcome()).toList();
        assertTrue(log.contains("kill cp2 (power loss, last write torn) for 5s: power lost; unsynced WAL bytes dropped, the last write torn"),
                log + replay);
        assertTrue(log.contains("cp2 back up: restarted from its data dir"), log + replay);
        assertTrue(log.contains("network loss 0.100% on every link: 0.100% of member messages dropped"), log + replay);
        assertTrue(log.contains("network loss 5.00% on every link for 20s: 5.10% of member messages dropped"), log + replay);
        assertTrue(log.contains("end of network loss 5.00% on every link for 20s: 0.100% loss left"), log + replay);
        // About 5% of 20 s of member traffic and 0.1% of the rest, all dropped by the network's loss draw.
        double share = (double) s.network().dropped() / s.network().sent();
        assertTrue(share > 0.01 && share < 0.04, share + replay);
        assertTrue(r.checks().ok() && r.checks().ops() > 0, r.checks() + replay);
        assertFalse(s.members().get("cp2").isStopped(), "the torn member came back up" + replay);
    }

    @Test
    void etcdsMetricsFollowAnIsolatedLeaderAndTheFsyncHistogramHoldsEveryFsync() {
        Scenario sc = Scenario.parse("""
                name: etcd-metrics
                placement: external
                duration: 60s
                seed: 4
                workload: {apiRequestsPerSecond: 40, burstsPerDay: 0}
                faults:
                  - {at: 6s, transferLeader: etcd3}
                  - {at: 25s, isolate: etcd3, for: 10s}
                """, "inline");
        ClusterSimulation s = sc.build();
        SimResult r = s.run(null);
        String replay = "\nreplay: FaultEffectsTest (external, seed 4, 60 s)\n" + r.toJson();
        double[] hasLeader = r.series().column(ClusterSimulation.HAS_LEADER);
        double[] changes = r.series().column(ClusterSimulation.LEADER_CHANGES);
        double[] lag = r.series().column(ClusterSimulation.APPLY_LAG);
        double[] pending = r.series().column(ClusterSimulation.PROPOSALS_PENDING);
        // Rows end at 10, 20, ... s. Before the isolation every member knows a leader; the isolated old
        // leader steps down (check quorum) and knows none until the cut heals; the others elect a new one.
        assertEquals(1.0, hasLeader[1], replay);
        assertEquals(0.0, hasLeader[2] * hasLeader[3], "row 20-30 s or 30-40 s: a member without a leader" + replay);
        assertEquals(1.0, hasLeader[5], replay);
        assertTrue(changes[2] + changes[3] >= 1, "a leader change seen in 20-40 s" + replay);
        assertEquals(0.0, changes[5], replay);
        assertTrue(s.network().unreachableReports() > 0, "the cut peers were reported unreachable" + replay);
        for (int i = 0; i < lag.length; i++) assertTrue(lag[i] >= 0 && pending[i] >= 0, replay);
        assertTrue(java.util.Arrays.stream(pending).max().orElse(0) > 0, "writes were pending at some sample" + replay);
        double failed = java.util.Arrays.stream(r.series().column(ClusterSimulation.PROPOSALS_FAILED)).sum();
        assertEquals(r.proposalsFailed(), failed, 1e-9, "no restart: the series' increases add up to the counters" + replay);
        SimResult.Histogram h = r.walFsyncHistogram();
        assertEquals(14, h.upperBounds().length);
        assertEquals(0.001, h.upperBounds()[0], 1e-12);
        assertEquals(8.192, h.upperBounds()[13], 1e-12);
        assertEquals(r.walFsyncs(), h.count(), replay);
        for (int k = 1; k < 14; k++) assertTrue(h.cumulativeCounts()[k] >= h.cumulativeCounts()[k - 1], replay);
        assertTrue(h.cumulativeCounts()[13] <= h.count() && h.cumulativeCounts()[4] > h.count() / 2, "nvme: most under 16 ms" + replay);
        assertTrue(h.sum() > 0 && h.sum() / h.count() * 1000 < r.walFsyncP99Ms() * 2, replay);
        assertTrue(r.toJson().contains("\"etcd_disk_wal_fsync_duration_seconds\": {\"le\": [0.001, 0.002, "), replay);
        // The isolation froze writes: every freeze is an interval of the result, and they add up to the total.
        assertTrue(r.freezeCount() >= 1 && r.freezeCount() == r.freezeIntervals().size(), replay);
        double total = 0, longest = 0;
        boolean duringIsolation = false;
        for (long[] f : r.freezeIntervals()) {
            assertTrue(f[1] > f[0], replay);
            total += (f[1] - f[0]) / 1e9;
            longest = Math.max(longest, (f[1] - f[0]) / 1e9);
            duringIsolation |= f[0] >= 25_000_000_000L && f[0] < 35_000_000_000L;
        }
        assertEquals(r.writeFreezeSeconds(), total, 1e-6, replay);
        assertEquals(r.longestFreezeSeconds(), longest, 1e-6, replay);
        assertTrue(duringIsolation, "a freeze starts while the leader is cut off" + replay);
        assertTrue(r.toJson().contains("\"writeFreezeIntervals\": [["), replay);
    }
}
