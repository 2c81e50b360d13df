package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import java.util.ArrayList;
import io.quorumlab.mvcc.backend.ByteKey;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watch fan-out with etcd's two groups. <b>Synced</b> watchers have been sent everything up to
 * the current revision and get each new revision's events at apply (one response per revision,
 * so a revision is never split). <b>Unsynced</b> watchers (started in the past, or whose outbox
 * was full) are caught up from the backend by {@link #syncOnce}, on the sync thread or driven by
 * the caller, in whole-revision chunks; once level with the store they rejoin the synced group.
 *
 * <p>Guarantees: per watcher, events are ordered by revision, never duplicated, never split
 * within a revision; a watcher whose next revision was compacted is cancelled with
 * compact_revision; a progress response is queued only after the events it vouches for.
 *
 * <p>Locking: store lock (read or write) then the hub monitor then a stream's queue lock; the
 * sync thread reads the backend under the store read lock only, never under the monitor.
 */
public final class WatchHub implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WatchHub.class);
    /** Catch-up reads at most this many events per watcher per round (whole revisions). */
    static final int CATCH_UP_EVENTS_MAX = 1000;
    /** At most this many catch-up rounds per {@link #syncOnce}, so the sync thread yields regularly. */
    private static final int CATCH_UP_ROUNDS_MAX = 16;
    public static final int DEFAULT_STREAM_EVENT_CAPACITY = 1024;
    public static final int DEFAULT_STREAM_MAX_WATCHERS = 10_000;
    /** Event bytes (keys, values, prev_kv) one stream's outbox holds before its watchers fall behind. */
    public static final long DEFAULT_STREAM_EVENT_BYTES_MAX = 16L << 20;

    /** etcd's cancel reasons for refused creates (its mvcc package's error texts). */
    static final String EMPTY_RANGE = "mvcc: watcher range is empty";
    static final String DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
    /** Ours: etcd has no per-stream watcher limit. */
    static final String TOO_MANY_WATCHERS = "quorumlab: too many watchers on stream";

    private final MvccStore store;
    private final Object mu = new Object();
    private final SyncedGroup synced = new SyncedGroup();
    private final Set<Watcher> unsynced = new LinkedHashSet<>();
    private final Set<WatchStream> streams = new LinkedHashSet<>();
    /** Latest revision handed to {@link #onApply}; guarded by mu. */
    private long notifiedRev;
    private final Thread syncThread;
    private volatile boolean closed;

    WatchHub(MvccStore store, long syncIntervalNanos) {
        this.store = store;
        this.notifiedRev = store.currentRevision();
        if (syncIntervalNanos > 0) {
            syncThread = new Thread(() -> syncLoop(syncIntervalNanos), "mvcc-watch-sync");
            syncThread.setDaemon(true);
            syncThread.start();
        } else {
            syncThread = null;
        }
    }

    public WatchStream newStream() { return newStream(DEFAULT_STREAM_EVENT_CAPACITY, DEFAULT_STREAM_MAX_WATCHERS); }

    public WatchStream newStream(int eventCapacity, int maxWatchers) {
        return newStream(eventCapacity, DEFAULT_STREAM_EVENT_BYTES_MAX, maxWatchers);
    }

    public WatchStream newStream(int eventCapacity, long eventBytesMax, int maxWatchers) {
        WatchStream s = new WatchStream(this, eventCapacity, eventBytesMax, maxWatchers);
        synchronized (mu) {
            streams.add(s);
        }
        return s;
    }

    // ---- stream operations -----------------------------------------------------------------------

    long create(WatchStream s, WatchCreateRequest req) {
        store.lock().readLock().lock(); // holds the revision still while we decide synced vs unsynced
        try {
            synchronized (mu) {
                if (s.closed) throw new IllegalStateException("stream closed");
                long cur = store.currentRevision();
                long id = req.watchId();
                String refused = null;
                if (req.rangeEnd().length > 0 && !Bytes.isFromKey(req.rangeEnd()) && Bytes.compare(req.key(), req.rangeEnd()) >= 0) {
                    refused = EMPTY_RANGE;
                } else if (id != 0 && s.watchers.containsKey(id)) {
                    refused = DUPLICATE_ID;
                } else if (s.watchers.size() >= s.maxWatchers) {
                    refused = TOO_MANY_WATCHERS;
                }
                if (refused != null) {
                    // etcd answers a bad create on the stream (created + canceled, id -1), not with an RPC error,
                    // and in request order: this outbox carries every answer, so nothing overtakes an earlier one.
                    s.offerAnswer(new WatchResponse(-1, cur, true, true, 0, refused, List.of()));
                    return -1;
                }
                if (id == 0) {
                    // etcd numbers from 0; a client cannot ask for 0 explicitly (0 means "assign one").
                    while (s.watchers.containsKey(s.nextWatchId)) s.nextWatchId++;
                    id = s.nextWatchId++;
                }
                Watcher w = new Watcher(id, s, req);
                if (!s.offerAnswer(new WatchResponse(id, cur, true, false, 0, "", List.of()))) {
                    return -1; // overrun: the owner ends the stream
                }
                s.watchers.put(id, w);
                long start = req.startRevision();
                if (start <= 0 || start > cur) {
                    w.minRev = start <= 0 ? cur + 1 : start; // a future start waits in the synced group
                    w.synced = true;
                    synced.add(w);
                } else {
                    w.minRev = start;
                    unsynced.add(w);
                    wakeSync();
                }
                return id;
            }
        } finally {
            store.lock().readLock().unlock();
        }
    }

    boolean cancel(WatchStream s, long id) {
        synchronized (mu) {
            Watcher w = s.watchers.get(id);
            if (w == null) return false;
            remove(w);
            // No room only if the client sent a reserve's worth of requests without reading: overrun, the stream ends.
            s.offerAnswer(new WatchResponse(id, store.currentRevision(), false, true, 0, "", List.of()));
            return true;
        }
    }

    void requestProgress(WatchStream s) {
        store.lock().readLock().lock();
        try {
            synchronized (mu) {
                for (Watcher w : s.watchers.values()) if (!w.synced) return; // would run ahead of undelivered events
                s.offerProgress(new WatchResponse(WatchResponse.STREAM_PROGRESS_ID, store.currentRevision(), false, false, 0, "",
                        List.of()));
            }
        } finally {
            store.lock().readLock().unlock();
        }
    }

    /** Periodic progress (progress_notify watchers, etcd's --experimental-watch-progress-notify-interval). */
    public void progressNotifyAll() {
        store.lock().readLock().lock();
        try {
            synchronized (mu) {
                long cur = store.currentRevision();
                for (Watcher w : synced.all()) {
                    if (w.request.progressNotify() && !w.sentSinceProgressTick) {
                        w.stream.offerProgress(new WatchResponse(w.id, cur, false, false, 0, "", List.of()));
                    }
                    w.sentSinceProgressTick = false;
                }
            }
        } finally {
            store.lock().readLock().unlock();
        }
    }

    void closeStream(WatchStream s) {
        synchronized (mu) {
            for (Watcher w : new ArrayList<>(s.watchers.values())) remove(w);
            s.closed = true;
            streams.remove(s);
        }
    }

    private void remove(Watcher w) {
        w.canceled = true;
        synced.remove(w);
        unsynced.remove(w);
        w.stream.watchers.remove(w.id);
    }

    // ---- store callbacks (apply thread, store write lock held) -------------------------------------

    void onApply(long rev, List<Event> events) {
        synchronized (mu) {
            assert rev > notifiedRev : "revisions must be notified in order";
            notifiedRev = rev;
            if (synced.isEmpty()) return;
            // Per watcher, its events of this revision in change order: one response, never split.
            Map<Watcher, List<Event>> perWatcher = new LinkedHashMap<>();
            KeyValue[] prev = new KeyValue[1]; // this event's prev_kv, looked up once for all its watchers
            for (Event e : events) {
                prev[0] = null;
                synced.forCandidates(e.kv().key(), w -> {
                    if (rev < w.minRev || !w.matches(e)) return;
                    Event out = e;
                    if (w.request.prevKv()) {
                        if (prev[0] == null) prev[0] = orNone(store.kvAt(e.kv().key(), rev - 1));
                        out = e.withPrevKv(prev[0] == NO_PREV ? null : prev[0]);
                    }
                    perWatcher.computeIfAbsent(w, x -> new ArrayList<>(2)).add(out);
                });
            }
            List<Watcher> fellBehind = null;
            for (Map.Entry<Watcher, List<Event>> en : perWatcher.entrySet()) {
                Watcher w = en.getKey();
                if (w.stream.offerEvents(WatchResponse.events(w.id, rev, en.getValue()))) {
                    w.minRev = rev + 1;
                    w.sentSinceProgressTick = true;
                } else {
                    // Slow consumer: stop pushing, catch up from the backend when it drains.
                    w.minRev = rev;
                    if (fellBehind == null) fellBehind = new ArrayList<>();
                    fellBehind.add(w);
                }
            }
            if (fellBehind != null) {
                for (Watcher w : fellBehind) {
                    synced.remove(w);
                    w.synced = false;
                    unsynced.add(w);
                }
                wakeSync();
            }
        }
    }

    void onCompact(long rev) { wakeSync(); }

    /** The store was replaced from a snapshot: everyone re-checks against the new history. */
    void onRestore() {
        synchronized (mu) {
            notifiedRev = store.currentRevision();
            for (Watcher w : synced.all()) {
                w.synced = false;
                unsynced.add(w);
            }
            synced.clear();
        }
        wakeSync();
    }

    // ---- catch-up ------------------------------------------------------------------------------

    /**
     * Brings lagging watchers forward as far as their outboxes allow. Watchers waiting at the same
     * revision share one backend read per round (a reconnect storm resumes many streams at one
     * revision). @return watchers still unsynced
     */
    public int syncOnce() {
        for (int round = 0; round < CATCH_UP_ROUNDS_MAX; round++) {
            Map<Long, List<Watcher>> byFrom = new java.util.TreeMap<>();
            synchronized (mu) {
                for (Watcher w : unsynced) byFrom.computeIfAbsent(w.minRev, k -> new ArrayList<>()).add(w);
            }
            boolean progress = false;
            for (Map.Entry<Long, List<Watcher>> g : byFrom.entrySet()) progress |= catchUp(g.getKey(), g.getValue());
            if (!progress) break;
        }
        synchronized (mu) {
            return unsynced.size();
        }
    }

    /** One chunk of catch-up for watchers whose next revision is {@code from}. @return true if any advanced */
    private boolean catchUp(long from, List<Watcher> group) {
        long cur, compacted, through;
        List<List<Event>> perWatcher = new ArrayList<>(group.size());
        store.lock().readLock().lock();
        try {
            cur = store.currentRevision();
            compacted = store.compactRevision();
            if (compacted > 0 && from < compacted) {
                through = -1; // its next revision is gone
            } else if (from > cur) {
                through = cur;
            } else {
                MvccStore.EventsChunk chunk = store.eventsBetween(from, cur, CATCH_UP_EVENTS_MAX);
                through = chunk.throughRev();
                List<Event> events = chunk.events();
                KeyValue[] prevCache = null; // prev_kv looked up once per event, shared by the group
                for (Watcher w : group) {
                    List<Event> mine = new ArrayList<>();
                    for (int i = 0; i < events.size(); i++) {
                        Event e = events.get(i);
                        if (!w.matches(e)) continue;
                        if (w.request.prevKv()) {
                            if (prevCache == null) prevCache = new KeyValue[events.size()];
                            if (prevCache[i] == null) prevCache[i] = orNone(store.kvAt(e.kv().key(), e.kv().modRevision() - 1));
                            mine.add(prevCache[i] == NO_PREV ? e : e.withPrevKv(prevCache[i]));
                        } else {
                            mine.add(e);
                        }
                    }
                    perWatcher.add(mine);
                }
            }
        } finally {
            store.lock().readLock().unlock();
        }
        boolean progress = false;
        synchronized (mu) {
            for (int i = 0; i < group.size(); i++) {
                Watcher w = group.get(i);
                if (w.canceled || w.synced || w.minRev != from) continue;
                if (through < 0) {
                    // Cancel with compact_revision (after "created", as etcd). Header revision 0:
                    // etcd builds this response without one, and clients see exactly that.
                    if (w.stream.offerControl(new WatchResponse(w.id, 0, false, true, compacted, "", List.of()))) {
                        remove(w);
                        progress = true;
                    }
                    continue;
                }
                List<Event> mine = perWatcher.isEmpty() ? List.of() : perWatcher.get(i);
                long upTo = through;
                if (!mine.isEmpty()) {
                    // Whole revisions that fit the outbox's byte room; the rest comes in a later round.
                    int fit = fittingPrefix(mine, w.stream.eventBytesRoom());
                    if (fit < mine.size()) {
                        upTo = mine.get(fit).kv().modRevision() - 1;
                        mine = new ArrayList<>(mine.subList(0, fit)); // a copy: a view would hold the whole chunk
                    }
                    if (!w.stream.offerEvents(WatchResponse.events(w.id, cur, mine))) continue; // no room: retry when the sender drains
                    w.sentSinceProgressTick = true;
                }
                w.minRev = Math.max(w.minRev, upTo + 1);
                progress = true;
                if (upTo >= notifiedRev) {
                    // Nothing was applied since our read: onApply will reach this watcher from now on.
                    unsynced.remove(w);
                    w.synced = true;
                    synced.add(w);
                }
            }
        }
        return progress;
    }

    /**
     * How many leading events, in whole revisions, weigh at most {@code room} bytes as
     * {@link WatchStream#eventBytes} counts them; at least the first revision (the outbox decides
     * whether it takes that one: it does when it holds no events).
     */
    static int fittingPrefix(List<Event> events, long room) {
        long used = 0;
        int fit = 0;
        while (fit < events.size()) {
            long rev = events.get(fit).kv().modRevision();
            int end = fit;
            long bytes = 0;
            while (end < events.size() && events.get(end).kv().modRevision() == rev) bytes += WatchStream.eventBytes(events.get(end++));
            if (fit > 0 && used + bytes > room) break;
            used += bytes;
            fit = end;
        }
        return fit;
    }

    /** Marks "looked up, no previous kv" in the prev_kv cache. */
    private static final KeyValue NO_PREV = new KeyValue(Bytes.EMPTY, 0, 0, 0, Bytes.EMPTY, 0);

    private static KeyValue orNone(KeyValue kv) { return kv == null ? NO_PREV : kv; }

    /**
     * Synced watchers, with single-key watchers indexed by key so a revision's fan-out costs one
     * lookup per event plus the range watchers (kube-style prefix watches), not every watcher.
     */
    private static final class SyncedGroup {
        private final Set<Watcher> all = new LinkedHashSet<>();
        private final Map<ByteKey, List<Watcher>> byKey = new HashMap<>();
        private final Set<Watcher> ranges = new LinkedHashSet<>();

        void add(Watcher w) {
            if (!all.add(w)) return;
            if (w.singleKey) byKey.computeIfAbsent(new ByteKey(w.key), k -> new ArrayList<>(1)).add(w);
            else ranges.add(w);
        }

        void remove(Watcher w) {
            if (!all.remove(w)) return;
            if (w.singleKey) {
                ByteKey k = new ByteKey(w.key);
                List<Watcher> l = byKey.get(k);
                l.remove(w);
                if (l.isEmpty()) byKey.remove(k);
            } else {
                ranges.remove(w);
            }
        }

        void forCandidates(byte[] key, Consumer<Watcher> c) {
            List<Watcher> l = byKey.get(new ByteKey(key));
            if (l != null) l.forEach(c);
            ranges.forEach(c);
        }

        Set<Watcher> all() { return all; }

        boolean isEmpty() { return all.isEmpty(); }

        int size() { return all.size(); }

        void clear() {
            all.clear();
            byKey.clear();
            ranges.clear();
        }
    }

    void wakeSync() {
        if (syncThread != null) LockSupport.unpark(syncThread);
    }

    private void syncLoop(long intervalNanos) {
        while (!closed) {
            LockSupport.parkNanos(this, intervalNanos);
            if (closed) break;
            try {
                syncOnce();
            } catch (RuntimeException e) {
                // Closing the store under the thread's feet ends the loop; anything else is a bug to shout about.
                if (!closed) log.error("watch sync failed", e);
            }
        }
    }

    public int syncedCount() {
        synchronized (mu) {
            return synced.size();
        }
    }

    public int unsyncedCount() {
        synchronized (mu) {
            return unsynced.size();
        }
    }

    @Override
    public void close() {
        closed = true;
        wakeSync();
        synchronized (mu) {
            for (WatchStream s : new ArrayList<>(streams)) {
                for (Watcher w : new ArrayList<>(s.watchers.values())) remove(w);
                s.closed = true;
            }
            streams.clear();
        }
    }
}
