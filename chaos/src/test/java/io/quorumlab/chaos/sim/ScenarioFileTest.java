package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The bundled scenarios parse, bad ones are refused clearly, and faults on the timeline take effect. */
class ScenarioFileTest {
    static final Path DIR = Path.of("scenarios");

    @Test
    void bundledScenariosParse() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 6, "bundled scenarios: " + files);
        assertTrue(files.contains(DIR.resolve("migrate-stacked-to-external.yaml")), files.toString());
        for (Path f : files) {
            Scenario sc = Scenario.load(f);
            assertTrue(sc.params().durationNanos() > 0, f.toString());
            // Building checks fault targets against the cluster's members and nodes.
            sc.build();
        }
    }

    @Test
    void badScenariosAreRefusedWithAReason() {
        assertThrows(IllegalArgumentException.class, () -> Scenario.parse("placement: moon", "t"));
        assertThrows(IllegalArgumentException.class, () -> Scenario.parse("duration: soon", "t"));
        assertThrows(IllegalArgumentException.class, () -> Scenario.parse("faults: [{at: 1m, explode: cp1}]", "t"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Scenario.parse("faults: [{at: 1m, kill: nobody}]", "t").build());
        assertTrue(e.getMessage().contains("no member nobody"), e.getMessage());
        assertEquals(90_000_000_000L, Scenario.duration("90s"));
        assertEquals(1_500_000_000L, Scenario.duration("1500ms"));
    }

    @Test
    void requestWeightParsesAndIsBounded() {
        Scenario sc = Scenario.parse("workload: {requestWeight: 20, apiRequestsPerSecond: 100}", "t");
        assertEquals(20, sc.params().workload().requestWeight());
        assertEquals(100, sc.params().workload().apiRequestsPerSecond());
        assertEquals(1, Scenario.parse("placement: stacked", "t").params().workload().requestWeight());
        refused("workload: {requestWeight: 0}", "requestWeight must be 1..1000");
        refused("workload: {requestWeight: 2.5}", "requestWeight must be an integer");
        // The weighted value must still be an etcd request etcd would accept.
        refused("workload: {valueBytes: 2000000}", "1.5 MiB request limit");
        assertEquals(1000, Scenario.parse("workload: {requestWeight: 1000, valueBytes: 1500}", "t").params().workload().requestWeight(),
                "a weighted value is charged on the device, not carried: any weight fits the request limit");
    }

    @Test
    void externalRttIsAScenarioKey() {
        assertEquals(300_000L, Scenario.parse("placement: external", "t").params().externalExtraRttNanos(), "default 0.3 ms");
        assertEquals(500_000L, Scenario.parse("placement: external\nexternalRtt: 0.5ms", "t").params().externalExtraRttNanos());
        refused("placement: external\nexternalRtt: 1s", "externalRtt must be at most 50ms");
        refused("placement: external\nexternalRtt: -1ms", "externalRtt must not be negative");
    }

    @Test
    void newFaultsParse() {
        Scenario sc = Scenario.parse("""
                placement: stacked
                faults:
                  - {at: 1m, restart: cp2, downFor: 10s}
                  - {at: 2m, partition: cp1, to: cp3, for: 30s}
                  - {at: 3m, partition: cp1, to: cp3, oneWay: true, for: 5s}
                  - {at: 4m, transferLeader: any}
                  - {at: 5m, transferLeader: cp2}
                  - {at: 6m, addMember: etcd1, disk: ssd}
                  - {at: 7m, addMember: etcd2, as: voter}
                  - {at: 8m, promoteMember: etcd1}
                  - {at: 9m, removeMember: cp1}
                  - {at: 10m, linkLatency: cp2, add: 50ms, for: 1m}
                  - {at: 11m, linkLatency: cp2, to: cp3, oneWay: true, add: 5ms, for: 30s}
                """, "t");
        assertEquals(List.of(new Scenario.Restart(60_000_000_000L, "cp2", 10_000_000_000L),
                new Scenario.Partition(120_000_000_000L, "cp1", "cp3", false, 30_000_000_000L),
                new Scenario.Partition(180_000_000_000L, "cp1", "cp3", true, 5_000_000_000L),
                new Scenario.TransferLeader(240_000_000_000L, "any"),
                new Scenario.TransferLeader(300_000_000_000L, "cp2"),
                new Scenario.AddMember(360_000_000_000L, "etcd1", true, "ssd"),
                new Scenario.AddMember(420_000_000_000L, "etcd2", false, "nvme"),
                new Scenario.PromoteMember(480_000_000_000L, "etcd1"),
                new Scenario.RemoveMember(540_000_000_000L, "cp1"),
                new Scenario.LinkLatency(600_000_000_000L, "cp2", null, false, 50_000_000L, 60_000_000_000L),
                new Scenario.LinkLatency(660_000_000_000L, "cp2", "cp3", true, 5_000_000L, 30_000_000_000L)), sc.faults());
        assertEquals("link latency +50ms on all links of cp2 for 1m", sc.faults().get(9).describe());
        assertEquals("link latency +5ms on cp2 -> cp3 for 30s", sc.faults().get(10).describe());
        // Later faults may name members that earlier ones add.
        sc.build();
    }

    @Test
    void badNewFaultsAreRefusedWithAReason() {
        refused("faults: [{at: 1m, transferLeader: ''}]", "transferLeader needs a member");
        refused("faults: [{at: 1m, addMember: etcd1, as: observer}]", "as must be learner or voter");
        refused("faults: [{at: 1m, addMember: etcd1, disk: floppy}]", "unknown disk profile");
        refused("faults: [{at: 1m, partition: cp1}]", "partition needs to: MEMBER");
        refused("faults: [{at: 1m, partition: cp1, to: cp1}]", "two different members");
        refused("faults: [{at: 1m, partition: cp1, to: cp2, oneWay: maybe}]", "oneWay must be true or false");
        refused("faults: [{at: 1m, restart: cp1, downFor: -5s}]", "downFor must not be negative");
        refused("faults: [{at: 1m, isolate: cp1, for: 0s}]", "for must be positive");
        refused("faults: [{at: 1m, kill: 'CP 1'}]", "needs a member or node name");
        refused("faults: [{at: 1m, kill: cp1, removeMember: cp2}]", "one fault per entry");
        refused("faults: [{at: 1m, restart: cp1, downFor: soon}]", "bad duration");
        builtRefused("faults: [{at: 1m, promoteMember: etcd9}]", "no member etcd9");
        builtRefused("faults: [{at: 1m, addMember: cp1}]", "member cp1 already exists");
        builtRefused("faults: [{at: 1m, removeMember: etcd1}, {at: 2m, addMember: etcd1}]", "no member etcd1");
        builtRefused("faults: [{at: 1m, transferLeader: cp7}]", "no member cp7");
        builtRefused("faults: [{at: 2m, addMember: etcd1}, {at: 1m, kill: etcd1}]", "member etcd1 is added at d0 00:02:00");
        refused("seed: seven", "seed must be an integer");
        refused("faults: [{at: 1m, linkLatency: cp1, oneWay: true}]", "oneWay needs to: MEMBER");
        refused("faults: [{at: 1m, linkLatency: cp1, to: cp1}]", "two different members");
        refused("faults: [{at: 1m, linkLatency: cp1, add: 0ms}]", "add must be positive");
        builtRefused("faults: [{at: 1m, linkLatency: cp1, to: cp9}]", "no member cp9");
        builtRefused("faults: [{at: 1m, partition: cp1, to: cp9}]", "no member cp9");
    }

    @Test
    void typosAndMisshapenSectionsAreRefusedWithTheAllowedKeys() {
        refused("foo: bar\n", "unknown key \"foo\" in scenario (allowed: name, placement, members, etcdDisk, duration, seed, workload, loss, externalRtt, faults");
        refused("workload: {apiRequestPerSecond: 5}\n", "unknown key \"apiRequestPerSecond\" in workload (allowed: apiRequestsPerSecond,");
        refused("workload: {apiRequestsPerSecond: lots}\n", "apiRequestsPerSecond must be a number, not lots");
        refused("workload: {writeFraction: .nan}\n", "writeFraction must be a number");
        refused("workload: 5\n", "workload must be a mapping");
        refused("faults: {at: 1m, kill: cp1}\n", "faults must be a list");
        refused("faults: [{at: 1m, kill: cp1, downfor: 1s}]\n", "unknown key \"downfor\" in the kill fault (allowed: at, kill, downFor, torn)");
        refused("faults: [{at: 1m, isolate: cp1, downFor: 1s}]\n", "unknown key \"downFor\" in the isolate fault (allowed: at, isolate, for)");
        refused("faults: [{at: 1m, partition: cp1, to: cp2, oneway: true}]\n", "unknown key \"oneway\" in the partition fault");
        refused("faults: [{at: 1m, burst: true, for: 5m}]\n", "unknown key \"for\" in the burst fault (allowed: at, burst)");
        // Every key the Javadoc's example uses is accepted.
        Scenario.parse("""
                name: all
                placement: stacked
                members: 3
                etcdDisk: ssd
                duration: 30m
                seed: 7
                workload: {apiRequestsPerSecond: 250, etcdCallsPerApiRequest: 0.6, writeFraction: 0.3, auditBytesPerRequest: 100,
                           valueBytes: 900, dailyAmplitude: 0.5, burstsPerDay: 0, burstMinutes: 5, burstMultiplier: 2,
                           burstImageBytes: 1000000, burstImageMBps: 50, requestWeight: 1}
                faults:
                  - {at: 5m, kill: cp1, downFor: 30s}
                  - {at: 10m, isolate: cp2, for: 20s}
                  - {at: 20m, diskLatency: cp1, add: 20ms, for: 2m}
                  - {at: 23m, linkLatency: cp1, to: cp2, oneWay: true, add: 5ms, for: 1m}
                  - {at: 30m, addMember: etcd1, as: learner, disk: nvme}
                """, "all");
    }

    private static void refused(String yaml, String reason) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scenario.parse(yaml, "t"), yaml);
        assertTrue(e.getMessage().contains(reason), yaml + " -> " + e.getMessage());
    }

    private static void builtRefused(String yaml, String reason) {
        Scenario sc = Scenario.parse(yaml, "t");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, sc::build, yaml);
        assertTrue(e.getMessage().contains(reason), yaml + " -> " + e.getMessage());
    }

    @Test
    void aDiskStallOnTheLeaderCostsItLeadership() {
        // Seed 3: cp1 leads until it is killed at 1m; cp2 then leads and its disk stalls for 3 s at 90 s.
        // Replay: quorumlab sim run chaos/scenarios/node-loss-stacked.yaml --duration 2m
        Scenario sc = Scenario.parse("""
                name: stall
                placement: stacked
                duration: 2m
                seed: 3
                workload: {burstsPerDay: 0}
                faults:
                  - {at: 1m, kill: cp1, downFor: 30s}
                  - {at: 90s, diskStall: cp2, for: 3s}
                """, "inline");
        SimResult r = sc.build().run(null);
        assertTrue(r.leaderElections() >= 2, r.toJson());
        assertTrue(r.leaderChanges().stream().anyMatch(c -> c.cause().startsWith("fsync")), r.toJson());
        assertTrue(r.walFsyncMaxMs() >= 2900, "the stall shows in the WAL's fsync latency: " + r.toJson());
    }

    @Test
    void stalledFollowersAreNamedInTheChainWhenTheLeadersOwnDiskWasFine() {
        // Seed 3: etcd1 leads; both followers' disks stall for 3 s at 90 s, longer than the election timeout.
        SimResult r = followersHit("follower-stall", "diskStall: etcd2, for: 3s", "diskStall: etcd3, for: 3s");
        assertTrue(r.leaderElections() >= 1, r.toJson());
        assertTrue(r.leaderChanges().stream().anyMatch(c -> c.cause().startsWith("no slow fsync or fault on leader etcd1; fsync")
                && c.cause().contains("on member etcd2") && c.cause().contains("on member etcd3")), r.toJson());
        // The same with both followers killed for 10 s: the chain names the faults on them.
        SimResult k = followersHit("follower-kill", "kill: etcd2, downFor: 10s", "kill: etcd3, downFor: 10s");
        assertTrue(k.leaderChanges().stream().anyMatch(c -> c.cause().startsWith("no slow fsync or fault on leader etcd1; power loss on etcd2")
                && c.cause().contains("(member etcd2)") && c.cause().contains("(member etcd3)")), k.toJson());
    }

    /**
     * A 2-minute dedicated run, seed 3 (etcd1 leads), with two faults at 90 s.
     * Replay: quorumlab sim run SCENARIO (the YAML below) --output json
     */
    private static SimResult followersHit(String name, String fault1, String fault2) {
        return dedicated2m(name, "[{at: 90s, " + fault1 + "}, {at: 90s, " + fault2 + "}]");
    }

    @Test
    void aLatencyStepOnTheLeadersLinksIsPaidByEveryCommitAndALongOneCostsLeadership() {
        // Seed 3, dedicated: etcd1 leads from the start (the first election is not counted). A 5 ms step on
        // all its links from 10 s to the end adds one-way trips to every commit and every ReadIndex (up to
        // four each when the API server's member is a follower: forward, append, ack, commit notice).
        SimResult base = linkRun("no-step", "[]");
        SimResult step = linkRun("step-5ms", "[{at: 10s, linkLatency: etcd1, add: 5ms, for: 2m}]");
        assertEquals(0, step.leaderElections(), "a 5 ms step is far below the election timeout: " + step.toJson());
        assertEquals(0, base.leaderElections(), base.toJson());
        assertTrue(step.apiP99Ms() >= base.apiP99Ms() + 5, "API p99 " + base.apiP99Ms() + " -> " + step.apiP99Ms() + " ms: " + step.toJson());
        // 1.5 s one way is longer than the election timeout: heartbeats arrive too late, a follower
        // campaigns, and the chain names the step on the old leader.
        SimResult slow = linkRun("step-1500ms", "[{at: 90s, linkLatency: etcd1, add: 1500ms, for: 10s}]");
        assertTrue(slow.leaderElections() >= 1, slow.toJson());
        assertTrue(slow.leaderChanges().stream().anyMatch(c -> c.cause().startsWith("link latency +1500ms on all links of etcd1")
                && c.cause().contains("(leader etcd1)")), slow.toJson());
    }

    private static SimResult linkRun(String name, String faults) {
        return dedicated2m(name, faults);
    }

    /** A 2-minute dedicated run, seed 3 (etcd1 leads). Replay: quorumlab sim run SCENARIO (the YAML below) --output json */
    private static SimResult dedicated2m(String name, String faults) {
        return Scenario.parse("""
                name: %s
                placement: dedicated-nvme
                duration: 2m
                seed: 3
                workload: {burstsPerDay: 0}
                faults: %s
                """.formatted(name, faults), "inline").build().run(null);
    }
}
