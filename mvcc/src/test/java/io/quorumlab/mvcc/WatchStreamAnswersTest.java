package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every answer to a create or cancel is queued in the stream's one outbox, refusals included, so they
 * leave in request order (the server's own refusal path once overtook earlier "created" answers).
 */
class WatchStreamAnswersTest {
    static WatchCreateRequest key(String k) { return WatchCreateRequest.of(Bytes.of(k), Bytes.EMPTY, 0); }

    static String show(WatchResponse r) {
        return r.watchId() + (r.created() ? " created" : "") + (r.canceled() ? " canceled" : "")
                + (r.cancelReason().isEmpty() ? "" : " " + r.cancelReason());
    }

    @Test
    void aStreamAtItsWatcherLimitRefusesOnTheStreamInOrder() {
        try (MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread());
             WatchStream ws = s.watchHub().newStream(4, 2)) {
            assertEquals(0, ws.watch(key("a")));
            assertEquals(1, ws.watch(key("b")));
            assertEquals(-1, ws.watch(key("c"))); // before: an IllegalStateException the server answered out of band
            assertTrue(ws.cancel(0));
            assertEquals(-1, ws.watch(WatchCreateRequest.of(Bytes.of("z"), Bytes.of("a"), 0)));
            assertEquals(2, ws.watch(key("d")));
            assertEquals(List.of("0 created", "1 created", "-1 created canceled " + WatchHub.TOO_MANY_WATCHERS, "0 canceled",
                    "-1 created canceled " + WatchHub.EMPTY_RANGE, "2 created"), ws.drain().stream().map(WatchStreamAnswersTest::show).toList());
            assertFalse(ws.overrun());
        }
    }

    /** A client that never reads its answers overruns the control reserve: its owner must end the stream. */
    @Test
    void unreadAnswersOverrunTheStream() {
        try (MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread());
             WatchStream ws = s.watchHub().newStream(4, 1)) {
            int reserve = 2 + WatchStream.PROGRESS_RESERVE; // 2 x maxWatchers + progress slots
            for (int i = 0; i < reserve; i++) ws.watch(WatchCreateRequest.of(Bytes.of("z"), Bytes.of("a"), 0));
            assertFalse(ws.overrun());
            assertEquals(-1, ws.watch(key("k")));
            assertTrue(ws.overrun(), "an answer was lost without marking the stream");
            assertEquals(reserve, ws.drain().size());
        }
    }
}
