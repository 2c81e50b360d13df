package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The watch guarantees with real threads: the apply thread writes (and compacts) on LMDB with
 * small batches, the sync thread catches up laggards every 2 ms, and one slow consumer thread per
 * stream drains tiny outboxes. The same checker as {@link WatchGuaranteeTest} judges the result.
 */
class ThreadedWatchTest {
    @Test
    void guaranteesHoldWithRealThreads() throws Exception {
        for (long seed = 1; seed <= Integer.getInteger("mvcc.threadedSeeds", 6); seed++) {
            try {
                run(seed);
            } catch (Throwable t) {
                throw new AssertionError("threaded watch test failed for seed " + seed + " (timing-dependent; rerun with "
                        + "-Dtest=ThreadedWatchTest -Dmvcc.threadedSeeds=" + seed + ")\n" + t, t);
            }
        }
    }

    static void run(long seed) throws Exception {
        Random rnd = new Random(seed);
        Model model = new Model();
        OpGenerator gen = new OpGenerator(seed * 7919, model);
        BackendConfig bc = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withBatch(1_000_000L, 5).withUnsafeNoFsync(true);
        StoreConfig sc = TestStores.noSyncThread().withWatchSyncInterval(TimeUnit.MILLISECONDS.toNanos(2));
        try (TestStores.Disk disk = new TestStores.Disk(TestStores.Kind.LMDB, bc); MvccStore s = new MvccStore(disk.open(), sc)) {
            List<WatchStream> streams = new ArrayList<>();
            Map<WatchStream, List<WatchResponse>> got = new ConcurrentHashMap<>();
            for (int i = 0; i < 3; i++) {
                WatchStream ws = s.watchHub().newStream(1 + rnd.nextInt(3), 64);
                streams.add(ws);
                got.put(ws, new CopyOnWriteArrayList<>());
            }
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> consumers = new ArrayList<>();
            for (WatchStream ws : streams) {
                Thread t = new Thread(() -> {
                    Random r = new Random(seed + ws.hashCode());
                    try {
                        while (!stop.get()) {
                            WatchResponse resp = ws.poll(5, TimeUnit.MILLISECONDS);
                            if (resp != null) got.get(ws).add(resp);
                            if (r.nextInt(20) == 0) Thread.sleep(1); // a slow consumer
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                t.start();
                consumers.add(t);
            }
            List<WatchGuaranteeTest.Spec> specs = new ArrayList<>();
            for (int step = 0; step < 600; step++) {
                int p = rnd.nextInt(12);
                if (p < 9) {
                    Request r = gen.next();
                    model.apply(r);
                    try {
                        s.apply(step + 1, r);
                    } catch (MvccException ignored) {
                        // answers are checked elsewhere
                    }
                } else if (p == 9 && specs.size() < 30) {
                    WatchStream ws = streams.get(rnd.nextInt(streams.size()));
                    byte[] k = gen.key();
                    long cur = s.currentRevision();
                    long start = rnd.nextBoolean() ? 0 : Math.max(1, cur - rnd.nextInt(30));
                    WatchCreateRequest req = new WatchCreateRequest(k, rnd.nextBoolean() ? Bytes.prefixEnd(k) : Bytes.EMPTY, start, false,
                            false, false, rnd.nextBoolean(), 0, false);
                    long id = ws.watch(req);
                    specs.add(new WatchGuaranteeTest.Spec(id, ws, req, start <= 0 ? cur + 1 : start));
                } else if (p == 10) {
                    streams.get(rnd.nextInt(streams.size())).requestProgress();
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (s.watchHub().unsyncedCount() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertEquals(0, s.watchHub().unsyncedCount(), "watchers never caught up");
            Thread.sleep(50);
            stop.set(true);
            for (Thread t : consumers) t.join(5_000);
            for (WatchStream ws : streams) got.get(ws).addAll(ws.drain());
            for (WatchStream ws : streams) WatchGuaranteeTest.checkStream(model, specs, ws, got.get(ws));
        }
    }
}
