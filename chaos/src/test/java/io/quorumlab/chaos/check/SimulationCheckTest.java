package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Short faulty simulations, each checked by the linearizability and watch checkers: kills with
 * unsynced-data loss, isolations and disk stalls, on stacked and external placement. CI runs
 * {@value #DEFAULT_SEEDS} seeds; {@code -Dchaos.seeds=N} widens the sweep, {@code -Dchaos.seed=S}
 * replays one seed. A failure prints the seed, its faults, and the command that replays it.
 */
class SimulationCheckTest {
    static final int DEFAULT_SEEDS = 200;
    static final long SECOND = 1_000_000_000L;
    static final long DURATION = 20 * SECOND;

    /** A light API-server load (so the checked clients dominate), same shape as the default. */
    static final Workload LIGHT = new Workload(15, 0.6, 0.35, 2500, 1500, 0.6, 0, 15, 3, 3L << 30, 80);

    static String replay(long seed) {
        return "mvn -B -o -pl chaos -am test -Dtest=SimulationCheckTest -Dsurefire.failIfNoSpecifiedTests=false -Dchaos.seed=" + seed;
    }

    /** The run of one seed: placement, faults and timing all drawn from the seed. */
    static Run run(long seed) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
        boolean stacked = (seed & 1) == 0;
        ClusterSimulation.Params p = (stacked ? ClusterSimulation.Params.stacked(DURATION, seed)
                : ClusterSimulation.Params.dedicatedNvme(DURATION, seed)).withWorkload(LIGHT);
        ClusterSimulation sim = new ClusterSimulation(p);
        sim.build();
        List<String> names = new ArrayList<>(sim.members().keySet());
        List<Scenario.Fault> faults = new ArrayList<>();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            long at = 4 * SECOND + (long) (r.nextDouble() * 13 * SECOND);
            String m = names.get(r.nextInt(names.size()));
            long len = (long) ((0.3 + r.nextDouble() * 3.7) * SECOND);
            int kind = r.nextInt(3);
            if (kind == 0) faults.add(new Scenario.Kill(at, m, len));
            else if (kind == 1) faults.add(new Scenario.Isolate(at, m, len));
            else faults.add(new Scenario.DiskStall(at, m, len));
        }
        for (Scenario.Fault f : faults) sim.schedule(f);
        sim.run(null);
        return new Run(seed, p.placement().name(), faults, sim.checkReport());
    }

    record Run(long seed, String placement, List<Scenario.Fault> faults, CheckReport report) {
        String describe() {
            StringBuilder sb = new StringBuilder("seed " + seed + " (" + placement + ", faults " + faults + "): " + report.summary());
            for (String v : report.violations()) sb.append("\n  VIOLATION ").append(v);
            for (String u : report.unknowns()) sb.append("\n  UNKNOWN ").append(u);
            return sb.append("\nreplay: ").append(replay(seed)).toString();
        }
    }

    @Test
    void faultySimulationsHaveNoViolations() {
        String one = System.getProperty("chaos.seed");
        List<Long> seeds = new ArrayList<>();
        if (one != null && !one.isBlank()) {
            seeds.add(Long.parseLong(one.trim()));
        } else {
            int count = Integer.getInteger("chaos.seeds", DEFAULT_SEEDS);
            for (long s = 1; s <= count; s++) seeds.add(s);
        }
        long ops = 0, ambiguous = 0, events = 0, unknown = 0;
        List<String> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (long seed : seeds) {
            Run run;
            try {
                run = run(seed);
            } catch (RuntimeException | AssertionError e) {
                failures.add("seed " + seed + " crashed the simulation: " + e + "\nreplay: " + replay(seed));
                e.printStackTrace();
                continue;
            }
            CheckReport rep = run.report();
            ops += rep.ops();
            ambiguous += rep.ambiguousOps();
            events += rep.watchEvents();
            unknown += rep.unknowns().size();
            if (!rep.ok()) {
                failures.add(run.describe());
                System.err.println("FAILED " + run.describe());
            }
            if (seeds.size() == 1) System.out.println(run.describe());
        }
        System.out.printf("%d seeds in %.1f s: %d ops (%d ambiguous), %d watch events, %d unknown partitions, %d failing seeds%n",
                seeds.size(), (System.nanoTime() - t0) / 1e9, ops, ambiguous, events, unknown, failures.size());
        if (!failures.isEmpty()) fail(failures.size() + " seeds failed; first:\n" + failures.get(0));
        assertTrue(ops > 100L * seeds.size(), "the checked clients should have done real work: " + ops + " ops");
        assertTrue(events > 0, "watchers saw no events");
    }
}
