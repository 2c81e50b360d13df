package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class WatchTest {
    static byte[] b(String s) { return Bytes.of(s); }

    static MvccStore store() { return new MvccStore(new io.quorumlab.mvcc.backend.InMemoryBackend(), TestStores.noSyncThread()); }

    static List<Event> events(List<WatchResponse> rs) {
        List<Event> out = new ArrayList<>();
        for (WatchResponse r : rs) out.addAll(r.events());
        return out;
    }

    @Test
    void liveEventsFiltersAndPrevKv() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            s.apply(0, PutRequest.of("a", "0"));
            long all = ws.watch(WatchCreateRequest.of(b("a"), Bytes.prefixEnd(b("a")), 0).withPrevKv());
            long noPut = ws.watch(WatchCreateRequest.of(b("a"), Bytes.EMPTY, 0).withFilters(true, false));
            List<WatchResponse> created = ws.drain();
            assertEquals(2, created.size());
            assertTrue(created.get(0).created());
            assertEquals(2, created.get(0).revision());
            s.apply(0, PutRequest.of("a", "1"));
            s.apply(0, PutRequest.of("ab", "2"));
            s.apply(0, PutRequest.of("b", "3"));
            s.apply(0, DeleteRangeRequest.key(b("a")));
            List<WatchResponse> rs = ws.drain();
            List<Event> ofAll = new ArrayList<>(), ofNoPut = new ArrayList<>();
            for (WatchResponse r : rs) (r.watchId() == all ? ofAll : ofNoPut).addAll(r.events());
            assertEquals(3, ofAll.size());
            assertEquals(new KeyValue(b("a"), 2, 2, 1, b("0"), 0), ofAll.get(0).prevKv());
            assertEquals(Event.Type.DELETE, ofAll.get(2).type());
            assertEquals(new KeyValue(b("a"), 0, 6, 0, Bytes.EMPTY, 0), ofAll.get(2).kv());
            assertEquals(new KeyValue(b("a"), 2, 3, 2, b("1"), 0), ofAll.get(2).prevKv());
            assertEquals(1, ofNoPut.size());
            assertEquals(Event.Type.DELETE, ofNoPut.get(0).type());
            assertTrue(ws.cancel(noPut));
            WatchResponse c = ws.poll();
            assertTrue(c.canceled());
            assertEquals(noPut, c.watchId());
        }
    }

    @Test
    void txnEventsArriveAtomicallyInChangeOrder() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            ws.watch(WatchCreateRequest.of(b("\0"), Bytes.FROM_KEY, 0));
            ws.drain();
            s.apply(0, new TxnRequest(List.of(), List.of(PutRequest.of("z", "1"), PutRequest.of("a", "2"),
                    new DeleteRangeRequest(b("q"), Bytes.EMPTY, false)), List.of()));
            List<WatchResponse> rs = ws.drain();
            assertEquals(1, rs.size());
            assertEquals(List.of("z", "a"), rs.get(0).events().stream().map(e -> new String(e.kv().key())).toList());
        }
    }

    @Test
    void historicalWatchCatchesUpThenGoesLive() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream(4, 16)) {
            for (int i = 0; i < 50; i++) s.apply(0, PutRequest.of("k" + (i % 5), "v" + i));
            ws.watch(WatchCreateRequest.of(b("k"), Bytes.prefixEnd(b("k")), 10));
            List<Event> got = new ArrayList<>();
            for (int round = 0; round < 100 && got.size() < 42; round++) {
                s.watchHub().syncOnce();
                got.addAll(events(ws.drain()));
            }
            assertEquals(1, s.watchHub().syncedCount());
            s.apply(0, PutRequest.of("k9", "live"));
            got.addAll(events(ws.drain()));
            assertEquals(43, got.size());
            for (int i = 0; i < got.size(); i++) assertEquals(10 + i, got.get(i).kv().modRevision());
        }
    }

    @Test
    void compactedStartIsCreatedThenCancelledWithCompactRevision() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            for (int i = 0; i < 10; i++) s.apply(0, PutRequest.of("k", "v" + i)); // revs 2..11
            s.apply(0, DeleteRangeRequest.key(b("k"))); // 12
            s.apply(0, PutRequest.of("k", "again")); // 13
            s.apply(0, new CompactionRequest(8, false));
            long early = ws.watch(WatchCreateRequest.of(b("k"), Bytes.EMPTY, 7));
            long atCompact = ws.watch(WatchCreateRequest.of(b("k"), Bytes.EMPTY, 8));
            s.watchHub().syncOnce();
            s.watchHub().syncOnce();
            List<WatchResponse> rs = ws.drain();
            WatchResponse first = rs.get(0);
            assertTrue(first.created());
            assertEquals(early, first.watchId());
            WatchResponse cancel = rs.stream().filter(r -> r.watchId() == early && r.canceled()).findFirst().orElseThrow();
            assertEquals(8, cancel.compactRevision());
            assertTrue(rs.indexOf(cancel) > rs.indexOf(first));
            List<Long> revs = new ArrayList<>();
            for (WatchResponse r : rs) if (r.watchId() == atCompact) for (Event e : r.events()) revs.add(e.kv().modRevision());
            assertEquals(List.of(8L, 9L, 10L, 11L, 12L, 13L), revs); // the delete survives the boundary
        }
    }

    @Test
    void slowConsumerNeverBlocksApplyAndLosesNothing() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream(2, 16)) {
            ws.watch(WatchCreateRequest.of(b("x"), Bytes.EMPTY, 0));
            ws.drain();
            for (int i = 0; i < 200; i++) s.apply(0, PutRequest.of("x", "" + i)); // never blocks: outbox holds 2
            assertEquals(1, s.watchHub().unsyncedCount());
            assertTrue(ws.queuedEvents() <= 2);
            List<Event> got = new ArrayList<>();
            for (int round = 0; round < 1000 && got.size() < 200; round++) {
                got.addAll(events(ws.drain()));
                s.watchHub().syncOnce();
                if (round % 3 == 0) s.apply(0, PutRequest.of("y", "noise")); // unrelated writes meanwhile
            }
            got.addAll(events(ws.drain()));
            assertEquals(200, got.size());
            for (int i = 0; i < 200; i++) assertEquals("" + i, new String(got.get(i).kv().value()));
        }
    }

    @Test
    void progressRequestOnlyWhenAllSynced() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream(1, 16)) {
            for (int i = 0; i < 5; i++) s.apply(0, PutRequest.of("p", "" + i));
            ws.watch(WatchCreateRequest.of(b("p"), Bytes.EMPTY, 2));
            ws.drain();
            ws.requestProgress();
            assertTrue(ws.drain().isEmpty(), "an unsynced watcher must not get progress ahead of its events");
            for (int i = 0; i < 20 && s.watchHub().unsyncedCount() > 0; i++) {
                s.watchHub().syncOnce();
                ws.drain();
            }
            ws.requestProgress();
            List<WatchResponse> rs = ws.drain();
            assertEquals(1, rs.size());
            assertEquals(WatchResponse.STREAM_PROGRESS_ID, rs.get(0).watchId());
            assertEquals(s.currentRevision(), rs.get(0).revision());
        }
    }

    @Test
    void periodicProgressOnlyForQuietSyncedWatchers() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            long busy = ws.watch(WatchCreateRequest.of(b("busy"), Bytes.EMPTY, 0).withProgressNotify());
            long quiet = ws.watch(WatchCreateRequest.of(b("quiet"), Bytes.EMPTY, 0).withProgressNotify());
            ws.watch(WatchCreateRequest.of(b("plain"), Bytes.EMPTY, 0));
            ws.drain();
            s.apply(0, PutRequest.of("busy", "1"));
            ws.drain();
            s.watchHub().progressNotifyAll();
            List<WatchResponse> rs = ws.drain();
            assertEquals(1, rs.size());
            assertEquals(quiet, rs.get(0).watchId());
            assertTrue(rs.get(0).isProgress());
            assertEquals(s.currentRevision(), rs.get(0).revision());
            s.watchHub().progressNotifyAll(); // now both are quiet
            assertEquals(List.of(busy, quiet), ws.drain().stream().map(WatchResponse::watchId).sorted().toList());
        }
    }

    /** A reconnect storm: many streams resume at one revision; each gets its full history with prev_kv. */
    @Test
    void manyWatchersResumingTogether() {
        try (MvccStore s = store()) {
            for (int i = 0; i < 300; i++) s.apply(0, PutRequest.of("r/" + (i % 30), "" + i));
            List<WatchStream> streams = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                WatchStream ws = s.watchHub().newStream(8, 16);
                ws.watch(WatchCreateRequest.of(b("r/"), Bytes.prefixEnd(b("r/")), 2).withPrevKv());
                ws.watch(WatchCreateRequest.of(b("r/7"), Bytes.EMPTY, 2));
                streams.add(ws);
            }
            List<List<Event>> got = new ArrayList<>();
            for (int i = 0; i < streams.size() * 2; i++) got.add(new ArrayList<>());
            for (int round = 0; round < 1000 && s.watchHub().unsyncedCount() > 0; round++) {
                s.watchHub().syncOnce();
                for (int i = 0; i < streams.size(); i++) {
                    for (WatchResponse r : streams.get(i).drain()) got.get(2 * i + (int) r.watchId()).addAll(r.events());
                }
            }
            assertEquals(0, s.watchHub().unsyncedCount());
            for (int i = 0; i < streams.size(); i++) {
                List<Event> all = got.get(2 * i), one = got.get(2 * i + 1);
                assertEquals(300, all.size());
                assertEquals(10, one.size());
                for (int j = 0; j < 300; j++) {
                    assertEquals(j + 2, all.get(j).kv().modRevision());
                    if (j >= 30) assertEquals("" + (j - 30), new String(all.get(j).prevKv().value()));
                    else assertNull(all.get(j).prevKv());
                }
            }
        }
    }

    @Test
    void futureStartRevisionWaits() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            ws.watch(WatchCreateRequest.of(b("f"), Bytes.EMPTY, 4));
            ws.drain();
            for (int i = 0; i < 4; i++) s.apply(0, PutRequest.of("f", "" + i)); // revs 2..5
            List<Event> got = events(ws.drain());
            assertEquals(List.of(4L, 5L), got.stream().map(e -> e.kv().modRevision()).toList());
        }
    }

    @Test
    void badCreatesAreAnsweredOnTheStream() {
        try (MvccStore s = store(); WatchStream ws = s.watchHub().newStream()) {
            assertEquals(0, ws.watch(WatchCreateRequest.of(b("a"), Bytes.EMPTY, 0)), "etcd numbers watches from 0");
            assertEquals(7, ws.watch(new WatchCreateRequest(b("a"), Bytes.EMPTY, 0, false, false, false, false, 7, false)));
            assertEquals(-1, ws.watch(new WatchCreateRequest(b("a"), Bytes.EMPTY, 0, false, false, false, false, 7, false)));
            assertEquals(-1, ws.watch(WatchCreateRequest.of(b("b"), b("a"), 0)));
            assertEquals(1, ws.watch(WatchCreateRequest.of(b("a"), Bytes.EMPTY, 0)));
            List<WatchResponse> rs = ws.drain();
            assertEquals(5, rs.size());
            assertTrue(rs.get(2).created() && rs.get(2).canceled());
            assertEquals(WatchHub.DUPLICATE_ID, rs.get(2).cancelReason());
            assertEquals(WatchHub.EMPTY_RANGE, rs.get(3).cancelReason());
        }
    }

    /** Real threads: the sync thread catches up while a consumer drains slowly and apply runs flat out. */
    @Test
    void concurrentSlowConsumerWithSyncThread() throws Exception {
        StoreConfig cfg = StoreConfig.defaults().withWatchSyncInterval(TimeUnit.MILLISECONDS.toNanos(2));
        try (MvccStore s = new MvccStore(new io.quorumlab.mvcc.backend.InMemoryBackend(), cfg);
             WatchStream ws = s.watchHub().newStream(3, 16)) {
            ws.watch(WatchCreateRequest.of(b("c"), Bytes.prefixEnd(b("c")), 0));
            int n = 3000;
            List<Event> got = new ArrayList<>();
            AtomicBoolean failed = new AtomicBoolean();
            Thread consumer = new Thread(() -> {
                try {
                    while (got.size() < n) {
                        WatchResponse r = ws.poll(5, TimeUnit.SECONDS);
                        if (r == null) break;
                        got.addAll(r.events());
                        if (got.size() % 97 == 0) Thread.sleep(1);
                    }
                } catch (InterruptedException e) {
                    failed.set(true);
                }
            });
            consumer.start();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) s.apply(0, PutRequest.of("c" + (i % 7), "" + i));
            long applyMillis = (System.nanoTime() - t0) / 1_000_000;
            consumer.join(30_000);
            assertFalse(failed.get());
            assertEquals(n, got.size(), "apply took " + applyMillis + " ms");
            for (int i = 0; i < n; i++) assertEquals(i + 2, got.get(i).kv().modRevision());
        }
    }
}
