package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.KeyValue;
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
 * <p>The outbox holds at most {@code eventCapacity} event responses whose events weigh at most
 * {@code eventBytesMax} (keys, values and prev_kv; one response is always taken into an outbox with no
 * events, so a revision larger than the bound still goes out alone), plus a reserve for control
 * responses (created, canceled, refused creates, progress). Progress answers take at most
 * {@value #PROGRESS_RESERVE} of its slots (a dropped one is asked for again or comes with the next
 * tick); the rest is for the answers to creates and cancels, in request order. A client that sends
 * more requests than the reserve without reading their answers overruns the stream ({@link #overrun}):
 * its owner ends it. When event space runs out the affected watcher falls behind ("unsynced") and
 * later catches up from the backend; apply never waits for a consumer. One sender thread drains
 * with {@link #poll}.
 */
public final class WatchStream implements AutoCloseable {
    private record Item(WatchResponse response, boolean event, boolean progress, long eventBytes) {}

    /** Control slots that progress answers may hold at once. */
    static final int PROGRESS_RESERVE = 16;

    private final WatchHub hub;
    final int eventCapacity;
    final long eventBytesMax;
    final int maxWatchers;
    private final int controlCapacity;
    private final ReentrantLock queueLock = new ReentrantLock();
    private final Condition notEmpty = queueLock.newCondition();
    private final ArrayDeque<Item> outbox = new ArrayDeque<>();
    private int queuedEvents;
    private long queuedEventBytes;
    private int queuedControl;
    private int queuedProgress;
    /** An event response was turned away since the last take: the next take wakes the catch-up. */
    private boolean eventsRefused;
    /** An answer to a create or cancel found no room: the client is not reading, end the stream. */
    private volatile boolean overrun;
    /** Guarded by the hub monitor. */
    final Map<Long, Watcher> watchers = new HashMap<>();
    long nextWatchId;
    volatile boolean closed;

    WatchStream(WatchHub hub, int eventCapacity, long eventBytesMax, int maxWatchers) {
        if (eventCapacity <= 0 || eventBytesMax <= 0 || maxWatchers <= 0) throw new IllegalArgumentException("capacities must be positive");
        this.hub = hub;
        this.eventCapacity = eventCapacity;
        this.eventBytesMax = eventBytesMax;
        this.maxWatchers = maxWatchers;
        this.controlCapacity = 2 * maxWatchers + PROGRESS_RESERVE;
    }

    /**
     * Creates a watcher; its "created" response is queued before any of its events, after the
     * answers to every earlier request. A refused create (duplicate explicit id, key >= range end,
     * {@code maxWatchers} reached) queues etcd's created+canceled response with a cancel reason and
     * returns -1; so does an overrun stream, which queues nothing.
     */
    public long watch(WatchCreateRequest req) { return hub.create(this, req); }

    /** Cancels a watcher; a "canceled" response follows its last event. False if unknown. */
    public boolean cancel(long watchId) { return hub.cancel(this, watchId); }

    /** Stream-wide progress request: answered (watch id -1) only when every watcher here is synced. */
    public void requestProgress() { hub.requestProgress(this); }

    /**
     * True once an answer to a create or cancel could not be queued (the client sent more requests
     * than the control reserve without reading): that answer is lost, so the owner must end the stream.
     */
    public boolean overrun() { return overrun; }

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
        if (it.event()) {
            queuedEvents--;
            queuedEventBytes -= it.eventBytes();
        } else {
            queuedControl--;
        }
        if (it.progress()) queuedProgress--;
        assert queuedEvents >= 0 && queuedEventBytes >= 0 && (queuedEvents > 0 || queuedEventBytes == 0);
        if (eventsRefused) { // room again: lagging watchers can resume
            eventsRefused = false;
            hub.wakeSync();
        }
        return it.response();
    }

    /** The weight the byte bound counts: keys and values of each event and of its prev_kv. */
    static long eventBytes(Event e) {
        return kvBytes(e.kv()) + (e.prevKv() == null ? 0 : kvBytes(e.prevKv()));
    }

    private static long kvBytes(KeyValue kv) { return (long) kv.key().length + kv.value().length; }

    static long eventBytes(List<Event> events) {
        long n = 0;
        for (Event e : events) n += eventBytes(e);
        return n;
    }

    boolean offerEvents(WatchResponse r) { return offer(r, true, false, eventBytes(r.events())); }

    /**
     * The event bytes the outbox takes now (besides one response of any size when it holds no events).
     * Only grows until the hub's next offer: offers happen under the hub monitor, the sender only takes.
     */
    long eventBytesRoom() {
        queueLock.lock();
        try {
            return Math.max(0, eventBytesMax - queuedEventBytes);
        } finally {
            queueLock.unlock();
        }
    }

    /** Compaction cancels: false when the reserve is full (the catch-up retries). */
    boolean offerControl(WatchResponse r) { return offer(r, false, false, 0); }

    /** The answer to a create or cancel request: it must not be lost, so no room means {@link #overrun}. */
    boolean offerAnswer(WatchResponse r) {
        if (offer(r, false, false, 0)) return true;
        overrun = true;
        return false;
    }

    /** A progress answer; false (dropped) when {@value #PROGRESS_RESERVE} are already queued. */
    boolean offerProgress(WatchResponse r) { return offer(r, false, true, 0); }

    private boolean offer(WatchResponse r, boolean event, boolean progress, long bytes) {
        queueLock.lock();
        try {
            if (closed) return true; // nobody listens; dropping is correct
            if (event) {
                if (queuedEvents >= eventCapacity || (queuedEvents > 0 && queuedEventBytes + bytes > eventBytesMax)) {
                    eventsRefused = true;
                    return false;
                }
            } else if (queuedControl >= controlCapacity) {
                return false;
            }
            if (progress && queuedProgress >= PROGRESS_RESERVE) return false;
            outbox.add(new Item(r, event, progress, bytes));
            if (event) {
                queuedEvents++;
                queuedEventBytes += bytes;
            } else {
                queuedControl++;
            }
            if (progress) queuedProgress++;
            assert queuedEvents <= eventCapacity && queuedControl <= controlCapacity;
            assert queuedEvents == 1 || queuedEventBytes <= eventBytesMax;
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

    long queuedEventBytes() {
        queueLock.lock();
        try {
            return queuedEventBytes;
        } finally {
            queueLock.unlock();
        }
    }

    @Override
    public void close() { hub.closeStream(this); }
}
