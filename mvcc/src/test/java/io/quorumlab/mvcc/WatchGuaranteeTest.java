package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Watch guarantees under random histories, random watchers (past, current and future starts;
 * keys, ranges, prefixes; filters; prev_kv), tiny outboxes, random draining, catch-up and
 * compaction: per watcher the events are exactly the model's history for its range (ordered,
 * no duplicates, no gaps), each revision arrives in one response, a compaction cancel comes only
 * after a gap-free prefix, and a stream progress response never runs ahead of delivered events.
 * {@code -Dmvcc.watchSeeds=N} (default 150), {@code -Dmvcc.seed=S}.
 */
class WatchGuaranteeTest {
    record Spec(long id, WatchStream stream, WatchCreateRequest req, long firstRev) {}

    @Test
    void randomWatchHistories() {
        String one = System.getProperty("mvcc.seed");
        List<Long> seeds = new ArrayList<>();
        if (one != null && !one.isBlank()) seeds.add(Long.parseLong(one));
        else for (int i = 0; i < Integer.getInteger("mvcc.watchSeeds", 150); i++) seeds.add(5000L + i);
        for (long seed : seeds) {
            try {
                runSeed(seed);
            } catch (Throwable t) {
                throw new AssertionError("watch guarantee failed for seed " + seed + "; replay with:\n  mvn -pl mvcc test "
                        + "-Dtest=WatchGuaranteeTest -Dmvcc.seed=" + seed + "\n" + t, t);
            }
        }
    }

    static void runSeed(long seed) {
        Random rnd = new Random(seed);
        Model model = new Model();
        OpGenerator gen = new OpGenerator(seed * 31, model);
        try (MvccStore s = new MvccStore(new io.quorumlab.mvcc.backend.InMemoryBackend(), TestStores.noSyncThread())) {
            List<WatchStream> streams = new ArrayList<>();
            for (int i = 0; i < 3; i++) streams.add(s.watchHub().newStream(1 + rnd.nextInt(4), 64));
            Map<WatchStream, List<WatchResponse>> got = new HashMap<>();
            for (WatchStream ws : streams) got.put(ws, new ArrayList<>());
            List<Spec> specs = new ArrayList<>();
            for (int step = 0; step < 150; step++) {
                int p = rnd.nextInt(10);
                if (p < 5) {
                    Request r = gen.next();
                    model.apply(r);
                    try {
                        s.apply(0, r);
                    } catch (MvccException ignored) {
                        // the model test checks answers; here only the history matters
                    }
                } else if (p == 5 && specs.size() < 40) {
                    WatchStream ws = streams.get(rnd.nextInt(streams.size()));
                    byte[] k = gen.key();
                    long cur = s.currentRevision();
                    long start = switch (rnd.nextInt(4)) {
                        case 0 -> 0;
                        case 1 -> cur + 1 + rnd.nextInt(3);
                        default -> Math.max(1, cur - rnd.nextInt(12));
                    };
                    WatchCreateRequest req = new WatchCreateRequest(k, gen.rangeEnd(k), start, false, rnd.nextInt(5) == 0,
                            rnd.nextInt(5) == 0, rnd.nextBoolean(), 0, false);
                    long id = ws.watch(req);
                    boolean emptyRange = req.rangeEnd().length > 0 && !Bytes.isFromKey(req.rangeEnd())
                            && Bytes.compare(req.key(), req.rangeEnd()) >= 0;
                    assertEquals(emptyRange, id == -1, "only empty ranges are refused");
                    if (id >= 0) specs.add(new Spec(id, ws, req, start <= 0 ? cur + 1 : start));
                } else if (p == 6) {
                    s.watchHub().syncOnce();
                } else if (p == 7) {
                    WatchStream ws = streams.get(rnd.nextInt(streams.size()));
                    ws.requestProgress();
                } else {
                    WatchStream ws = streams.get(rnd.nextInt(streams.size()));
                    int n = rnd.nextInt(4);
                    for (int i = 0; i < n; i++) {
                        WatchResponse r = ws.poll();
                        if (r != null) got.get(ws).add(r);
                    }
                }
            }
            for (int round = 0; round < 10_000 && s.watchHub().unsyncedCount() > 0; round++) {
                s.watchHub().syncOnce();
                for (WatchStream ws : streams) got.get(ws).addAll(ws.drain());
            }
            assertEquals(0, s.watchHub().unsyncedCount(), "watchers never caught up");
            for (WatchStream ws : streams) got.get(ws).addAll(ws.drain());
            for (WatchStream ws : streams) checkStream(model, specs, ws, got.get(ws));
        }
    }

    /** The model's events for one revision, in change order. */
    static List<Event> eventsAt(Model m, long rev) { return m.revEvents.getOrDefault(rev, List.of()); }

    static boolean wants(WatchCreateRequest req, Event e) {
        if (e.type() == Event.Type.PUT ? req.noPut() : req.noDelete()) return false;
        return Model.inRange(Model.s(e.kv().key()), req.key(), req.rangeEnd());
    }

