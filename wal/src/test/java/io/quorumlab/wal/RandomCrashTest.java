package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.CrashMode;
import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Power loss at a random fsync (including the ones inside a segment cut), under each crash mode
 * of the simulated disk, three times per run on the same log (the recovered log is written on, then
 * crashed again; some recoveries lose power themselves). Recovery must return a prefix of what was
 * written that contains every acknowledged entry; when unsynced bytes are simply lost it must return
 * exactly the acknowledged entries.
 */
class RandomCrashTest {

    private static final AtomicInteger RECYCLE_RUNS = new AtomicInteger();
    private static final AtomicInteger RECYCLED_RUNS = new AtomicInteger();
    private static final AtomicInteger RECOVERIES = new AtomicInteger();
    private static final AtomicInteger RECOVERY_CRASHES = new AtomicInteger();

    /** The recycled runs must mostly crash with a rewritten file in the log, or they test nothing new. */
    @AfterAll
    static void mostRecycledRunsCrashedOverRecycledFiles() {
        System.out.println("RandomCrashTest: " + RECYCLED_RUNS + " of " + RECYCLE_RUNS
                + " recycled runs crashed with a recycled segment in the log");
        System.out.println("RandomCrashTest: power lost during " + RECOVERY_CRASHES + " of " + RECOVERIES + " recoveries");
        if (RECOVERIES.get() >= 60) {
            assertTrue(RECOVERY_CRASHES.get() * 10 > RECOVERIES.get(),
                    "power was lost during only " + RECOVERY_CRASHES + " of " + RECOVERIES + " recoveries");
        }
        if (RECYCLE_RUNS.get() >= 20) {
            assertTrue(RECYCLED_RUNS.get() * 2 > RECYCLE_RUNS.get(),
                    RECYCLED_RUNS + " of " + RECYCLE_RUNS + " recycled runs had a recycled segment at the crash");
        }
    }

