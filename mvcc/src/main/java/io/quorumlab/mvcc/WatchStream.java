package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client watch stream (one gRPC Watch call): its watchers and one bounded, ordered outbox.
 *
 * <p>The outbox holds at most {@code eventCapacity} event responses plus a reserve for control
 * responses (created, canceled, progress), so a full outbox never loses a cancel: progress answers take
 * at most {@value #PROGRESS_RESERVE} of its slots (a dropped one is asked for again or comes with the next
 * tick), the rest is for created and canceled, at most two per watcher. When event
 * space runs out the affected watcher falls behind ("unsynced") and later catches up from the
 * backend; apply never waits for a consumer. One sender thread drains with {@link #poll}.
 */
public final class WatchStream implements AutoCloseable {
    private record Item(WatchResponse response, boolean event, boolean progress) {}

    /** Control slots that progress answers may hold at once. */
    static final int PROGRESS_RESERVE = 16;

    private final WatchHub hub;
    final int eventCapacity;
    final int maxWatchers;
    private final int controlCapacity;
    private final ReentrantLock queueLock = new ReentrantLock();
    private final Condition notEmpty = queueLock.newCondition();
    private final ArrayDeque<Item> outbox = new ArrayDeque<>();
    private int queuedEvents;
    private int queuedControl;
    private int queuedProgress;
    /** Guarded by the hub monitor. */
    final Map<Long, Watcher> watchers = new HashMap<>();
    long nextWatchId;
    volatile boolean closed;

    WatchStream(WatchHub hub, int eventCapacity, int maxWatchers) {
        if (eventCapacity <= 0 || maxWatchers <= 0) throw new IllegalArgumentException("capacities must be positive");
        this.hub = hub;
        this.eventCapacity = eventCapacity;
        this.maxWatchers = maxWatchers;
        this.controlCapacity = 2 * maxWatchers + PROGRESS_RESERVE;
    }

    /**
     * Creates a watcher; its "created" response is queued before any of its events. A refused
     * create (duplicate explicit id, key >= range end) queues etcd's created+canceled response
     * with a cancel reason and returns -1.
     * @throws IllegalStateException when the stream already has {@code maxWatchers}
     */
    public long watch(WatchCreateRequest req) { return hub.create(this, req); }

    /** Cancels a watcher; a "canceled" response follows its last event. False if unknown. */
    public boolean cancel(long watchId) { return hub.cancel(this, watchId); }

    /** Stream-wide progress request: answered (watch id -1) only when every watcher here is synced. */
    public void requestProgress() { hub.requestProgress(this); }

    public WatchResponse poll() {
        queueLock.lock();
        try {
            return take();
        } finally {
            queueLock.unlock();
        }
    }

    public WatchResponse poll(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        queueLock.lock();
        try {
            while (outbox.isEmpty()) {
                if (nanos <= 0) return null;
                nanos = notEmpty.awaitNanos(nanos);
            }
            return take();
        } finally {
            queueLock.unlock();
        }
    }

    /** Drains everything queued now. */
    public List<WatchResponse> drain() {
        List<WatchResponse> out = new ArrayList<>();
        for (WatchResponse r; (r = poll()) != null; ) out.add(r);
        return out;
    }

    private WatchResponse take() {
        Item it = outbox.poll();
        if (it == null) return null;
        boolean wasFull = queuedEvents >= eventCapacity;
        if (it.event()) queuedEvents--; else queuedControl--;
        if (it.progress()) queuedProgress--;
        if (wasFull) hub.wakeSync(); // room again: lagging watchers can resume
        return it.response();
    }

    boolean offerEvents(WatchResponse r) { return offer(r, true, false); }

    /** Created and canceled responses: always room (at most two per watcher). */
    boolean offerControl(WatchResponse r) { return offer(r, false, false); }

    /** A progress answer; false (dropped) when {@value #PROGRESS_RESERVE} are already queued. */
    boolean offerProgress(WatchResponse r) { return offer(r, false, true); }

    private boolean offer(WatchResponse r, boolean event, boolean progress) {
        queueLock.lock();
        try {
            if (closed) return true; // nobody listens; dropping is correct
            if (event ? queuedEvents >= eventCapacity : queuedControl >= controlCapacity) return false;
            if (progress && queuedProgress >= PROGRESS_RESERVE) return false;
            outbox.add(new Item(r, event, progress));
            if (event) queuedEvents++; else queuedControl++;
            if (progress) queuedProgress++;
            assert queuedEvents <= eventCapacity && queuedControl <= controlCapacity;
            notEmpty.signalAll();
            return true;
        } finally {
            queueLock.unlock();
        }
    }

    int queuedEvents() {
        queueLock.lock();
        try {
            return queuedEvents;
        } finally {
            queueLock.unlock();
        }
    }

    @Override
    public void close() { hub.closeStream(this); }
}
