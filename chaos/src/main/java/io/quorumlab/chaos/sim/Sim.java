package io.quorumlab.chaos.sim;

import java.util.SplittableRandom;

/**
 * The simulated world's clock and event queue. One thread runs everything: members, links, disks
 * and clients. Events at the same virtual time run in the order they were scheduled, so a run is a
 * pure function of the scenario and the seed.
 */
public final class Sim {
    /** A hard bound on queued events: a runaway model fails loudly instead of eating the heap. */
    public static final int MAX_EVENTS = 20_000_000;

    /*
     * Two structures hold the queue, and together they give exactly the order of one queue sorted by
     * (time, sequence number):
     * - events for the current instant ("now": a loop woken by a message, a task submitted to an idle
     *   loop) go to a FIFO ring, O(1), since they arrive in sequence order;
     * - later events go to a 4-ary min-heap over primitive keys: keys[2i] is the time of heap slot i
     *   and keys[2i+1] packs its sequence number (high bits) with the index of its task in a slab
     *   (low SLOT_BITS bits). Tasks never move once placed, so sifting moves only longs.
     * Nothing is allocated per event.
     */
    private static final int SLOT_BITS = 25;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    private static final long MAX_SEQ = Long.MAX_VALUE >>> SLOT_BITS;
    static { assert MAX_EVENTS <= SLOT_MASK; }

    private long[] keys = new long[2 * 1024];
    private int size;
    private Runnable[] slab = new Runnable[1024];
    private int[] freeSlots = new int[1024];
    private int freeCount;
    private int slabUsed;

    private long[] nowSeqs = new long[256];
    private Runnable[] nowTasks = new Runnable[256];
    private int nowHead;
    private int nowCount;

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

    /** Events queued now. */
    public int queuedEvents() {
        return size + nowCount;
    }

    /** A new independent random stream (one per model component, split in a fixed order). */
    public SplittableRandom split() {
        return random.split();
    }

    public void at(long timeNanos, Runnable task) {
        if (timeNanos < now) timeNanos = now;
        if (size + nowCount >= MAX_EVENTS) throw new IllegalStateException("simulator event queue overflow at t=" + now);
        if (seq >= MAX_SEQ) throw new IllegalStateException("simulator sequence numbers exhausted at t=" + now);
        long sq = seq++;
        if (timeNanos == now) {
            if (nowCount == nowTasks.length) growNow();
            int tail = (nowHead + nowCount) & (nowTasks.length - 1);
            nowSeqs[tail] = sq;
            nowTasks[tail] = task;
            nowCount++;
            return;
        }
        int slot = freeCount > 0 ? freeSlots[--freeCount] : newSlot();
        slab[slot] = task;
        if (2 * size == keys.length) keys = java.util.Arrays.copyOf(keys, 2 * keys.length);
        siftUp(size++, timeNanos, (sq << SLOT_BITS) | slot);
    }

    public void after(long delayNanos, Runnable task) {
        at(now + delayNanos, task);
    }

    /** Runs events until the queue is empty or the next event is after {@code untilNanos}. */
    public void runUntil(long untilNanos) {
        while (true) {
            Runnable task;
            if (nowCount > 0 && (size == 0 || keys[0] > now || (keys[1] >>> SLOT_BITS) > nowSeqs[nowHead])) {
                // The ring's head is the earliest event: it is at "now" and no heap event precedes it.
                if (now > untilNanos) break;
                task = nowTasks[nowHead];
                nowTasks[nowHead] = null;
                nowHead = (nowHead + 1) & (nowTasks.length - 1);
                nowCount--;
            } else if (size > 0 && keys[0] <= untilNanos) {
                now = keys[0];
                int slot = (int) (keys[1] & SLOT_MASK);
                task = slab[slot];
                slab[slot] = null;
                if (freeCount == freeSlots.length) freeSlots = java.util.Arrays.copyOf(freeSlots, 2 * freeCount);
                freeSlots[freeCount++] = slot;
                removeFirst();
            } else {
                break;
            }
            executed++;
            task.run();
        }
        if (now < untilNanos) now = untilNanos;
    }

    private int newSlot() {
        if (slabUsed == slab.length) slab = java.util.Arrays.copyOf(slab, 2 * slab.length);
        return slabUsed++;
    }

    private void growNow() {
        int n = nowTasks.length;
        long[] seqs = new long[2 * n];
        Runnable[] tasks = new Runnable[2 * n];
        for (int i = 0; i < nowCount; i++) {
            seqs[i] = nowSeqs[(nowHead + i) & (n - 1)];
            tasks[i] = nowTasks[(nowHead + i) & (n - 1)];
        }
        nowSeqs = seqs;
        nowTasks = tasks;
        nowHead = 0;
    }

    /** (time, packed) order; packed values order by sequence number, which is unique. */
    private static boolean less(long at1, long packed1, long at2, long packed2) {
        return at1 < at2 || (at1 == at2 && packed1 < packed2);
    }

    private void siftUp(int i, long at, long sq) {
        long[] k = keys;
        while (i > 0) {
            int parent = (i - 1) >>> 2;
            long pAt = k[2 * parent], pSeq = k[2 * parent + 1];
            if (!less(at, sq, pAt, pSeq)) break;
            k[2 * i] = pAt;
            k[2 * i + 1] = pSeq;
            i = parent;
        }
        k[2 * i] = at;
        k[2 * i + 1] = sq;
    }

    private void removeFirst() {
        int last = --size;
        long[] k = keys;
        long at = k[2 * last], sq = k[2 * last + 1];
        if (last == 0) return;
        int i = 0;
        while (true) {
            int first = 4 * i + 1;
            if (first >= last) break;
            int end = Math.min(first + 4, last);
            int best = first;
            long bAt = k[2 * first], bSeq = k[2 * first + 1];
            for (int c = first + 1; c < end; c++) {
                long cAt = k[2 * c], cSeq = k[2 * c + 1];
                if (less(cAt, cSeq, bAt, bSeq)) {
                    best = c;
                    bAt = cAt;
                    bSeq = cSeq;
                }
            }
            if (!less(bAt, bSeq, at, sq)) break;
            k[2 * i] = bAt;
            k[2 * i + 1] = bSeq;
            i = best;
        }
        k[2 * i] = at;
        k[2 * i + 1] = sq;
    }
}
