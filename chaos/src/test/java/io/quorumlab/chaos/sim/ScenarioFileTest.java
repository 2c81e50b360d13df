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
        assertTrue(files.size() >= 5, "bundled scenarios: " + files);
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
}
