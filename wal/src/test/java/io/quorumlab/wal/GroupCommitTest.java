package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.CrashMode;
import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * 64 concurrent appenders against a disk whose fsync takes ~1 ms: appends must share fsyncs,
 * every acknowledged record must survive a crash that drops unsynced bytes, and the log must hold
 * the records in the order their indexes were assigned.
 */
class GroupCommitTest {

    private static final int APPENDERS = 64;
    private static final int PER_APPENDER = 40;

    /** A test-only latency hook: the WAL core never sleeps, the disk model does. */
    private static final class SlowFsync implements IoHook {
        final AtomicLong forces = new AtomicLong();

        @Override
        public void beforeForce(String file) {
            if (file.endsWith(".wal")) {
                forces.incrementAndGet(); // not the preparer's flush of a spare (*.tmp)
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** How the 64 appenders wait for durability. */
    enum Mode {
        /** 64 threads, {@code append(..).join()} on a future. */
        FUTURE,
        /** 64 threads blocking in {@code submit(..).await()}. */
        BLOCKING,
        /** The same, with the committer waking only the root of a wake tree (delegateWakeups). */
        BLOCKING_WAKE_TREE,
        /** 64 logical appenders, no threads: each issues its next append from its durability callback. */
        CALLBACK_CHAIN,
        /**
         * 32 callback chains (appending on the committer, without the submission stack's CAS) and
         * 32 threads with futures (through the stack), drawing indexes from one counter: the two
         * paths into the queue must keep one submission order.
         */
        CHAINS_AND_FUTURES
    }

    /**
     * Every wait style, with a group-commit thread and with appenders committing for each other
     * (callback chains only with the thread: in caller-runs mode the first append's committer
     * would run its own chain to the end before the other chains start, by design).
     */
    @ParameterizedTest(name = "mode={0} backgroundCommit={1}")
    @CsvSource({"FUTURE,true", "FUTURE,false", "BLOCKING,true", "BLOCKING,false",
            "BLOCKING_WAKE_TREE,true", "CALLBACK_CHAIN,true", "CHAINS_AND_FUTURES,true"})
    void concurrentAppendersShareFsyncsAndEveryAckIsDurableInOrder(Mode mode, boolean backgroundCommit)
            throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> runConcurrent(mode, backgroundCommit));
    }

