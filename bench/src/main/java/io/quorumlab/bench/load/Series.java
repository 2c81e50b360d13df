package io.quorumlab.bench.load;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * One measured kind of request (e.g. "put", or "read" and "write" of txn-mixed): latencies into an
 * HdrHistogram recorder (any thread), successes, and errors by gRPC status code. The driver's reporter
 * thread alone moves interval histograms into {@link #total()}.
 */
public final class Series {
    /** Latencies above this are clamped (an hour): a bound, not a realistic value. */
    static final long MAX_LATENCY_NANOS = 3_600_000_000_000L;

    private final String name;
    private final Recorder recorder = new Recorder(MAX_LATENCY_NANOS, 3);
    private final Histogram total = new Histogram(MAX_LATENCY_NANOS, 3);
    private final LongAdder ok = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private Histogram recycled;

    public Series(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** A success that took {@code latencyNanos} (from its due time in open loop). */
    public void ok(long latencyNanos) {
        recorder.recordValue(Math.max(1, Math.min(MAX_LATENCY_NANOS, latencyNanos)));
        ok.increment();
    }

    /** A failure, by gRPC status code name (or another upper-case reason). */
    public void error(String code) {
        errors.computeIfAbsent(code, k -> new LongAdder()).increment();
    }

    public long okCount() {
        return ok.sum();
    }

    public long errorCount() {
        long n = 0;
        for (LongAdder a : errors.values()) n += a.sum();
        return n;
    }

    public Map<String, Long> errors() {
        Map<String, Long> out = new TreeMap<>();
        errors.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /** Moves what was recorded since the last call into the total; returns that interval (reporter thread only). */
    Histogram drainInterval() {
        Histogram interval = recorder.getIntervalHistogram(recycled);
        total.add(interval);
        recycled = interval;
        return interval;
    }

    /** Everything drained so far (reporter thread only, or after the run). */
    Histogram total() {
        return total;
    }
}
