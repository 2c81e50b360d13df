package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Membership changes, leader transfer, partitions and restarts on the timeline, run on the real
 * member code; quorum is computed from the simulated Raft membership after each step.
 */
class MembershipScenarioTest {

    @Test
    void migrationFromStackedToExternalKeepsQuorumAndEndsWithTheExternalMembers() throws Exception {
        // The bundled scenario at a quarter of its load (the steps, not the load, are under test here).
        Scenario file = Scenario.load(Path.of("scenarios", "migrate-stacked-to-external.yaml"));
        ClusterSimulation.Params p = file.params().withWorkload(file.params().workload().withApiRequestsPerSecond(60));
        SimResult r = new Scenario(p, file.faults()).build().run(null);
        String replay = "\nreplay: quorumlab sim run chaos/scenarios/migrate-stacked-to-external.yaml --seed " + p.seed()
                + " (at 60 API requests/s)\n" + r.toJson();
        List<Integer> voters = new ArrayList<>();
        for (SimResult.FaultRecord f : r.faults()) {
            assertFalse(f.outcome().startsWith("failed"), f + replay);
            assertTrue(f.faultTolerance() >= 0, "quorum after " + f.fault() + replay);
            assertTrue(f.minFaultToleranceUntilNext() >= 0, "quorum after " + f.fault() + " until the next step" + replay);
            voters.add(f.voters());
            if (f.fault().startsWith("promote")) assertTrue(f.outcome().contains("caught up"), f + replay);
        }
        // Learners do not count: 3 -> promote -> 4 ... 6, then one removal at a time down to 3.
        assertEquals(List.of(3, 4, 4, 5, 5, 6, 6, 5, 4, 3), voters, replay);
        assertTrue(r.minFaultTolerance() >= 0, replay);
        assertEquals(0.0, r.quorumLostSeconds(), replay);
        assertEquals(List.of("etcd1", "etcd2", "etcd3"), r.finalMembers().stream().sorted().toList(), replay);
        assertEquals(1, r.finalFaultTolerance(), "three external voters, all up" + replay);
        // The API servers followed the membership: no request failed for good, and the last removal moved clients.
        assertEquals(0, r.apiFailed(), replay);
        assertTrue(r.faults().get(r.faults().size() - 1).outcome().contains("API servers now use"), replay);
    }

    @Test
    void transferPartitionAndRestartTakeEffectAndAreLogged() {
        Scenario sc = Scenario.parse("""
                name: faults
                placement: external
                duration: 80s
                seed: 4
                workload: {apiRequestsPerSecond: 60, burstsPerDay: 0}
                faults:
                  - {at: 10s, transferLeader: etcd2}
                  - {at: 25s, partition: etcd1, to: etcd2, oneWay: true, for: 5s}
                  - {at: 40s, restart: etcd2, downFor: 2s}
                  - {at: 55s, transferLeader: any}
                """, "inline");
        SimResult r = sc.build().run(null);
        String replay = "\n" + r.toJson();
        List<String> faults = r.faults().stream().map(f -> f.fault() + ": " + f.outcome()).toList();
        // Seed 4 elects etcd3 first; the transfer moves leadership to etcd2 and the cause chain says so.
        assertTrue(faults.contains("transfer leadership to etcd2: leadership moved to etcd2"), faults + replay);
        assertTrue(r.leaderChanges().stream().anyMatch(c -> c.leader().equals("etcd2") && c.cause().startsWith("leader transfer")),
                replay);
        assertTrue(faults.stream().anyMatch(f -> f.startsWith("one-way partition etcd1 -> etcd2")), faults + replay);
        assertTrue(faults.stream().anyMatch(f -> f.startsWith("restart etcd2")), faults + replay);
        assertTrue(faults.stream().anyMatch(f -> f.startsWith("etcd2 back up")), faults + replay);
        assertTrue(r.leaderChanges().stream().anyMatch(c -> c.previousLeader().equals("etcd2") && c.cause().startsWith("restart of etcd2")),
                replay);
        // The restarted leader (etcd2) loses its leadership; "any" then moves it to another voter.
        assertTrue(faults.stream().anyMatch(f -> f.startsWith("transfer leadership to any: leadership moved to")), faults + replay);
        SimResult.FaultRecord restart = r.faults().stream().filter(f -> f.fault().startsWith("restart")).findFirst().orElseThrow();
        assertEquals(0, restart.faultTolerance(), "one of three voters down leaves no tolerance" + replay);
        assertEquals(0, r.apiFailed(), replay);
    }

    @Test
    void isolatingTheLeaderKeepsQuorumWhileTheOthersFormAMajority() {
        Scenario sc = Scenario.parse("""
                name: isolate-leader
                placement: external
                duration: 60s
                seed: 4
                workload: {apiRequestsPerSecond: 60, burstsPerDay: 0}
                faults:
                  - {at: 6s, transferLeader: etcd3}
                  - {at: 15s, isolate: etcd3, for: 5s}
                  - {at: 30s, partition: etcd1, to: etcd2, for: 5s}
                  - {at: 45s, partition: etcd1, to: etcd2, for: 5s}
                  - {at: 45s, isolate: etcd3, for: 5s}
                """, "inline");
        SimResult r = sc.build().run(null);
        String replay = "\nreplay: MembershipScenarioTest (seed 4)\n" + r.toJson();
        List<SimResult.FaultRecord> f = r.faults();
        SimResult.FaultRecord isolated = f.stream().filter(x -> x.fault().equals("isolate etcd3 for 5s")).findFirst().orElseThrow();
        // The stale leader etcd3 is cut off, but etcd1 and etcd2 reach each other: 2 of 3 can commit.
        assertEquals(2, isolated.up(), replay);
        assertEquals(0, isolated.faultTolerance(), replay);
        assertEquals(0, isolated.minFaultToleranceUntilNext(), "no moment without quorum" + replay);
        // Followers cut from each other still both reach the leader etcd3 (Raft needs no follower-follower link).
        SimResult.FaultRecord pair = f.stream().filter(x -> x.atNanos() == 30_000_000_000L).findFirst().orElseThrow();
        assertEquals(3, pair.up(), replay);
        // Both at once: no member reaches another both ways, quorum is lost for those 5 s and only then.
        SimResult.FaultRecord both = f.stream().filter(x -> x.fault().equals("isolate etcd3 for 5s") && x.atNanos() == 45_000_000_000L)
                .findFirst().orElseThrow();
        assertEquals(1, both.up(), replay);
        assertEquals(-1, both.faultTolerance(), replay);
        assertTrue(r.quorumLostSeconds() >= 4.9 && r.quorumLostSeconds() <= 5.1, r.quorumLostSeconds() + replay);
    }
}