    static List<Long> seeds() {
        long n = Long.getLong("wal.crash.seeds", 200);
        List<Long> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void recoveredLogIsAPrefixContainingEveryAck(long seed) throws IOException {
        try {
            run(seed, false);
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("failing seed " + seed + "; replay: mvn -pl wal test "
                    + "-Dtest=RandomCrashTest -Dwal.crash.seeds=" + (seed + 1), e);
        }
    }

    /**
     * The same with a snapshot and a release every few saves and --max-wals=1, so cuts rewrite
     * recycled files: a torn last write lands over the previous life's frames (the simulated disk
     * keeps a torn write's old bytes), and power loss also hits releases and recycled cuts.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void recoveredRecycledLogIsAPrefixContainingEveryAck(long seed) throws IOException {
        try {
            run(seed, true);
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("failing seed " + seed + " (recycled); replay: mvn -pl wal test "
                    + "-Dtest=RandomCrashTest -Dwal.crash.seeds=" + (seed + 1), e);
        }
    }

    /**
     * The same through the block-aligned direct-write path (512 B blocks): every write rewrites the
     * last partial block, so torn writes and lost unsynced bytes land on blocks that also hold
     * acknowledged records.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void recoveredDirectLogIsAPrefixContainingEveryAck(long seed) throws IOException {
        try {
            run(seed, seed % 2 == 1, 512);
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("failing seed " + seed + " (direct writes); replay: mvn -pl wal test "
                    + "-Dtest=RandomCrashTest -Dwal.crash.seeds=" + (seed + 1), e);
        }
    }

    /** Power losses per run: each recovered log is written on and crashed again. */
    private static final int LIVES = 3;

    /** Counts fsyncs and throws the injected power loss at the armed one. */
    private static final class PowerLoss implements IoHook {
        int ops;
        int failAt;
        boolean armed;
        /**
         * If the failing save cut a segment, the old segment (holding the first part of its batch)
         * was fsync'd by the cut, so more than the acknowledged entries may survive.
         */
        boolean duringCut;
        /** The armed power loss happened (it may have been swallowed by a background task). */
        boolean fired;

        void arm(int at) {
            ops = 0;
            fired = false;
            failAt = at;
            armed = true;
        }

        @Override
        public void beforeForce(String file) throws IOException {
            // Anything but a live segment's fsync belongs to a cut (new segment header, or the
            // spare's flush whose failure surfaces at the next cut).
            tick(!file.endsWith(".wal"));
        }

        @Override
        public void beforeFsyncDir() throws IOException {
            tick(true);
        }

        private void tick(boolean cut) throws IOException {
            duringCut |= cut;
            if (armed && ++ops == failAt) {
                armed = false;
                fired = true;
                throw new IOException("injected power loss");
            }
        }
    }

    /**
     * {@link #LIVES} lives of one log: write until a power loss at a random fsync, crash under a random
     * mode, recover (itself interrupted by a second power loss in some lives: a torn tail's repair must
     * survive losing power half-way), check the recovered log, then go on writing on it.
     */
    private static void run(long seed, boolean recycle) throws IOException {
        run(seed, recycle, 0);
    }

    private static void run(long seed, boolean recycle, int directBlock) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemStorage storage = new MemStorage();
        storage.setDirectBlockBytes(directBlock);
        PowerLoss power = new PowerLoss();
        storage.setHook(power);
        WalOptions opts = recycle ? recycling(4096) : small(4096);
        // The log as last written (after the replay base) and the part of it acknowledged durable.
        List<WalEntry> written = new ArrayList<>();
        List<WalEntry> acked = new ArrayList<>();
        Wal wal = Wal.create(storage, opts, META);
        long index = 0;
        long term = 1;
        int saves = 0;
        boolean recycledAtCrash = false;
        for (int life = 0; life < LIVES; life++) {
            // Recycled runs go past the first releases, into recycled cuts.
            power.arm(3 + rnd.nextInt(recycle ? 150 : 60));
            boolean releaseFailed = false;
            try {
                while (true) {
                    if (recycle && ++saves % 8 == 0 && index > 0) {
                        power.duringCut = false;
                        wal.saveSnapshot(new SnapshotMarker(index, term));
                        try {
                            wal.releaseTo(index);
                        } catch (IOException e) {
                            releaseFailed = true; // releases do not fail the WAL; the crash comes next
                            throw e;
                        }
                    }
                    int n = 1 + rnd.nextInt(5);
                    List<WalEntry> batch = new ArrayList<>();
                    if (rnd.nextInt(10) == 0) {
                        term++;
                    }
                    for (int i = 0; i < n; i++) {
                        batch.add(entry(term, ++index, rnd.nextInt(400)));
                    }
                    written.addAll(batch);
                    power.duringCut = false;
                    wal.save(batch, new HardState(term, 1, Math.max(0, index - 3)));
                    acked.addAll(batch);
                }
            } catch (IOException expected) {
                // A spare that failed to prepare fails the next cut, after the old segment's fsync.
                power.duringCut |= String.valueOf(expected.getCause()).contains("preparing next wal segment");
                assertTrue(expected.getMessage().contains("injected") || String.valueOf(expected.getCause()).contains("injected"),
                        expected.toString());
            }
            // The WAL is failed-stop now; nothing more may be appended.
            long lastTerm = term;
            Wal failed = wal;
            if (!releaseFailed) {
                assertThrows(IOException.class, () -> failed.save(List.of(entry(lastTerm, 1_000_000, 1)), HardState.EMPTY));
            }
            if (recycle) {
                for (WalFormat.SegmentName n : SegmentFiles.list(storage)) {
                    if (tagOf(storage, n.fileName()) > WalFormat.TAG_FIRST) {
                        recycledAtCrash = true;
                        break;
                    }
                }
            }
            CrashMode mode = CrashMode.values()[rnd.nextInt(CrashMode.values().length)];
            storage.crash(mode, rnd);
            String what = "life " + life + " mode=" + mode + " failAt=" + power.failAt + " duringCut=" + power.duringCut;

            // Recovery; in some lives power is lost again at one of its own fsyncs.
            Wal.Opened opened;
            boolean recoveryCrashed = false;
            if (rnd.nextInt(3) == 0) {
                power.arm(1 + rnd.nextInt(3));
                Wal.Opened first = null;
                try {
                    first = Wal.open(storage, opts, null);
                } catch (IOException e) {
                    assertTrue(String.valueOf(e).contains("injected") || String.valueOf(e.getCause()).contains("injected"), e.toString());
                }
                power.armed = false; // recovery may need fewer fsyncs than armed
                if (power.fired) {
                    // Power was lost during recovery (in its own fsyncs or in the first spare segment's
                    // preparation, which may not fail the open itself): that recovery never finished.
                    recoveryCrashed = true;
                    RECOVERY_CRASHES.incrementAndGet();
                    CrashMode again = CrashMode.values()[rnd.nextInt(CrashMode.values().length)];
                    storage.crash(again, rnd);
                    what += " recovery crashed, mode=" + again;
                    opened = Wal.open(storage, opts, null);
                } else {
                    opened = first;
                }
            } else {
                opened = Wal.open(storage, opts, null);
            }
            RECOVERIES.incrementAndGet();
            List<WalEntry> got = opened.recovered().entries();
            // Replay starts after the last snapshot marker that survived: compare from there on.
            long base = opened.recovered().snapshot().index();
            written.removeIf(e -> e.index() <= base);
            acked.removeIf(e -> e.index() <= base);
            what += " written=" + written.size() + " acked=" + acked.size() + " got=" + got.size();
            assertTrue(got.size() >= acked.size(), what + ": lost acknowledged entries");
            assertTrue(got.size() <= written.size(), what);
            assertEquals(written.subList(0, got.size()), got, what + ": not a prefix of the written log");
            if (mode == CrashMode.LOSE_UNSYNCED && !power.duringCut && !recoveryCrashed) {
                assertEquals(acked.size(), got.size(), what + ": unsynced bytes must not survive");
            }
            // What was recovered is on the device now: the next life writes on from it.
            written = new ArrayList<>(got);
            acked = new ArrayList<>(got);
            index = opened.recovered().lastIndex();
            term = Math.max(term, opened.recovered().hardState().term());
            wal = opened.wal();
        }
        if (recycle) {
            if (recycledAtCrash) RECYCLED_RUNS.incrementAndGet();
            RECYCLE_RUNS.incrementAndGet();
        }
        // Appending after the last recovery works and survives a clean reopen.
        storage.setHook(IoHook.NONE);
        WalEntry next = entry(term + 1, index + 1, 10);
        wal.save(List.of(next), new HardState(term + 1, 2, 0));
        wal.close();
        List<WalEntry> again = Wal.open(storage, opts, null).recovered().entries();
        assertEquals(written.size() + 1, again.size());
        assertEquals(next, again.get(again.size() - 1));
    }
}
