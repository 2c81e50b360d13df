package io.quorumlab.bench.load;

/** One client's request loop body. Throws {@code StatusRuntimeException} on a failed call. */
public interface Operation {
    /**
     * Performs request {@code ticket}.
     *
     * @param dueNanos when the request was due (open loop) or sent (closed loop), on the driver's clock
     * @return the index of the series the request belongs to (0 for single-kind workloads)
     */
    int run(long ticket, long dueNanos, Outcome outcome);

    /** Lets an operation name its series before a call that may throw, so errors land in the right one. */
    final class Outcome {
        int series;

        public void series(int index) {
            series = index;
        }
    }
}
