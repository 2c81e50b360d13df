package io.quorumlab.server.api;

import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kube-apiserver's GuaranteedUpdate from several clients at once, with a prev_kv watch on the
 * prefix: every successful update appears exactly once, in revision order, with the previous
 * value it replaced.
 */
class ConcurrentKubeLoadTest {
    static final int WRITERS = 4, UPDATES_PER_WRITER = 100, KEYS = 8;

    @Test
    void guaranteedUpdatesAndTheirWatchAgree() throws Exception {
        try (ApiFixture fx = new ApiFixture(); WatchClient w = new WatchClient(fx.watch())) {
            w.create(WatchClient.create("/registry/cm/", "/registry/cm0").setPrevKv(true).setProgressNotify(true));
            assertTrue(w.next().getCreated());
            AtomicInteger committed = new AtomicInteger(), conflicts = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < WRITERS; t++) {
                int writer = t;
                done.add(pool.submit(() -> {
                    KVGrpc.KVBlockingStub kv = fx.kv();
                    for (int i = 0; i < UPDATES_PER_WRITER; i++) {
                        String key = "/registry/cm/default/c" + ((i + writer) % KEYS);
                        while (true) {
                            var got = kv.range(RangeRequest.newBuilder().setKey(bs(key)).setLimit(1).build());
                            long mod = got.getKvsCount() == 0 ? 0 : got.getKvs(0).getModRevision();
                            TxnResponse r = kv.txn(TxnRequest.newBuilder()
                                    .addCompare(Compare.newBuilder().setKey(bs(key)).setTarget(Compare.CompareTarget.MOD)
                                            .setResult(Compare.CompareResult.EQUAL).setModRevision(mod))
                                    .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(key))
                                            .setValue(bs("w" + writer + "-" + i))))
                                    .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(key))))
                                    .build());
                            if (r.getSucceeded()) {
                                assertTrue(r.getResponses(0).getResponsePut().hasHeader());
                                committed.incrementAndGet();
                                break;
                            }
                            conflicts.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
            pool.shutdown();
            assertEquals(WRITERS * UPDATES_PER_WRITER, committed.get());

            Map<String, KeyValue> last = new HashMap<>();
            long lastRev = 0;
            int events = 0;
            while (events < committed.get()) {
                WatchResponse r = w.next();
                assertNotNull(r);
                for (Event e : r.getEventsList()) {
                    KeyValue kv = e.getKv();
                    assertTrue(kv.getModRevision() > lastRev, "revisions strictly increase");
                    lastRev = kv.getModRevision();
                    String key = ApiFixture.str(kv.getKey());
                    KeyValue prev = last.put(key, kv);
                    if (prev == null) {
                        assertEquals(1, kv.getVersion(), "first event of a key is its create");
                    } else {
                        assertEquals(prev, e.getPrevKv(), "prev_kv is exactly the value replaced");
                    }
                    events++;
                }
            }
            assertEquals(committed.get(), events);
            w.progress();
            WatchResponse p;
            do {
                p = w.next();
            } while (p.getWatchId() != -1);
            assertEquals(lastRev, p.getHeader().getRevision(), "progress does not run ahead of or lag the events");
        }
    }
}
