package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A stream's outbox is bounded by the bytes of its events (keys, values, prev_kv), not only by their
 * count: before, 1024 queued responses of 1.5 MiB values held 1.5 GiB for one client that did not read.
 * A watcher that would pass the bound falls behind and catches up from the backend in whole revisions
 * that fit, as with the count bound; a revision larger than the bound goes out alone. Each seed
 * writes values of random sizes (some over the bound) and range deletes (several events in one
 * revision) while the reader drains irregularly; the bounded stream must get exactly what an unbounded
 * one gets, never a revision split, never more queued than the bound.
 */
class WatchByteBoundTest {
    static final long BYTES_MAX = 10_000;
    static final int OPS = 300;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void outboxStaysUnderItsByteBound(long seed) {
        String replay = " (replay: mvn -B -o -pl mvcc test -Dtest=WatchByteBoundTest; seed " + seed + ")";
        SplittableRandom rnd = new SplittableRandom(seed);
        try (MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread());
             WatchStream bounded = s.watchHub().newStream(1000, BYTES_MAX, 4);
             WatchStream reference = s.watchHub().newStream(1_000_000, Long.MAX_VALUE, 4)) {
            s.apply(0, PutRequest.of("k/seed", "x")); // so that one watcher starts in the past, caught up from the backend
            WatchCreateRequest live = WatchCreateRequest.of(Bytes.of("k/"), Bytes.of("k0"), 0).withPrevKv();
            WatchCreateRequest past = WatchCreateRequest.of(Bytes.of("k/"), Bytes.of("k0"), 1).withPrevKv();
            long liveId = bounded.watch(live);
            long pastId = bounded.watch(past);
            long refLive = reference.watch(live);
            long refPast = reference.watch(past);
            List<WatchResponse> got = new ArrayList<>(bounded.drain());
            boolean fellBehind = false;
            for (int i = 0; i < OPS; i++) {
                if (rnd.nextInt(8) == 0) {
                    s.apply(0, new DeleteRangeRequest(Bytes.of("k/" + rnd.nextInt(4)), Bytes.of("k/" + (4 + rnd.nextInt(6))), false));
                } else {
                    int size = rnd.nextInt(20) == 0 ? (int) BYTES_MAX + rnd.nextInt(5000) : rnd.nextInt(4000);
                    s.apply(0, PutRequest.of(Bytes.of("k/" + rnd.nextInt(10)), new byte[size]));
                }
                fellBehind |= s.watchHub().unsyncedCount() > 0;
                assertUnderBound(bounded, replay);
                if (rnd.nextInt(3) == 0) for (int n = rnd.nextInt(4); n > 0; n--) addIfAny(got, bounded.poll());
                if (rnd.nextInt(4) == 0) s.watchHub().syncOnce();
                assertUnderBound(bounded, replay);
            }
            for (int round = 0; round < 10_000 && (s.watchHub().unsyncedCount() > 0 || bounded.queuedEvents() > 0); round++) {
                got.addAll(bounded.drain());
                s.watchHub().syncOnce();
                assertUnderBound(bounded, replay);
            }
            got.addAll(bounded.drain());
            assertEquals(0, s.watchHub().unsyncedCount(), "every watcher caught up" + replay);
            assertTrue(fellBehind, "the byte bound never made a watcher fall behind: the test proves nothing" + replay);
            List<WatchResponse> want = reference.drain();
            assertSameEvents(want, refLive, got, liveId, replay);
            assertSameEvents(want, refPast, got, pastId, replay);
        }
    }

    static void addIfAny(List<WatchResponse> to, WatchResponse r) {
        if (r != null) to.add(r);
    }

    /** The queued event bytes stay within the bound, unless one response alone is queued. */
    static void assertUnderBound(WatchStream ws, String replay) {
        long bytes = ws.queuedEventBytes();
        int n = ws.queuedEvents();
        assertTrue(bytes <= BYTES_MAX || n == 1, n + " event responses hold " + bytes + " bytes, over " + BYTES_MAX + replay);
    }

    static void assertSameEvents(List<WatchResponse> want, long wantId, List<WatchResponse> got, long gotId, String replay) {
        List<String> w = describe(want, wantId, Long.MAX_VALUE, replay);
        List<String> g = describe(got, gotId, BYTES_MAX, replay);
        assertEquals(w.size(), g.size(), "event count of watcher " + gotId + replay);
        assertEquals(w, g, "events of watcher " + gotId + replay);
    }

    /**
     * The watcher's events, checking that no revision was split between two responses and that only
     * a single revision passes {@code bytesMax} (it went out alone; a catch-up adds nothing after it).
     */
    static List<String> describe(List<WatchResponse> rs, long id, long bytesMax, String replay) {
        List<String> out = new ArrayList<>();
        Set<Long> revsSeen = new HashSet<>();
        for (WatchResponse r : rs) {
            if (r.watchId() != id || r.events().isEmpty()) continue;
            Set<Long> mine = new HashSet<>();
            for (Event e : r.events()) {
                long rev = e.kv().modRevision();
                if (mine.add(rev)) assertTrue(revsSeen.add(rev), "revision " + rev + " split across responses of " + id + replay);
                assertTrue(mine.size() == 1 || WatchStream.eventBytes(r.events()) <= bytesMax,
                        "a response of " + WatchStream.eventBytes(r.events()) + " bytes holds several revisions" + replay);
                out.add(e.type() + " " + Bytes.show(e.kv().key()) + "@" + rev + " value " + e.kv().value().length
                        + " prev " + (e.prevKv() == null ? "-" : e.prevKv().modRevision() + "/" + e.prevKv().value().length));
            }
        }
        return out;
    }
}
