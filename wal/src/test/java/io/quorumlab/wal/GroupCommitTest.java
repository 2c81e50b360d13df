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
import org.junit.jupiter.params.provider.ValueSource;

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

    /** Both commit modes: a group-commit thread, and appenders committing for each other. */
    @ParameterizedTest(name = "backgroundCommit={0}")
    @ValueSource(booleans = {true, false})
    void concurrentAppendersShareFsyncsAndEveryAckIsDurableInOrder(boolean backgroundCommit) throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> runConcurrent(backgroundCommit));
    }

    private void runConcurrent(boolean backgroundCommit) throws Exception {
        MemStorage storage = new MemStorage();
        SlowFsync hook = new SlowFsync();
        storage.setHook(hook);
        WalHistogramMetrics metrics = new WalHistogramMetrics();
        WalOptions opts = WalOptions.defaults().withSegmentBytes(256 * 1024).withMetrics(metrics)
                .withBackgroundCommit(backgroundCommit);
        Wal wal = Wal.create(storage, opts, META);
        long forcesBefore = hook.forces.get();

        Object indexLock = new Object();
        long[] nextIndex = {1};
        List<WalEntry> ackedInOrder = new ArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        CyclicBarrier start = new CyclicBarrier(APPENDERS + 2);
        CountDownLatch done = new CountDownLatch(APPENDERS + 1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < APPENDERS; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    SplittableRandom rnd = new SplittableRandom(id);
                    for (int i = 0; i < PER_APPENDER; i++) {
                        CompletableFuture<Void> f;
                        WalEntry e;
                        // Raft assigns indexes in order; the queue order must match that order.
                        synchronized (indexLock) {
                            e = entry(1, nextIndex[0]++, 64 + rnd.nextInt(256));
                            f = wal.append(List.of(e), null);
                        }
                        f.join();
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
        System.out.printf("group commit backgroundCommit=%s appends=%d fsyncs=%d%n", backgroundCommit, appends, forces);
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
        assertEquals(39, r.hardState().term(), "the member loop's last saved term is durable");
        for (Thread th : threads) {
            th.join();
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
        storage.setHook(IoHook.NONE);
        assertThrows(WalException.class, wal::close);
    }
}