    private void runConcurrent(Mode mode, boolean backgroundCommit) throws Exception {
        MemStorage storage = new MemStorage();
        SlowFsync hook = new SlowFsync();
        storage.setHook(hook);
        WalHistogramMetrics metrics = new WalHistogramMetrics();
        WalOptions opts = WalOptions.defaults().withSegmentBytes(256 * 1024).withMetrics(metrics)
                .withBackgroundCommit(backgroundCommit).withDelegateWakeups(mode == Mode.BLOCKING_WAKE_TREE);
        Wal wal = Wal.create(storage, opts, META);
        long forcesBefore = hook.forces.get();

        Object indexLock = new Object();
        long[] nextIndex = {1};
        List<WalEntry> ackedInOrder = new ArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        // Chains have no threads of their own: one starter issues their first appends.
        int chains = mode == Mode.CALLBACK_CHAIN ? APPENDERS : mode == Mode.CHAINS_AND_FUTURES ? APPENDERS / 2 : 0;
        CyclicBarrier start = new CyclicBarrier((chains > 0 ? 1 : 0) + (APPENDERS - chains) + 2);
        CountDownLatch done = new CountDownLatch(APPENDERS + 1);
        List<Thread> threads = new ArrayList<>();
        if (chains > 0) {
            Thread starter = new Thread(() -> {
                try {
                    start.await();
                    for (int t = 0; t < chains; t++) {
                        new Chain(wal, t, indexLock, nextIndex, ackedInOrder, error, done).next();
                    }
                } catch (Throwable x) {
                    error.compareAndSet(null, x);
                }
            }, "chain-starter");
            starter.start();
            threads.add(starter);
        }
        {
            for (int t = chains; t < APPENDERS; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        SplittableRandom rnd = new SplittableRandom(id);
                        for (int i = 0; i < PER_APPENDER; i++) {
                            CompletableFuture<Void> f = null;
                            Wal.PendingAppend p = null;
                            WalEntry e;
                            // Raft assigns indexes in order; the queue order must match that order.
                            synchronized (indexLock) {
                                e = entry(1, nextIndex[0]++, 64 + rnd.nextInt(256));
                                if (mode == Mode.FUTURE || mode == Mode.CHAINS_AND_FUTURES) {
                                    f = wal.append(List.of(e), null);
                                } else {
                                    p = wal.submit(List.of(e), null);
                                }
                            }
                            if (f != null) {
                                f.join();
                            } else {
                                p.await();
                            }
                            synchronized (ackedInOrder) {
                                ackedInOrder.add(e);
                            }
                        }
                    } catch (Throwable x) {
                        error.compareAndSet(null, x);
                    } finally {
                        done.countDown();
                    }
                }, "appender-" + t);
                th.start();
                threads.add(th);
            }
        }
        // The member loop: blocking saves of hard-state changes, interleaved with the appenders.
        Thread member = new Thread(() -> {
            try {
                start.await();
                for (int term = 2; term < 40; term++) {
                    wal.save(List.of(), new HardState(term, 1, 0));
                }
            } catch (Throwable x) {
                error.compareAndSet(null, x);
            } finally {
                done.countDown();
            }
        }, "member-loop");
        member.start();
        start.await();
        done.await();
        if (error.get() != null) {
            throw new AssertionError("appender failed", error.get());
        }
        long appends = (long) APPENDERS * PER_APPENDER + 38;
        long forces = hook.forces.get() - forcesBefore;
        System.out.printf("group commit mode=%s backgroundCommit=%s appends=%d fsyncs=%d%n", mode, backgroundCommit,
                appends, forces);
        assertTrue(forces * 4 < appends, "expected fsyncs to be shared: forces=" + forces + " appends=" + appends);
        assertTrue(metrics.fsync().count() >= forces - 2, "fsync histogram counts every fsync");
        assertTrue(metrics.writeBytes() > appends * 64, "write bytes counted");

        // Power loss without closing: only what was fsync'd may be relied on.
        storage.setHook(IoHook.NONE);
        storage.crash(CrashMode.LOSE_UNSYNCED, new SplittableRandom(1));
        Recovered r = Wal.open(storage, WalTesting.small(256 * 1024), null).recovered();
        assertEquals(APPENDERS * PER_APPENDER, r.entries().size(), "every acknowledged append is durable");
        for (int i = 0; i < r.entries().size(); i++) {
            assertEquals(i + 1, r.entries().get(i).index(), "log order");
            assertEquals(entryLikeWritten(r.entries().get(i)), r.entries().get(i));
        }
        assertTrue(ackedInOrder.containsAll(r.entries()));
        if (mode == Mode.CALLBACK_CHAIN) {
            // Callbacks run in queue order on the committing thread: acknowledgments are in log order.
            for (int i = 0; i < ackedInOrder.size(); i++) {
                assertEquals(i + 1, ackedInOrder.get(i).index(), "callback order");
            }
        }
        assertEquals(39, r.hardState().term(), "the member loop's last saved term is durable");
        for (Thread th : threads) {
            th.join();
        }
    }

    /**
     * A logical appender: its next append is issued from the previous one's durability callback,
     * on whichever thread committed it, with no thread of its own.
     */
    private static final class Chain implements WalCallback {
        private final Wal wal;
        private final SplittableRandom rnd;
        private final Object indexLock;
        private final long[] nextIndex;
        private final List<WalEntry> acked;
        private final AtomicReference<Throwable> error;
        private final CountDownLatch done;
        private int issued;
        private WalEntry inFlight;

        Chain(Wal wal, int id, Object indexLock, long[] nextIndex, List<WalEntry> acked,
              AtomicReference<Throwable> error, CountDownLatch done) {
            this.wal = wal;
            this.rnd = new SplittableRandom(id);
            this.indexLock = indexLock;
            this.nextIndex = nextIndex;
            this.acked = acked;
            this.error = error;
            this.done = done;
        }

        void next() {
            synchronized (indexLock) {
                inFlight = entry(1, nextIndex[0]++, 64 + rnd.nextInt(256));
                issued++;
                wal.append(List.of(inFlight), null, this);
            }
        }

        @Override
        public void onComplete(Throwable failure) {
            if (failure != null) {
                error.compareAndSet(null, failure);
                done.countDown();
                return;
            }
            synchronized (acked) {
                acked.add(inFlight);
            }
            if (issued < PER_APPENDER) {
                next();
            } else {
                done.countDown();
            }
        }
    }

    /** Entries are deterministic in (term, index, size); rebuild to compare the payload too. */
    private static WalEntry entryLikeWritten(WalEntry e) {
        return entry(e.term(), e.index(), e.data().length);
    }

    @Test
    void fullQueueAnswersOverloadedInsteadOfGrowing() throws Exception {
        MemStorage storage = new MemStorage();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inFsync = new CountDownLatch(1);
        WalOptions opts = WalOptions.defaults().withSegmentBytes(64 * 1024).withMaxPendingAppends(4);
        Wal wal = Wal.create(storage, opts, META);
        storage.setHook(new IoHook() {
            @Override
            public void beforeForce(String file) {
                inFsync.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        fs.add(wal.append(List.of(entry(1, 1, 10)), null));
        inFsync.await(); // the committer is now stuck in fsync; its request still counts as pending
        for (int i = 2; i <= 4; i++) {
            fs.add(wal.append(List.of(entry(1, i, 10)), null));
        }
        CompletableFuture<Void> rejected = wal.append(List.of(entry(1, 5, 10)), null);
        CompletionException ce = assertThrows(CompletionException.class, rejected::join);
        assertInstanceOf(WalOverloadedException.class, ce.getCause());
        release.countDown();
        for (CompletableFuture<Void> f : fs) {
            f.join();
        }
        storage.setHook(IoHook.NONE);
        wal.close();
        assertEquals(4, Wal.open(storage, WalTesting.small(64 * 1024), null).recovered().entries().size());
    }

    /**
     * Appends made by completion callbacks take the slots their batch just freed (no atomic per
     * append): the bound must stay exact, with no slot lost or gained once everything completed.
     */
    @Test
    void callbackAppendsReuseFreedSlotsAndTheBoundStaysExact() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            MemStorage storage = new MemStorage();
            Wal wal = Wal.create(storage, WalOptions.defaults().withSegmentBytes(64 * 1024).withMaxPendingAppends(4), META);
            Gate gate = new Gate();
            storage.setHook(gate);
            long[] next = {1};
            List<Long> accepted = new ArrayList<>();
            List<Throwable> refused = new ArrayList<>();
            // Completed second-wave appends; how many were accepted is known only once the first wave is done.
            java.util.concurrent.atomic.AtomicInteger secondWave = new java.util.concurrent.atomic.AtomicInteger();
            // The first wave: 4 appends fill the bound while the committer is held in fsync.
            gate.close();
            List<CompletableFuture<Void>> firstWave = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                firstWave.add(f);
                appendOne(wal, next, failure -> {
                    if (failure != null) {
                        f.completeExceptionally(failure);
                        return;
                    }
                    // On the committer, inside the completion pass: two appends each, eight in all.
                    for (int k = 0; k < 2; k++) {
                        long idx = appendOne(wal, next, x -> {
                            if (x == null) {
                                secondWave.incrementAndGet();
                            }
                        });
                        synchronized (accepted) {
                            if (idx > 0) {
                                accepted.add(idx);
                            } else {
                                refused.add(new WalOverloadedException(4));
                            }
                        }
                    }
                    f.complete(null);
                });
            }
            gate.awaitHeld();
            assertTrue(appendOne(wal, next, x -> { }) < 0, "a fifth append is refused while four are pending");
            gate.open();
            for (CompletableFuture<Void> f : firstWave) {
                f.join();
            }
            int acceptedNow;
            synchronized (accepted) {
                acceptedNow = accepted.size();
            }
            // Every accepted second-wave append must be told before its slot is counted free again (more
            // than four can be accepted when a later batch completes while callbacks still append).
            while (secondWave.get() < acceptedNow) {
                Thread.sleep(1);
            }
            assertEquals(8, accepted.size() + refused.size());
            assertFalse(accepted.isEmpty(), "callback appends took freed slots");
            assertFalse(refused.isEmpty(), "callback appends hit the bound");
            // Not yet told = at most 4 queued plus the batch being completed (itself at most 4): a
            // batch's slots free when its fsync returns, before its callbacks have all run.
            assertTrue(MAX_OUTSTANDING.get() <= 8, "at most 4 pending + 4 completing: " + MAX_OUTSTANDING.get());

            // Nothing leaked or was left over: exactly 4 fit again, the fifth is refused.
            gate.close();
            List<CompletableFuture<Void>> third = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                third.add(f);
                assertTrue(appendOne(wal, next, x -> f.complete(null)) > 0, "slot " + i + " is free again");
            }
            gate.awaitHeld();
            assertTrue(appendOne(wal, next, x -> { }) < 0, "still bounded at 4");
            gate.open();
            for (CompletableFuture<Void> f : third) {
                f.join();
            }
            storage.setHook(IoHook.NONE);
            wal.close();
            List<WalEntry> got = Wal.open(storage, WalTesting.small(64 * 1024), null).recovered().entries();
            assertEquals(8 + accepted.size(), got.size());
            for (int i = 0; i < got.size(); i++) {
                assertEquals(i + 1, got.get(i).index(), "log order");
            }
        });
    }

    private static final AtomicLong OUTSTANDING = new AtomicLong();
    private static final AtomicLong MAX_OUTSTANDING = new AtomicLong();

    /** Appends the next index; returns it, or -1 (index not used) if the append was refused at once. */
    private static long appendOne(Wal wal, long[] next, WalCallback then) {
        synchronized (next) {
            long idx = next[0];
            boolean[] refusedNow = {false};
            boolean[] returned = {false};
            MAX_OUTSTANDING.accumulateAndGet(OUTSTANDING.incrementAndGet(), Math::max);
            wal.append(List.of(entry(1, idx, 16)), null, failure -> {
                OUTSTANDING.decrementAndGet();
                if (!returned[0] && failure instanceof WalOverloadedException) {
                    refusedNow[0] = true; // answered before append() returned: the index stays free
                    return;
                }
                then.onComplete(failure);
            });
            returned[0] = true;
            if (refusedNow[0]) {
                return -1;
            }
            next[0] = idx + 1;
            return idx;
        }
    }

    /** Holds every fsync of a segment while closed; tells when one is being held. */
    private static final class Gate implements IoHook {
        private volatile CountDownLatch release = new CountDownLatch(0);
        private volatile CountDownLatch held = new CountDownLatch(1);

        void close() {
            held = new CountDownLatch(1);
            release = new CountDownLatch(1);
        }

        void open() {
            release.countDown();
        }

        void awaitHeld() throws InterruptedException {
            held.await();
        }

        @Override
        public void beforeForce(String file) {
            if (!file.endsWith(".wal")) {
                return;
            }
            CountDownLatch r = release;
            if (r.getCount() > 0) {
                held.countDown();
                try {
                    r.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void aClosedWalIsNotKeptAliveByTheThreadThatUsedIt() throws Exception {
        // A per-WAL ThreadLocal whose value pointed back at the WAL kept every WAL (and its storage)
        // a long-lived thread had used reachable: ~100 MB per simulated run in the simulator's tests.
        java.lang.ref.WeakReference<Wal> ref = useAndClose();
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(ref.get(), "the closed WAL is still reachable from this thread");
    }

    private static java.lang.ref.WeakReference<Wal> useAndClose() throws Exception {
        Wal wal = Wal.create(new MemStorage(), WalOptions.defaults().withSegmentBytes(64 * 1024), META);
        wal.save(List.of(entry(1, 1, 10)), null);
        wal.submit(List.of(entry(2, 1, 10)), null).await();
        wal.close();
        return new java.lang.ref.WeakReference<>(wal);
    }

    @Test
    void fsyncErrorFailsEveryWaiterAndStopsTheWal() throws Exception {
        MemStorage storage = new MemStorage();
        Wal wal = Wal.create(storage, WalOptions.defaults().withSegmentBytes(64 * 1024), META);
        storage.setHook(new IoHook() {
            @Override
            public void beforeForce(String file) throws IOException {
                throw new IOException("EIO");
            }
        });
        CompletableFuture<Void> f = wal.append(List.of(entry(1, 1, 10)), null);
        CompletionException ce = assertThrows(CompletionException.class, f::join);
        assertTrue(ce.getCause() instanceof WalException, ce.toString());
        IOException later = assertThrows(IOException.class, () -> wal.save(List.of(entry(1, 2, 1)), null));
        assertTrue(later.getMessage().contains("failed"), later.getMessage());
        AtomicReference<Throwable> told = new AtomicReference<>();
        wal.append(List.of(entry(1, 2, 1)), null, told::set);
        assertInstanceOf(WalException.class, told.get(), "a callback append is refused at once");
        assertThrows(IOException.class, () -> wal.appendAndWait(List.of(entry(1, 2, 1)), null));
        storage.setHook(IoHook.NONE);
        assertThrows(WalException.class, wal::close);
    }
}
