package io.quorumlab.chaos.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The checkers' verdict on one run: how much was checked, every violation (the first
 * {@link #MAX_LISTED} in full), and the partitions whose search ran out of budget ("unknown").
 */
public record CheckReport(int windows, long ops, long ambiguousOps, long rejectedOps, long partitions, long searchSteps,
                          long watchSessions, long watchEvents, long violationCount, List<String> violations,
                          List<String> unknowns, String replay) {
    public static final int MAX_LISTED = 20;

    public CheckReport {
        violations = List.copyOf(violations);
        unknowns = List.copyOf(unknowns);
        replay = replay == null ? "" : replay;
    }

    /** The same verdict, naming the command that replays the run (a bundled placement or scenario). */
    public CheckReport withReplay(String scenario, long seed, long durationNanos) {
        String what = scenario.equals("stacked") || scenario.equals("dedicated-nvme") ? "--placement " + scenario
                : "chaos/scenarios/" + scenario + ".yaml";
        String cmd = "quorumlab sim run " + what + " --seed " + seed + " --duration " + durationNanos / 1_000_000_000L + "s";
        return new CheckReport(windows, ops, ambiguousOps, rejectedOps, partitions, searchSteps, watchSessions, watchEvents,
                violationCount, violations, unknowns, cmd);
    }

    public boolean ok() {
        return violationCount == 0;
    }

    /** One line for logs and test output. */
    public String summary() {
        return String.format(Locale.ROOT,
                "checked %d windows: %d ops (%d ambiguous, %d rejected before proposal) in %d partitions, %d search steps; "
                        + "%d watch sessions, %d events; %d violations, %d unknown",
                windows, ops, ambiguousOps, rejectedOps, partitions, searchSteps, watchSessions, watchEvents, violationCount,
                unknowns.size());
    }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder(summary());
        for (String v : violations) sb.append("\n  VIOLATION ").append(v);
        if (violationCount > violations.size()) sb.append("\n  ... ").append(violationCount - violations.size()).append(" more");
        for (String u : unknowns) sb.append("\n  UNKNOWN ").append(u);
        if (!ok() && !replay.isEmpty()) sb.append("\n  replay: ").append(replay);
        return sb.toString();
    }

    /** Accumulates window verdicts (bounded: only the first violations are kept in full). */
    static final class Builder {
        int windows;
        long ops, ambiguous, rejected, partitions, steps, sessions, events, violationCount;
        final List<String> violations = new ArrayList<>();
        final List<String> unknowns = new ArrayList<>();

        void violation(String v) {
            violationCount++;
            if (violations.size() < MAX_LISTED) violations.add(v);
        }

        void unknown(String u) {
            if (unknowns.size() < MAX_LISTED) unknowns.add(u);
        }

        CheckReport build() {
            return new CheckReport(windows, ops, ambiguous, rejected, partitions, steps, sessions, events, violationCount,
                    violations, unknowns, "");
        }
    }
}
