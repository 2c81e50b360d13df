package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Readers on other threads while the apply thread writes with tiny batches (constant commits and
 * overlay swaps) and compacts: every read must equal the model's state at the revision it reports,
 * or fail as compacted. Catches torn transactions and reads that fall between overlay and storage.
 */
class ConcurrentReadTest {
    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void readersSeeWholeRevisions(TestStores.Kind kind) throws Exception {
        BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withBatch(200_000L, 3).withUnsafeNoFsync(true);
        Model model = new Model();
        OpGenerator gen = new OpGenerator(77, model);
        Map<Long, TreeMap<String, KeyValue>> published = new ConcurrentHashMap<>();
        published.put(1L, new TreeMap<>());
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong reads = new AtomicLong(), compactedReads = new AtomicLong();
        try (TestStores.Disk disk = new TestStores.Disk(kind, cfg); MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread())) {
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                long seed = t;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(seed);
                    try {
                        while (!done.get()) {
                            long cur = s.currentRevision();
                            long rev = rnd.nextBoolean() ? 0 : Math.max(1, cur - rnd.nextInt(20));
                            RangeRequest all = RangeRequest.builder(Model.b("\0")).fromKey().revision(rev).build();
                            RangeResponse r;
                            try {
                                r = s.range(all);
                            } catch (MvccException e) {
                                assertEquals(ErrorCode.COMPACTED, e.code());
                                compactedReads.incrementAndGet();
                                continue;
                            }
                            long at = rev == 0 ? r.header().revision() : rev;
                            TreeMap<String, KeyValue> want = published.get(at);
                            assertNotNull(want, "read at unpublished revision " + at);
                            assertEquals(new ArrayList<>(want.values()), r.kvs(), "state at " + at);
                            reads.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                th.start();
                readers.add(th);
            }
            for (int i = 1; i <= 3000 && failure.get() == null; i++) {
                Request r = gen.next();
                if (r instanceof RangeRequest) continue;
                model.apply(r);
                published.put(model.cur(), model.states.get((int) model.cur()));
                try {
                    s.apply(i, r);
                } catch (MvccException ignored) {
                    // answers are checked by ModelBasedTest
                }
            }
            done.set(true);
            for (Thread th : readers) th.join(10_000);
            if (failure.get() != null) throw new AssertionError(failure.get());
            assertTrue(reads.get() > 100, "readers barely ran: " + reads.get());
        }
    }
}
