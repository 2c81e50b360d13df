package io.quorumlab.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A due batch committed on the writer thread: reads see every write while it is in flight (open
 * overlay over sealed overlay over committed data), one batch at a time, failures are sticky.
 * The gated storage below holds each background commit until the test opens its gate.
 */
class BackgroundCommitTest {
    private static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static String s(byte[] v) { return v == null ? null : new String(v, StandardCharsets.UTF_8); }

    /** Committed tables in skip lists; each background commit waits for its own permit. */
    static final class GatedBackend extends BufferedBackend {
        final Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> committed = new EnumMap<>(Bucket.class);
        private List<Object[]> batch = new ArrayList<>();
        final java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(0);
        final List<Integer> committedBatchSizes = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile RuntimeException failNext;
        /** A reader thread to hold inside openCommitted() (after it read the overlay) until {@link #release}. */
        volatile Thread parkInOpen;
        final CountDownLatch inOpen = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GatedBackend(BackendConfig config) {
            super(config);
            for (Bucket bk : Bucket.values()) committed.put(bk, new ConcurrentSkipListMap<>());
        }

        @Override protected CommittedView openCommitted() {
            if (Thread.currentThread() == parkInOpen) {
                inOpen.countDown();
                try {
                    if (!release.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return new CommittedView() {
                @Override public byte[] get(Bucket bk, byte[] key) { return committed.get(bk).get(new ByteKey(key)); }

                @Override public Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket bk, byte[] from) {
                    List<Map.Entry<byte[], byte[]>> out = new ArrayList<>();
                    for (Map.Entry<ByteKey, byte[]> e : committed.get(bk).tailMap(new ByteKey(from), true).entrySet()) {
                        out.add(Map.entry(e.getKey().bytes(), e.getValue()));
                    }
                    return out.iterator();
                }

                @Override public void close() { }
            };
        }

        @Override protected CommittedView openFrozenCommitted() { return openCommitted(); }

        @Override protected void storePut(Bucket bk, byte[] key, byte[] value) { batch.add(new Object[] {bk, key, value}); }

        @Override protected void storeDelete(Bucket bk, byte[] key) { batch.add(new Object[] {bk, key, null}); }

        @Override protected void storeCommit() { sealBatch().run(); }

        @Override protected boolean commitsInBackground() { return true; }

        @Override protected Runnable sealBatch() {
            List<Object[]> writes = batch;
            batch = new ArrayList<>();
            return () -> {
                if (Thread.currentThread().getName().startsWith("backend-writer")) {
                    try {
                        if (!permits.tryAcquire(10, TimeUnit.SECONDS)) throw new IllegalStateException("gate never opened");
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    RuntimeException f = failNext;
                    if (f != null) throw f;
                }
                for (Object[] w : writes) {
                    ConcurrentSkipListMap<ByteKey, byte[]> t = committed.get((Bucket) w[0]);
                    if (w[2] == null) t.remove(new ByteKey((byte[]) w[1]));
                    else t.put(new ByteKey((byte[]) w[1]), (byte[]) w[2]);
                }
                committedBatchSizes.add(writes.size());
            };
        }

        @Override protected void storeClear() { for (var t : committed.values()) t.clear(); }

        @Override protected void storeAbort() { batch.clear(); }

        @Override public long sizeBytes() { return 0; }

        @Override public long sizeInUseBytes() { return 0; }

        @Override public void defragment() { commit(); }

        @Override public void close() {
            permits.release(1000);
            try {
                commit();
            } finally {
                stopWriter();
            }
        }

        @Override public void crash() {
            permits.release(1000);
            try {
                stopWriter();
            } catch (RuntimeException e) {
                // a failed commit leaves nothing to undo
            } finally {
                dropOverlay();
            }
        }
    }

    /** Two writes per batch: the second put of a batch makes it due. */
    private static BackendConfig twoPerBatch() {
        return BackendConfig.defaults().withBatch(TimeUnit.HOURS.toNanos(1), 2);
    }

    private static List<String> scan(Backend be, String from, String to) {
        List<String> out = new ArrayList<>();
        be.scan(Bucket.KEY, b(from), to == null ? null : b(to), (k, v) -> out.add(s(k) + "=" + s(v)));
        return out;
    }

    @Test
    void readsSeeTheSealedBatchWhileItCommitsAndTheOpenOverlayWinsOverIt() {
        GatedBackend be = new GatedBackend(twoPerBatch());
        try {
            be.put(Bucket.KEY, b("a"), b("1"));
            be.put(Bucket.KEY, b("c"), b("1"));
            be.commit(); // a=1, c=1 committed on the caller (explicit commit: synchronous)
            assertEquals(List.of(2), be.committedBatchSizes);

            be.put(Bucket.KEY, b("b"), b("2"));
            be.delete(Bucket.KEY, b("c"));
            be.maybeCommit(); // due: sealed and handed to the writer, which waits at the gate
            assertEquals(0, be.pendingWrites());
            be.put(Bucket.KEY, b("b"), b("3")); // open overlay over the sealed b=2
            be.put(Bucket.KEY, b("d"), b("3"));

            // In flight: committed {a=1,c=1}, sealed {b=2, c deleted}, open {b=3, d=3}.
            assertEquals(List.of(2), be.committedBatchSizes, "the sealed batch must still be held at the gate");
            assertEquals("1", s(be.get(Bucket.KEY, b("a"))));
            assertEquals("3", s(be.get(Bucket.KEY, b("b"))));
            assertNull(be.get(Bucket.KEY, b("c")), "the sealed delete hides the committed c");
            assertEquals("3", s(be.get(Bucket.KEY, b("d"))));
            assertEquals(List.of("a=1", "b=3", "d=3"), scan(be, "a", null));
            assertEquals(List.of("b=3"), scan(be, "b", "c"));

            be.permits.release();
            be.commit(); // waits for the sealed batch, then commits the open one on the caller
            assertEquals(List.of(2, 2, 2), be.committedBatchSizes, "batches commit one at a time, in order");
            assertEquals(List.of("a=1", "b=3", "d=3"), scan(be, "", null));
            assertEquals("3", s(be.committed.get(Bucket.KEY).get(new ByteKey(b("b")))));
        } finally {
            be.close();
        }
    }

    @Test
    void aSealWhileACommitIsInFlightWaitsForIt() throws Exception {
        GatedBackend be = new GatedBackend(twoPerBatch());
        ExecutorService applier = Executors.newSingleThreadExecutor();
        try {
            Future<?> first = applier.submit(() -> {
                be.put(Bucket.KEY, b("a"), b("1"));
                be.put(Bucket.KEY, b("b"), b("1"));
                be.maybeCommit();
            });
            first.get(10, TimeUnit.SECONDS);
            Future<?> second = applier.submit(() -> {
                be.put(Bucket.KEY, b("c"), b("1"));
                be.put(Bucket.KEY, b("d"), b("1"));
                be.maybeCommit(); // must wait: the first batch is still at the gate
            });
            Thread.sleep(200);
            assertFalse(second.isDone(), "a second seal went ahead while the first commit was in flight");
            be.permits.release(2);
            second.get(10, TimeUnit.SECONDS);
            applier.submit(be::commit).get(10, TimeUnit.SECONDS);
            assertEquals(List.of(2, 2), be.committedBatchSizes);
            assertEquals(4, be.committed.get(Bucket.KEY).size());
        } finally {
            applier.shutdownNow();
            be.close();
        }
    }

    /**
     * A scan that read its layers and then opened its committed view only after two commits (a seal, then
     * a later batch committed) must not let the stale overlay win over newer committed data: that merge is
     * a state that never existed. Valid answers: before the second batch, or after it.
     */
    @Test
    void aScanRacingTwoCommitsSeesOneStateOrTheOther() throws Exception {
        GatedBackend be = new GatedBackend(twoPerBatch());
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            be.put(Bucket.META, b("a"), b("1")); // one transaction: a=1, b=1
            be.put(Bucket.META, b("b"), b("1"));
            Future<List<String>> scan = reader.submit(() -> {
                be.parkInOpen = Thread.currentThread();
                List<String> out = new ArrayList<>();
                be.scan(Bucket.META, b("a"), null, (k, v) -> out.add(new String(k, StandardCharsets.UTF_8) + "="
                        + new String(v, StandardCharsets.UTF_8)));
                return out;
            });
            assertTrue(be.inOpen.await(10, TimeUnit.SECONDS)); // the reader holds the overlay {a=1, b=1}
            be.maybeCommit(); // due: sealed, committed in the background
            be.permits.release();
            be.put(Bucket.META, b("a"), b("2")); // a later transaction: a=2, c=2
            be.put(Bucket.META, b("c"), b("2"));
            be.commit(); // waits for the first batch, commits the second
            be.release.countDown();
            List<String> seen = scan.get(10, TimeUnit.SECONDS);
            if (!seen.equals(List.of("a=1", "b=1"))) {
                assertEquals(List.of("a=2", "b=1", "c=2"), seen, "a torn scan: a from the first batch, c from the second");
            }
        } finally {
            reader.shutdownNow();
            be.close();
        }
    }

    @Test
    void aFailedBackgroundCommitFailsEveryLaterCommit() {
        GatedBackend be = new GatedBackend(twoPerBatch());
        be.failNext = new IllegalStateException("disk gone");
        be.put(Bucket.KEY, b("a"), b("1"));
        be.put(Bucket.KEY, b("b"), b("1"));
        be.maybeCommit();
        be.permits.release();
        IllegalStateException first = assertThrows(IllegalStateException.class, be::commit);
        assertEquals("disk gone", first.getMessage());
        be.failNext = null;
        // Nothing may be written or committed over the lost batch, even though the storage works again.
        assertThrows(IllegalStateException.class, () -> be.put(Bucket.KEY, b("c"), b("1")));
        assertThrows(IllegalStateException.class, be::commit);
        assertThrows(IllegalStateException.class, () -> {
            be.put(Bucket.KEY, b("d"), b("1"));
            be.maybeCommit();
        });
        assertTrue(be.committed.get(Bucket.KEY).isEmpty());
        be.crash();
    }

    /** LMDB end to end: readers on other threads during background commits; what a crash keeps. */
    @Test
    void lmdbCommitsDueBatchesOnItsWriterAndReadersNeverMissAWrite(@TempDir Path dir) throws Exception {
        AtomicLong clock = new AtomicLong();
        BackendConfig cfg = BackendConfig.defaults().withBatch(1_000, 10_000).withClock(clock::get).withMapSize(64L << 20);
        int n = 3_000;
        ExecutorService readers = Executors.newFixedThreadPool(2);
        LmdbBackend be = new LmdbBackend(dir, cfg);
        try {
            AtomicLong written = new AtomicLong(-1);
            CountDownLatch done = new CountDownLatch(1);
            List<Future<Long>> checks = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                checks.add(readers.submit(() -> {
                    long reads = 0;
                    java.util.SplittableRandom rnd = new java.util.SplittableRandom(r0());
                    while (done.getCount() > 0) {
                        long upTo = written.get();
                        if (upTo < 0) continue;
                        long i = rnd.nextLong(upTo + 1);
                        byte[] v = be.get(Bucket.KEY, key(i));
                        if (v == null || !s(v).equals("v" + i)) throw new AssertionError("key " + i + " missing after it was written: " + s(v));
                        reads++;
                    }
                    return reads;
                }));
            }
            for (int i = 0; i < n; i++) {
                be.put(Bucket.KEY, key(i), b("v" + i));
                written.set(i);
                clock.addAndGet(100); // a batch is due every 10 writes
                be.maybeCommit();
            }
            done.countDown();
            for (Future<Long> c : checks) assertTrue(c.get(30, TimeUnit.SECONDS) > 0);
            assertTrue(be.commits() >= n / 10 - 1, "commits: " + be.commits());
            List<String> all = new ArrayList<>();
            be.scan(Bucket.KEY, new byte[] {0}, null, (k, v) -> all.add(s(v)));
            assertEquals(n, all.size());
            // The last write is only in the open batch (not due yet): a crash loses it and keeps the rest.
            be.put(Bucket.KEY, key(n), b("v" + n));
            be.crash();
        } finally {
            readers.shutdownNow();
        }
        try (LmdbBackend again = new LmdbBackend(dir, cfg)) {
            assertNull(again.get(Bucket.KEY, key(n)));
            for (int i = 0; i < n; i++) assertArrayEquals(b("v" + i), again.get(Bucket.KEY, key(i)), "key " + i);
        }
        assertTrue(Files.exists(dir));
    }

    private static long r0() { return Thread.currentThread().getId(); }

    private static byte[] key(long i) { return b(String.format("k%08d", i)); }
}
