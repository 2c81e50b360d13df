package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.Workload;
import io.quorumlab.raft.StateRole;
import io.quorumlab.server.member.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Short faulty simulations, each checked by the linearizability and watch checkers: kills with
 * unsynced-data loss or a torn last write, process restarts, isolations, one-way partitions, disk stalls
 * and link-latency steps (of a random member or of the leader of the moment),
 * on stacked and external placement. CI runs
 * {@value #DEFAULT_SEEDS} seeds; {@code -Dchaos.seeds=N} (and {@code -Dchaos.firstSeed=F}) widens the sweep, {@code -Dchaos.seed=S}
 * replays one seed ({@code S1,S2,...} several), {@code -Dchaos.budget=STEPS} sets the search budget per partition.
 * A failure prints the seed, its faults, and the command that replays it; so does a seed with an undecided partition.
 */
class SimulationCheckTest {
    static final int DEFAULT_SEEDS = 200;
    static final long SECOND = 1_000_000_000L;
    static final long DURATION = 20 * SECOND;

    /** A light API-server load (so the checked clients dominate), same shape as the default. */
    static final Workload LIGHT = new Workload(15, 0.6, 0.35, 2500, 1500, 0.6, 0, 15, 3, 3L << 30, 80);

    /**
     * The default checked clients with 4x the search budget: a window whose faults (an isolated leader
     * with another member cut off) leave ~80 writes ambiguous on three keys needs 4.4M steps (seed 117 of
     * the earlier fault mix: "unknown" at the default 2M, linearizable at 4.4M); an unknown partition
     * fails this test. (Since the search skips lost-answer no-ops and tries definite operations first,
     * the 21 partitions of seeds 101311..104310 that were unknown at 8M take at most ~1M steps.)
     */
    static final CheckedWorkload.Config CHECKER;

    static {
        CheckedWorkload.Config d = CheckedWorkload.Config.defaults();
        CHECKER = new CheckedWorkload.Config(d.clients(), d.singleKeys(), d.watchers(), d.firstWindowAtNanos(), d.windowNanos(),
                d.periodNanos(), d.denseUntilNanos(), d.thinkMeanNanos(),
                Long.getLong("chaos.budget", 4 * LinearizabilityChecker.DEFAULT_BUDGET));
    }

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
        sim.checkerConfig(CHECKER);
        sim.build();
        List<String> names = new ArrayList<>(sim.members().keySet());
        List<String> faults = new ArrayList<>();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            long at = 4 * SECOND + (long) (r.nextDouble() * 13 * SECOND);
            String m = names.get(r.nextInt(names.size()));
            long len = (long) ((0.3 + r.nextDouble() * 3.7) * SECOND);
            int kind = r.nextInt(9);
            Scenario.Fault f = null;
            if (kind == 0) f = new Scenario.Kill(at, m, len);
            else if (kind == 6) f = new Scenario.Kill(at, m, len, true);
            else if (kind == 7) f = new Scenario.Restart(at, m, len);
            else if (kind == 8) f = new Scenario.Partition(at, m, otherThan(names, m, r), true, len);
            else if (kind == 1) f = new Scenario.Isolate(at, m, len);
            else if (kind == 2) f = new Scenario.DiskStall(at, m, len);
            else if (kind == 5) f = new Scenario.LinkLatency(at, m, null, false, (long) ((0.02 + r.nextDouble() * 1.5) * 1_000_000_000L), len);
            else if (kind == 3) sim.sim().at(at, () -> killLeader(sim, len));
            else sim.sim().at(at, () -> isolateLeader(sim, len));
            if (f != null) sim.schedule(f);
            faults.add(f != null ? f.toString() : (kind == 3 ? "KillLeader" : "IsolateLeader") + "[at=" + at + ", for=" + len + "]");
        }
        sim.run(null);
        return new Run(seed, p.placement().name(), faults, sim.checkReport());
    }

    /**
     * Runs a seed on a thread of its own, so that nothing a run leaves in thread-locals outlives it.
     * (This found a real leak: Wal kept a per-instance ThreadLocal whose value referenced the Wal, so
     * every Wal a long-lived thread used stayed reachable, ~110 MB a run; fixed in Wal, guarded by
     * GroupCommitTest#aClosedWalIsNotKeptAliveByTheThreadThatUsedIt.)
     */
    static Run runOnOwnThread(long seed) {
        Run[] out = new Run[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                out[0] = run(seed);
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "sim-seed-" + seed);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (failure[0] instanceof RuntimeException re) throw re;
        if (failure[0] instanceof Error er) throw er;
        if (failure[0] != null) throw new IllegalStateException(failure[0]);
        return out[0];
    }

    /** The member leading now (highest term), or null during an election. */
    static String leader(ClusterSimulation sim) {
        String leader = null;
        long term = -1;
        for (Map.Entry<String, Member> e : sim.members().entrySet()) {
            Member m = e.getValue();
            if (!m.isStopped() && m.role() == StateRole.LEADER && m.term() > term) {
                leader = e.getKey();
                term = m.term();
            }
        }
        return leader;
    }

    static void killLeader(ClusterSimulation sim, long downNanos) {
        String l = leader(sim);
        if (l != null) sim.crashMember(l, downNanos);
    }

    /** Isolates the leader of the moment as a scheduled isolation would (its end restores only its own cuts). */
    static void isolateLeader(ClusterSimulation sim, long forNanos) {
        String l = leader(sim);
        if (l == null) return;
        sim.schedule(new Scenario.Isolate(sim.sim().now(), l, forNanos));
    }

    static String otherThan(List<String> names, String m, SplittableRandom r) {
        int i = names.indexOf(m);
        return names.get((i + 1 + r.nextInt(names.size() - 1)) % names.size());
    }

    record Run(long seed, String placement, List<String> faults, CheckReport report) {
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
            for (String s : one.split(",")) seeds.add(Long.parseLong(s.trim()));
        } else {
            int count = Integer.getInteger("chaos.seeds", DEFAULT_SEEDS);
            long first = Long.getLong("chaos.firstSeed", 1);
            for (long s = first; s < first + count; s++) seeds.add(s);
        }
        long ops = 0, ambiguous = 0, events = 0, unknown = 0;
        List<String> failures = new ArrayList<>();
        List<String> unknowns = new ArrayList<>();
        long t0 = System.nanoTime();
        for (long seed : seeds) {
            Run run;
            try {
                run = runOnOwnThread(seed);
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
            if (!rep.unknowns().isEmpty()) {
                unknowns.add(run.describe());
                System.err.println("UNDECIDED " + run.describe());
            }
            if (!rep.ok()) {
                failures.add(run.describe());
                System.err.println("FAILED " + run.describe());
            }
            if (seeds.size() == 1 || Boolean.getBoolean("chaos.verbose")) System.out.println(run.describe());
        }
        System.out.printf("%d seeds in %.1f s: %d ops (%d ambiguous), %d watch events, %d unknown partitions, %d failing seeds%n",
                seeds.size(), (System.nanoTime() - t0) / 1e9, ops, ambiguous, events, unknown, failures.size());
        if (!failures.isEmpty()) fail(failures.size() + " seeds failed; first:\n" + failures.get(0));
        // A partition the search could not decide was not checked: raise CHECKER's budget or find what blew it up.
        if (!unknowns.isEmpty()) fail(unknowns.size() + " seeds left partitions unchecked (search budget); first:\n" + unknowns.get(0));
        assertTrue(ops > 100L * seeds.size(), "the checked clients should have done real work: " + ops + " ops");
        assertTrue(events > 0, "watchers saw no events");
    }
}
