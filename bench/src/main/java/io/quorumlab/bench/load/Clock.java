package io.quorumlab.bench.load;

import java.util.concurrent.locks.LockSupport;

/** Time for the load driver; tests drive the worker loop with a fake one (no wall time in assertions). */
public interface Clock {
    long nanoTime();

    /** Returns at or after {@code nanos} (on this clock's time line). */
    void sleepUntil(long nanos) throws InterruptedException;

    Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleepUntil(long nanos) throws InterruptedException {
            long left;
            while ((left = nanos - System.nanoTime()) > 0) {
                LockSupport.parkNanos(left);
                if (Thread.interrupted()) throw new InterruptedException();
            }
        }
    };
}
