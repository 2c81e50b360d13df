package io.quorumlab.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.WatchResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A stream's answers to creates and cancels leave in request order, refusals included: etcd's Go
 * client sends one create at a time and pairs the next "created" with its oldest pending create, so
 * a refusal that overtakes an earlier "created" is given to the wrong watcher. Found by review in
 * session 8: a create refused in the gRPC layer (empty range) was sent before the hub's earlier
 * "created". Each seed sends a burst of random creates (valid, empty range, duplicate id) and cancels
 * without waiting, then compares every answer with the model's.
 */
class WatchAnswerOrderTest {
    static final int REQUESTS = 600;
    static final long EXPLICIT_IDS = 1_000_000;

    /** What one answer must say. */
    record Answer(long watchId, boolean created, boolean canceled, String reason) {
        static Answer of(WatchResponse r) { return new Answer(r.getWatchId(), r.getCreated(), r.getCanceled(), r.getCancelReason()); }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void answersLeaveInRequestOrder(long seed) throws Exception {
        String replay = " (replay: mvn -B -o -pl server -am test -Dtest=WatchAnswerOrderTest -Dsurefire.failIfNoSpecifiedTests=false;"
                + " seed " + seed + ")";
        SplittableRandom rnd = new SplittableRandom(seed);
        try (ApiFixture fx = new ApiFixture(); WatchClient w = new WatchClient(fx.watch())) {
            List<Answer> expected = new ArrayList<>();
            List<Long> live = new ArrayList<>();
            List<Long> liveExplicit = new ArrayList<>();
            long nextAuto = 0;
            long nextExplicit = EXPLICIT_IDS;
            for (int i = 0; i < REQUESTS; i++) {
                int op = rnd.nextInt(10);
                if (op < 4) { // valid create, id assigned by the stream
                    w.create(WatchClient.create("/order/" + i, null));
                    expected.add(new Answer(nextAuto, true, false, ""));
                    live.add(nextAuto++);
                } else if (op < 6) { // key >= range end: refused with etcd's reason
                    w.create(WatchClient.create("/order/b", "/order/a"));
                    expected.add(new Answer(-1, true, true, "mvcc: watcher range is empty"));
                } else if (op < 7) { // valid create with an explicit id
                    long id = nextExplicit++;
                    w.create(withId(WatchClient.create("/order/x" + i, null), id));
                    expected.add(new Answer(id, true, false, ""));
                    live.add(id);
                    liveExplicit.add(id);
                } else if (op < 8 && !liveExplicit.isEmpty()) { // an id still in use: refused
                    w.create(withId(WatchClient.create("/order/d" + i, null), liveExplicit.get(rnd.nextInt(liveExplicit.size()))));
                    expected.add(new Answer(-1, true, true, "mvcc: duplicate watch ID provided on the WatchStream"));
                } else if (!live.isEmpty()) { // cancel a live watcher
                    long id = live.remove(rnd.nextInt(live.size()));
                    liveExplicit.remove(id);
                    w.cancel(id);
                    expected.add(new Answer(id, false, true, ""));
                } else {
                    w.cancel(EXPLICIT_IDS - 1); // unknown: no answer, as in etcd
                }
            }
            for (int i = 0; i < expected.size(); i++) {
                WatchResponse r = w.got.poll(10, TimeUnit.SECONDS);
                if (r == null) throw new AssertionError("answer " + i + " of " + expected.size() + " missing; error=" + w.error + replay);
                assertEquals(expected.get(i), Answer.of(r), "answer " + i + replay);
            }
            assertNull(w.got.poll(200, TimeUnit.MILLISECONDS), "no answer beyond the model's" + replay);
        }
    }

    static io.etcd.jetcd.api.WatchCreateRequest.Builder withId(io.etcd.jetcd.api.WatchCreateRequest.Builder b, long id) {
        return b.setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(ProtoMapper.WATCH_CREATE_WATCH_ID_FIELD, ProtoMapper.varint(id)).build());
    }
}
