package io.quorumlab.chaos.sim;

import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The simulated world's clock and event queue. One thread runs everything: members, links, disks
 * and clients. Events at the same virtual time run in the order they were scheduled, so a run is a
 * pure function of the scenario and the seed.
 */
public final class Sim {
    private record Event(long at, long seq, Runnable task) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** A hard bound on queued events: a runaway model fails loudly instead of eating the heap. */
    public static final int MAX_EVENTS = 20_000_000;

    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final SplittableRandom random;
    private long now;
    private long seq;
    /** The loop whose task is running, if any: its clock includes the I/O the task has waited for. */
    SimLoop current;
    private long executed;

    public Sim(long seed) {
        this.random = new SplittableRandom(seed);
    }

    public long now() {
        return now;
    }

    /** The time as seen by whoever runs now: a loop's task clock inside a task, else the event time. */
    public long clock() {
        return current != null ? current.clock() : now;
    }

    public long executedEvents() {
        return executed;
    }

    /** A new independent random stream (one per model component, split in a fixed order). */
    public SplittableRandom split() {
        return random.split();
    }

    public void at(long timeNanos, Runnable task) {
        if (timeNanos < now) timeNanos = now;
        if (queue.size() >= MAX_EVENTS) throw new IllegalStateException("simulator event queue overflow at t=" + now);
        queue.add(new Event(timeNanos, seq++, task));
    }

    public void after(long delayNanos, Runnable task) {
        at(now + delayNanos, task);
    }

    /** Runs events until the queue is empty or the next event is after {@code untilNanos}. */
    public void runUntil(long untilNanos) {
        while (!queue.isEmpty() && queue.peek().at() <= untilNanos) {
            Event e = queue.poll();
            now = e.at();
            executed++;
            e.task().run();
        }
        if (now < untilNanos) now = untilNanos;
    }
}
