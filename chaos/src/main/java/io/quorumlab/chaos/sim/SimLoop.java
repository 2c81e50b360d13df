package io.quorumlab.chaos.sim;

import java.util.ArrayDeque;

/**
 * One of a member's loops (member or apply) in virtual time. Tasks run one at a time; while a task
 * runs, time seen by the member advances by the I/O it waits for (an fsync parks the loop until the
 * modelled device completes it), and the loop stays busy until then: events for it wait, exactly
 * like a real thread blocked in fdatasync.
 */
final class SimLoop {
    /** Modelled CPU cost of one task (Raft step, apply of a batch); keeps virtual time honest. */
    private final long taskCostNanos;
    private final Sim sim;
    private final String name;
    private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
    private final int maxPending;
    /** {@link #runOne} as one object, not a new method reference per scheduling. */
    private final Runnable runOneTask = this::runOne;
    private boolean scheduled;
    private boolean running;
    private boolean dead;
    private long busyUntil;
    /** While a task runs: the loop's own clock, which I/O waits advance. */
    private long taskClock;

    SimLoop(Sim sim, String name, long taskCostNanos, int maxPending) {
        this.sim = sim;
        this.name = name;
        this.taskCostNanos = taskCostNanos;
        this.maxPending = maxPending;
    }

    void submit(Runnable task) {
        if (dead) return;
        if (pending.size() >= maxPending) {
            throw new IllegalStateException("loop " + name + " queue overflow (" + maxPending + ") at t=" + sim.now());
        }
        pending.add(task);
        ensureScheduled();
    }

    private void ensureScheduled() {
        if (scheduled || running || pending.isEmpty() || dead) return;
        scheduled = true;
        sim.at(Math.max(sim.now(), busyUntil), runOneTask);
    }

    private void runOne() {
        scheduled = false;
        if (dead) return;
        Runnable task = pending.poll();
        if (task == null) return;
        running = true;
        taskClock = sim.now();
        SimLoop outer = sim.current;
        sim.current = this;
        try {
            task.run();
        } finally {
            sim.current = outer;
            running = false;
            busyUntil = taskClock + taskCostNanos;
        }
        ensureScheduled();
    }

    boolean running() {
        return running;
    }

    /** The time as this loop sees it: inside a task, after the I/O it has waited for. */
    long clock() {
        return running ? taskClock : sim.now();
    }

    /** The running task waits until {@code t} (an fsync completing). */
    void waitUntil(long t) {
        if (!running) throw new IllegalStateException("waitUntil outside a task on " + name);
        if (t > taskClock) taskClock = t;
    }

    void kill() {
        dead = true;
        pending.clear();
    }

    int queued() {
        return pending.size();
    }
}