    static List<Event> expected(Model m, Spec spec) {
        List<Event> out = new ArrayList<>();
        for (long rev = spec.firstRev(); rev <= m.cur(); rev++) {
            for (Event e : eventsAt(m, rev)) if (wants(spec.req(), e)) out.add(e);
        }
        return out;
    }

    static String id(Event e) { return e.type() + "@" + e.kv().modRevision() + ":" + Model.s(e.kv().key()); }

    static void checkStream(Model m, List<Spec> specs, WatchStream ws, List<WatchResponse> rs) {
        Map<Long, Spec> mine = new HashMap<>();
        for (Spec sp : specs) if (sp.stream() == ws) mine.put(sp.id(), sp);
        Map<Long, List<Event>> received = new HashMap<>();
        Set<Long> created = new HashSet<>(), cancelled = new HashSet<>();
        Map<Long, Long> compactCancel = new HashMap<>();
        for (WatchResponse r : rs) {
            if (r.watchId() == -1 && r.created()) {
                assertTrue(r.canceled() && !r.cancelReason().isEmpty(), "refused create: " + r);
                continue;
            }
            if (r.watchId() == WatchResponse.STREAM_PROGRESS_ID) {
                // Progress at P: every live watcher here has everything up to P already.
                for (long w : created) {
                    if (cancelled.contains(w)) continue;
                    List<String> want = new ArrayList<>();
                    for (Event e : expected(m, mine.get(w))) if (e.kv().modRevision() <= r.revision()) want.add(id(e));
                    List<String> have = received.getOrDefault(w, List.of()).stream().map(WatchGuaranteeTest::id).toList();
                    assertTrue(have.size() >= want.size() && have.subList(0, want.size()).equals(want),
                            "progress " + r.revision() + " ran ahead of watcher " + w + ": want " + want + " have " + have);
                }
                continue;
            }
            Spec sp = mine.get(r.watchId());
            assertNotNull(sp, "response for unknown watcher " + r);
            if (r.created()) {
                assertTrue(created.add(r.watchId()), "created twice");
                continue;
            }
            assertTrue(created.contains(r.watchId()), "response before created: " + r);
            assertFalse(cancelled.contains(r.watchId()), "response after cancel: " + r);
            if (r.canceled()) {
                cancelled.add(r.watchId());
                if (r.compactRevision() > 0) compactCancel.put(r.watchId(), r.compactRevision());
                continue;
            }
            // A response holds whole revisions: every wanted event of each revision it touches.
            Set<Long> revs = new TreeSet<>();
            for (Event e : r.events()) revs.add(e.kv().modRevision());
            List<String> wantHere = new ArrayList<>();
            for (long rev : revs) for (Event e : eventsAt(m, rev)) if (wants(sp.req(), e)) wantHere.add(id(e));
            List<String> haveHere = new ArrayList<>(r.events().stream().map(WatchGuaranteeTest::id).toList());
            assertEquals(wantHere, haveHere, "revision split, wrong events or wrong order in " + r);
            received.computeIfAbsent(r.watchId(), x -> new ArrayList<>()).addAll(r.events());
        }
        for (Spec sp : mine.values()) {
            assertTrue(created.contains(sp.id()), "watcher " + sp.id() + " never got created");
            List<Event> want = expected(m, sp);
            List<Event> have = received.getOrDefault(sp.id(), List.of());
            List<String> wantIds = new ArrayList<>(), haveIds = new ArrayList<>();
            for (Event e : want) wantIds.add(id(e));
            for (Event e : have) haveIds.add(id(e));
            List<String> wantSorted = wantIds, haveSorted = haveIds; // exact order, change order within a revision
            if (compactCancel.containsKey(sp.id())) {
                long c = compactCancel.get(sp.id());
                assertTrue(haveSorted.size() <= wantSorted.size() && wantSorted.subList(0, haveSorted.size()).equals(haveSorted),
                        "events before a compaction cancel must be a gap-free prefix: " + haveSorted + " vs " + wantSorted);
                long lastHave = have.isEmpty() ? sp.firstRev() - 1 : have.get(have.size() - 1).kv().modRevision();
                assertTrue(c > lastHave, "cancelled at compact rev " + c + " after delivering rev " + lastHave);
            } else {
                assertEquals(wantSorted, haveSorted, "watcher " + sp.id() + " from " + sp.firstRev());
            }
            for (Event e : have) {
                if (!sp.req().prevKv()) assertNull(e.prevKv());
                else if (e.prevKv() != null) {
                    assertEquals(m.states.get((int) e.kv().modRevision() - 1).get(Model.s(e.kv().key())), e.prevKv(), "prev_kv of " + e);
                }
            }
            if (sp.req().prevKv()) {
                // Without compaction in between, prev_kv is exact; with it, it may be absent but never wrong (above).
                for (int i = 0; i < have.size(); i++) {
                    if (have.get(i).prevKv() == null) continue;
                    assertEquals(want.get(i).prevKv(), have.get(i).prevKv());
                }
            }
        }
    }
}
