package io.quorumlab.bench.load;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands out request tickets to the workers. Closed loop: a worker sends its next request when the previous
 * one answers. Open loop ({@code --rate R}): ticket {@code i} is due at {@code start + i/R} whatever the
 * server does, and its latency is measured from that due time, so a stalled server is charged for every
 * request it delayed, not only the one it held (coordinated omission, as in wrk2).
 */
public final class Schedule {
    private final long startNanos;
    private final long endNanos;
    private final long totalOps;
    private final double periodNanos;
    private final AtomicLong next = new AtomicLong();

    /**
     * @param totalOps tickets to hand out, or 0 for no limit (then {@code durationNanos} bounds the run)
     * @param durationNanos length of the run, or 0 for no limit (then {@code totalOps} bounds it)
     * @param ratePerSecond 0 for closed loop, else the open-loop request rate of all workers together
     */
    public Schedule(long startNanos, long totalOps, long durationNanos, double ratePerSecond) {
        if (totalOps < 0 || durationNanos < 0 || ratePerSecond < 0 || (totalOps == 0 && durationNanos == 0)) {
            throw new IllegalArgumentException("a run needs --total or --duration (and a rate >= 0)");
        }
        this.startNanos = startNanos;
        this.endNanos = durationNanos == 0 ? Long.MAX_VALUE : startNanos + durationNanos;
        this.totalOps = totalOps == 0 ? Long.MAX_VALUE : totalOps;
        this.periodNanos = ratePerSecond == 0 ? 0 : 1e9 / ratePerSecond;
    }

    public boolean openLoop() {
        return periodNanos > 0;
    }

    /** The next ticket, or -1 when the total has been handed out. */
    public long nextTicket() {
        long t = next.getAndIncrement();
        return t < totalOps ? t : -1;
    }

    /** When an open-loop ticket is due. */
    public long dueNanos(long ticket) {
        return startNanos + (long) (ticket * periodNanos);
    }

    public boolean pastEnd(long nanos) {
        return nanos - endNanos >= 0 && endNanos != Long.MAX_VALUE;
    }

    public long startNanos() {
        return startNanos;
    }

    /** Tickets handed out so far (capped at the total). */
    public long issued() {
        return Math.min(next.get(), totalOps);
    }

    /** The total, or -1 for a timed run. */
    public long totalOps() {
        return totalOps == Long.MAX_VALUE ? -1 : totalOps;
    }

    /** The run's length, or -1 for a counted run. */
    public long durationNanos() {
        return endNanos == Long.MAX_VALUE ? -1 : endNanos - startNanos;
    }
}
