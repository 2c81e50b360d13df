package io.quorumlab.bench.load;

import io.quorumlab.bench.report.RunResult;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * The simple closed-loop put / point-range entry point ({@code quorumlab demo} and older callers); every
 * workload, open loop and the other outputs go through {@link Driver} directly.
 */
public final class LoadGenerator {
    public enum Op { PUT, RANGE_LINEARIZABLE, RANGE_SERIALIZABLE }

    /** @param keySpace distinct keys written/read; @param valueBytes bytes per put */
    public record Spec(List<String> endpoints, Op op, int clients, int conns, long durationNanos, int keySpace,
                       int keyBytes, int valueBytes, long seed) {
        public Spec {
            if (endpoints.isEmpty() || clients <= 0 || conns <= 0 || durationNanos <= 0 || keySpace <= 0) {
                throw new IllegalArgumentException("bad load spec " + this);
            }
        }
    }

    /** What a run measured. Latencies in milliseconds. */
    public record Result(Op op, int clients, double seconds, long ok, Map<String, Long> errors, double qps, double meanMs,
                         double p50Ms, double p90Ms, double p99Ms, double p999Ms, double maxMs, RunResult run) {
        /** The demo's one-row table (op, clients, qps, latencies); {@code run().table()} has every series. */
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "%-20s %8s %10s %8s %8s %8s %8s %8s %8s%n", "op", "clients", "qps",
                    "mean", "p50", "p90", "p99", "p99.9", "max"));
            sb.append(String.format(Locale.ROOT, "%-20s %8d %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f  (ms)%n",
                    op.name().toLowerCase(Locale.ROOT), clients, qps, meanMs, p50Ms, p90Ms, p99Ms, p999Ms, maxMs));
            if (!errors.isEmpty()) sb.append("errors: ").append(errors).append('\n');
            return sb.toString();
        }

        public String json() {
            return run.json();
        }
    }

    private LoadGenerator() {}

    public static Workload workload(Op op, int keyBytes, int valueBytes, int keySpace) {
        return switch (op) {
            case PUT -> KvWorkloads.put(keyBytes, valueBytes, keySpace, false);
            case RANGE_LINEARIZABLE -> KvWorkloads.range(null, null, "l", 0, keyBytes, keySpace);
            case RANGE_SERIALIZABLE -> KvWorkloads.range(null, null, "s", 0, keyBytes, keySpace);
        };
    }

    /** Runs the load; {@code progress} receives elapsed nanoseconds about every 250 ms. */
    public static Result run(Spec spec, LongConsumer progress) throws InterruptedException {
        LoadConfig cfg = new LoadConfig(spec.endpoints(), spec.clients(), spec.conns(), 0, spec.durationNanos(), 0, null, null, spec.seed());
        RunResult r = Driver.run(workload(spec.op(), spec.keyBytes(), spec.valueBytes(), spec.keySpace()), cfg,
                progress == null ? null : p -> progress.accept(Math.min(p.elapsedNanos(), spec.durationNanos())));
        RunResult.SeriesResult s = r.primary();
        return new Result(spec.op(), spec.clients(), r.seconds(), s.ok(), s.errors(), s.qps(), s.meanMs(), s.p50Ms(), s.p90Ms(),
                s.p99Ms(), s.p999Ms(), s.maxMs(), r);
    }

}
