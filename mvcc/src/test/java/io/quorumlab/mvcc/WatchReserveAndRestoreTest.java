package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Watch guarantees found sound or fixed by review in session 8: the control reserve, watchers across a snapshot restore. */
class WatchReserveAndRestoreTest {
    static byte[] b(String s) { return Bytes.of(s); }

    static MvccStore store() { return new MvccStore(new InMemoryBackend(), TestStores.noSyncThread()); }

    /**
     * A client that sends progress requests without reading fills the stream's control reserve;
     * its next cancel must still be answered (etcd blocks the receive loop instead of dropping).
     */
    @Test
    void cancelIsAnsweredEvenAfterProgressRequestsFilledTheControlReserve() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream(4, 1)) {
            long id = ws.watch(WatchCreateRequest.of(b("k"), Bytes.EMPTY, 0));
            for (int i = 0; i < 40; i++) ws.requestProgress(); // all synced: each one queues an answer
            boolean known;
            try {
                known = ws.cancel(id);
            } catch (AssertionError e) {
                fail("cancel of a live watcher lost its response (control reserve full): " + e);
                return;
            }
            assertTrue(known);
            List<WatchResponse> rs = ws.drain();
            assertTrue(rs.stream().anyMatch(r -> r.watchId() == id && r.canceled()), "no canceled response for " + id);
        }
    }

    /** Follower with open watchers installs a snapshot of a longer history: each watcher gets the rest, once, in order. */
    @Test
    void watchersAcrossSnapshotRestore() throws Exception {
        List<Request> history = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            history.add(i % 7 == 6 ? DeleteRangeRequest.key(b("k" + (i % 5))) : PutRequest.of("k" + (i % 5), "v" + i));
        }
        try (MvccStore leader = store(); MvccStore follower = store()) {
            for (Request r : history) {
                try { leader.apply(0, r); } catch (MvccException ignored) { }
            }
            for (int i = 0; i < 20; i++) {
                try { follower.apply(0, history.get(i)); } catch (MvccException ignored) { }
            }
            long fcur = follower.currentRevision();
            WatchStream ws = follower.watchHub().newStream(2, 16);
            long live = ws.watch(WatchCreateRequest.of(b("k"), b("l"), 0).withPrevKv());
            long old = ws.watch(WatchCreateRequest.of(b("k"), b("l"), 3).withPrevKv());
            long future = ws.watch(WatchCreateRequest.of(b("k"), b("l"), fcur + 5));
            List<WatchResponse> got = new ArrayList<>(ws.drain());
            ByteArrayOutputStream snap = new ByteArrayOutputStream();
            leader.snapshot(snap);
            follower.restore(new ByteArrayInputStream(snap.toByteArray()));
            assertEquals(leader.currentRevision(), follower.currentRevision());
            for (int i = 0; i < 1000 && follower.watchHub().unsyncedCount() > 0; i++) {
                follower.watchHub().syncOnce();
                got.addAll(ws.drain());
            }
            got.addAll(ws.drain());
            assertEquals(0, follower.watchHub().unsyncedCount());
            checkRevs(leader, got, live, fcur + 1);
            checkRevs(leader, got, old, 3);
            checkRevs(leader, got, future, fcur + 5);
            // and live again afterwards
            follower.apply(0, PutRequest.of("k1", "after"));
            List<WatchResponse> after = new ArrayList<>(ws.drain());
            follower.watchHub().syncOnce(); // the outbox holds 2: the third watcher fell behind
            after.addAll(ws.drain());
            assertEquals(3, after.size(), "each watcher gets the next write: " + after);
        }
    }

    /** The snapshot's history was compacted past the follower's watchers: cancelled with compact_revision. */
    @Test
    void watchersBehindTheSnapshotsCompactionAreCancelled() throws Exception {
        try (MvccStore leader = store(); MvccStore follower = store()) {
            for (int i = 0; i < 40; i++) {
                leader.apply(0, PutRequest.of("k" + (i % 3), "v" + i));
                if (i < 10) follower.apply(0, PutRequest.of("k" + (i % 3), "v" + i));
            }
            leader.apply(0, new CompactionRequest(30, false));
            WatchStream ws = follower.watchHub().newStream();
            long live = ws.watch(WatchCreateRequest.of(b("k"), b("l"), 0));
            ws.drain();
            ByteArrayOutputStream snap = new ByteArrayOutputStream();
            leader.snapshot(snap);
            follower.restore(new ByteArrayInputStream(snap.toByteArray()));
            for (int i = 0; i < 100 && follower.watchHub().unsyncedCount() > 0; i++) follower.watchHub().syncOnce();
            List<WatchResponse> rs = ws.drain();
            assertEquals(1, rs.size(), rs.toString());
            assertTrue(rs.get(0).canceled());
            assertEquals(live, rs.get(0).watchId());
            assertEquals(30, rs.get(0).compactRevision());
        }
    }

    static void checkRevs(MvccStore leader, List<WatchResponse> got, long id, long from) {
        List<Long> revs = new ArrayList<>();
        for (WatchResponse r : got) if (r.watchId() == id) for (Event e : r.events()) revs.add(e.kv().modRevision());
        List<Long> want = new ArrayList<>();
        for (long r = from; r <= leader.currentRevision(); r++) want.add(r);
        assertEquals(want, revs, "watcher " + id + " from " + from);
    }
}
