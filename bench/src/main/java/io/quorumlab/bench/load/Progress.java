package io.quorumlab.bench.load;

/**
 * A snapshot of a running load for a progress display.
 *
 * @param done requests answered (ok or error)
 * @param total requests to send, or -1 for a timed run
 * @param durationNanos length of a timed run, or -1
 */
public record Progress(String workload, long done, long total, long errors, long elapsedNanos, long durationNanos) {
    /** 0..1: by count for counted runs, by time for timed runs. */
    public double fraction() {
        if (total > 0) return Math.min(1, done / (double) total);
        if (durationNanos > 0) return Math.min(1, elapsedNanos / (double) durationNanos);
        return 0;
    }
}
