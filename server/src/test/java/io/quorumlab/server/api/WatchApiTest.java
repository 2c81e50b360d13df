package io.quorumlab.server.api;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.bs;
import static io.quorumlab.server.api.ApiFixture.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WatchApiTest {
    static ApiFixture fx;

    @BeforeAll
    static void start() throws Exception { fx = new ApiFixture(ClientServer.Config.defaults("127.0.0.1", 0).withMaxRequestBytes(4096)); }

    @AfterAll
    static void stop() throws Exception { fx.close(); }

    static long put(String k, String v) {
        return fx.kv().put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).build()).getHeader().getRevision();
    }

    static void waitUntil(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            Thread.sleep(10);
        }
    }

    @Test
    void eventsWithPrevKvCancelAndProgress() throws Exception {
        try (WatchClient w = new WatchClient(fx.watch())) {
            w.create(WatchClient.create("/w/", "/w0").setPrevKv(true).setProgressNotify(true));
            WatchResponse created = w.next();
            assertTrue(created.getCreated());
            assertEquals(FakeMember.MEMBER_ID, created.getHeader().getMemberId());
            long id = created.getWatchId();

            long r1 = put("/w/a", "1");
            long r2 = put("/w/a", "2");
            fx.member.applyNow(new DeleteRangeRequest(io.quorumlab.mvcc.api.Bytes.of("/w/a"), io.quorumlab.mvcc.api.Bytes.EMPTY, false));
            put("/other", "x");

            WatchResponse e1 = w.next();
            assertEquals(id, e1.getWatchId());
            assertEquals(r1, e1.getHeader().getRevision());
            assertEquals(Event.EventType.PUT, e1.getEvents(0).getType());
            assertFalse(e1.getEvents(0).hasPrevKv(), "a create has no previous value");
            WatchResponse e2 = w.next();
            assertEquals(r2, e2.getEvents(0).getKv().getModRevision());
            assertEquals("1", str(e2.getEvents(0).getPrevKv().getValue()), "an update carries prev_kv");
            WatchResponse e3 = w.next();
            assertEquals(Event.EventType.DELETE, e3.getEvents(0).getType());
            assertEquals("2", str(e3.getEvents(0).getPrevKv().getValue()), "a delete carries prev_kv");
            assertEquals(r2 + 1, e3.getHeader().getRevision());

            w.progress();
            WatchResponse p = w.next();
            assertEquals(-1, p.getWatchId(), "stream-wide progress answer has watch id -1");
            assertEquals(r2 + 2, p.getHeader().getRevision());
            assertEquals(0, p.getEventsCount());

            w.create(WatchClient.create("/w/b", "/w/a"));
            WatchResponse refused = w.next();
            assertTrue(refused.getCreated() && refused.getCanceled());
            assertEquals(-1, refused.getWatchId());
            assertEquals("mvcc: watcher range is empty", refused.getCancelReason());

            w.cancel(id);
            WatchResponse c = w.next();
            assertTrue(c.getCanceled());
            assertEquals(id, c.getWatchId());
            put("/w/b", "after cancel");
            w.assertQuiet(200);
        }
    }

    @Test
    void compactedStartRevisionIsCreatedThenCanceled() throws Exception {
        long r1 = put("/cw/k", "1");
        put("/cw/k", "2");
        long r3 = put("/cw/k", "3");
        fx.kv().compact(CompactionRequest.newBuilder().setRevision(r3).build());
        try (WatchClient w = new WatchClient(fx.watch())) {
            w.create(WatchClient.create("/cw/k", null).setStartRevision(r1));
            WatchResponse created = w.next();
            assertTrue(created.getCreated());
            WatchResponse canceled = w.next();
            assertTrue(canceled.getCanceled());
            assertEquals(created.getWatchId(), canceled.getWatchId());
            assertEquals(r3, canceled.getCompactRevision());
        }
    }

    @Test
    void catchUpFromAnOldRevisionWithFiltersAndFragments() throws Exception {
        long first = 0;
        for (int i = 0; i < 20; i++) {
            long r = put("/frag/" + i, "x".repeat(300));
            if (i == 0) first = r;
        }
        fx.member.applyNow(new DeleteRangeRequest(io.quorumlab.mvcc.api.Bytes.of("/frag/0"), io.quorumlab.mvcc.api.Bytes.EMPTY, false));
        try (WatchClient w = new WatchClient(fx.watch())) {
            // NOPUT: only the delete.
            w.create(WatchClient.create("/frag/", "/frag0").setStartRevision(first).addFilters(WatchCreateRequest.FilterType.NOPUT));
            assertTrue(w.next().getCreated());
            WatchResponse del = w.next();
            assertEquals(1, del.getEventsCount());
            assertEquals(Event.EventType.DELETE, del.getEvents(0).getType());

            // With fragment, a catch-up response over max-request-bytes (4 KiB here) comes in pieces.
            w.create(WatchClient.fragmenting(WatchClient.create("/frag/", "/frag0").setStartRevision(first)));
            assertTrue(w.next().getCreated());
            List<Event> events = new ArrayList<>();
            int pieces = 0;
            while (events.size() < 21) {
                WatchResponse r = w.next();
                boolean fragment = ProtoMapper.unknownVarint(r.getUnknownFields(), ProtoMapper.WATCH_RESPONSE_FRAGMENT_FIELD) != 0;
                events.addAll(r.getEventsList());
                pieces++;
                assertEquals(events.size() < 21, fragment, "every piece but the last is marked fragment");
                assertTrue(r.getSerializedSize() <= 4096 + 512, "piece size " + r.getSerializedSize());
            }
            assertTrue(pieces > 1);
            for (int i = 0; i < 20; i++) assertEquals(first + i, events.get(i).getKv().getModRevision());
        }
    }

    /** A client that reads nothing must not slow writes down; it later gets every event, in order, once. */
    @Test
    void slowConsumerDoesNotBlockWritesAndCatchesUp() throws Exception {
        int n = 3000;
        String value = "v".repeat(2000);
        try (WatchClient w = new WatchClient(fx.watch(), 1)) {
            w.create(WatchClient.create("/slow/", "/slow0"));
            assertTrue(w.next().getCreated());
            long start = System.nanoTime();
            long firstRev = 0;
            for (int i = 0; i < n; i++) {
                long r = put("/slow/k", value + i);
                if (i == 0) firstRev = r;
            }
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "writes stalled");
            assertEquals(1, fx.member.store().watchHub().unsyncedCount(), "the unread watcher fell behind (outbox full)");
            long expected = firstRev;
            w.request(Integer.MAX_VALUE);
            while (expected < firstRev + n) {
                WatchResponse r = w.next();
                for (Event e : r.getEventsList()) {
                    assertEquals(expected, e.getKv().getModRevision(), "ordered, no gaps, no duplicates");
                    expected++;
                }
            }
            w.assertQuiet(100);
        }
    }

    @Test
    void hasLeaderMetadataAndStreamLifecycle() throws Exception {
        waitUntil(() -> fx.server.openWatchStreams() == 0);
        Metadata md = new Metadata();
        md.put(ApiInterceptor.HAS_LEADER, "true");
        WatchGrpc.WatchStub requireLeader = fx.watch().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        long saved = fx.member.leader;
        fx.member.leader = 0;
        try (WatchClient w = new WatchClient(requireLeader)) {
            w.create(WatchClient.create("/x", null));
            waitUntil(() -> w.error != null);
            StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, w.error);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertEquals("etcdserver: no leader", e.getStatus().getDescription());
        } finally {
            fx.member.leader = saved;
        }
        WatchClient w = new WatchClient(requireLeader);
        w.create(WatchClient.create("/x", null));
        assertTrue(w.next().getCreated());
        assertEquals(1, fx.server.openWatchStreams());
        w.close();
        waitUntil(() -> w.completed);
        waitUntil(() -> fx.server.openWatchStreams() == 0);
    }

    @Test
    void progressNotifyIntervalAndLeaderLossEndHasLeaderStreams() throws Exception {
        ClientServer.Config cfg = ClientServer.Config.defaults("127.0.0.1", 0)
                .withWatchProgressNotifyInterval(java.time.Duration.ofMillis(200))
                .withNoLeaderStreamTimeout(java.time.Duration.ofMillis(300));
        try (ApiFixture f = new ApiFixture(cfg)) {
            Metadata md = new Metadata();
            md.put(ApiInterceptor.HAS_LEADER, "true");
            try (WatchClient w = new WatchClient(f.watch().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md)))) {
                w.create(WatchClient.create("/pn/", "/pn0").setProgressNotify(true));
                WatchResponse created = w.next();
                long rev = f.kv().put(PutRequest.newBuilder().setKey(bs("/elsewhere")).setValue(bs("v")).build()).getHeader().getRevision();
                WatchResponse progress = w.next();
                assertEquals(created.getWatchId(), progress.getWatchId(), "periodic progress goes to the watcher itself");
                assertEquals(0, progress.getEventsCount());
                assertTrue(progress.getHeader().getRevision() >= rev - 1);

                f.member.leader = 0;
                waitUntil(() -> w.error != null);
                StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, w.error);
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
                assertEquals("etcdserver: no leader", e.getStatus().getDescription());
                waitUntil(() -> f.server.openWatchStreams() == 0);
            }
        }
    }
}
