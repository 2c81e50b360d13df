package io.quorumlab.server.api;

import static org.junit.jupiter.api.Assertions.*;

import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.WatchResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A progress request made while a watcher lags must be answered once it caught up, even when a refused
 * create (answered with watch id -1 too) goes out meanwhile: kube-apiserver's consistent reads from its
 * watch cache wait for that answer. Found by review in session 8.
 */
class WatchProgressRequestTest {
    static final String VALUE = "v".repeat(2000);

    static ApiFixture fixture() throws Exception {
        return new ApiFixture(ClientServer.Config.defaults("127.0.0.1", 0).withWatchEventCapacity(8));
    }

    static io.etcd.jetcd.api.WatchCreateRequest.Builder withId(io.etcd.jetcd.api.WatchCreateRequest.Builder b, long id) {
        return b.setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(ProtoMapper.WATCH_CREATE_WATCH_ID_FIELD, ProtoMapper.varint(id)).build());
    }

    /** Writes until the stream's unread watcher falls behind (its outbox is full, gRPC not ready). */
    static void fillUntilBehind(ApiFixture fx, String prefix, int n) throws Exception {
        for (int i = 0; i < n; i++) fx.member.applyNow(io.quorumlab.mvcc.api.PutRequest.of(prefix + "k", VALUE + i));
        WatchApiTest.waitUntil(() -> fx.member.store().watchHub().unsyncedCount() == 1);
    }

    static boolean isStreamProgress(WatchResponse r) {
        return r.getWatchId() == -1 && !r.getCreated() && !r.getCanceled() && r.getEventsCount() == 0;
    }

    /**
     * A progress request made while a watcher is unsynced must be answered once it is synced. A
     * refused create (duplicate watch id) is answered with watch id -1 too, and the sender takes
     * that answer for the progress answer: the progress request is never answered.
     */
    @Test
    void progressRequestSurvivesARefusedCreate() throws Exception {
        try (ApiFixture fx = fixture(); WatchClient w = new WatchClient(fx.watch(), 1)) {
            w.create(withId(WatchClient.create("/pq/", "/pq0"), 7));
            WatchResponse created = w.next();
            assertTrue(created.getCreated());
            assertEquals(7, created.getWatchId());
            int n = 1500;
            fillUntilBehind(fx, "/pq/", n);
            long want = fx.member.store().currentRevision();
            w.progress(); // not answerable yet: watcher 7 is behind
            w.create(withId(WatchClient.create("/pq/", "/pq0"), 7)); // duplicate id: refused on the stream
            w.request(Integer.MAX_VALUE);
            int events = 0;
            int eventsBeforeProgress = -1;
            boolean refused = false;
            WatchResponse progress = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            // Answers leave in request order: if the watcher caught up before the progress request
            // arrived, the progress answer precedes the refusal; otherwise it comes once caught up.
            while ((progress == null || !refused) && System.nanoTime() < deadline) {
                WatchResponse r = w.got.poll(200, TimeUnit.MILLISECONDS);
                if (r == null) continue;
                if (r.getWatchId() == 7) events += r.getEventsCount();
                else if (r.getWatchId() == -1 && r.getCreated() && r.getCanceled()) refused = true;
                else if (isStreamProgress(r) && progress == null) {
                    progress = r;
                    eventsBeforeProgress = events;
                }
            }
            assertTrue(refused, "the duplicate create is refused on the stream");
            assertEquals(n, eventsBeforeProgress, "all events before the progress answer");
            assertNotNull(progress, "progress request never answered (the refused create's id -1 was taken for its answer)");
            assertTrue(progress.getHeader().getRevision() >= want);
        }
    }
}
