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
 * of the simulated disk. Recovery must return a prefix of what was written that contains every
 * acknowledged entry; when unsynced bytes are simply lost it must return exactly the acknowledged
 * entries.
 */
class RandomCrashTest {

    private static final AtomicInteger RECYCLE_RUNS = new AtomicInteger();
    private static final AtomicInteger RECYCLED_RUNS = new AtomicInteger();

    /** The recycled runs must mostly crash with a rewritten file in the log, or they test nothing new. */
    @AfterAll
    static void mostRecycledRunsCrashedOverRecycledFiles() {
        System.out.println("RandomCrashTest: " + RECYCLED_RUNS + " of " + RECYCLE_RUNS
                + " recycled runs crashed with a recycled segment in the log");
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

    private static void run(long seed, boolean recycle) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemStorage storage = new MemStorage();
        int[] ops = {0};
        int[] failAt = {3 + rnd.nextInt(60)};
        boolean[] armed = {false};
        // If the failing save cut a segment, the old segment (holding the first part of its
        // batch) was fsync'd by the cut, so more than the acknowledged entries may survive.
        boolean[] duringCut = {false};
        storage.setHook(new IoHook() {
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
                duringCut[0] |= cut;
                if (armed[0] && ++ops[0] == failAt[0]) {
                    throw new IOException("injected power loss");
                }
            }
        });
        List<WalEntry> written = new ArrayList<>();
        List<WalEntry> acked = new ArrayList<>();
        WalOptions opts = recycle ? recycling(4096) : small(4096);
        Wal wal = Wal.create(storage, opts, META);
        armed[0] = true;
        long index = 0;
        long term = 1;
        boolean releaseFailed = false;
        int saves = 0;
        if (recycle) {
            failAt[0] = 3 + rnd.nextInt(150); // past the first releases, into recycled cuts
        }
        try {
            while (true) {
                if (recycle && ++saves % 8 == 0 && index > 0) {
                    duringCut[0] = false;
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
                duringCut[0] = false;
                wal.save(batch, new HardState(term, 1, Math.max(0, index - 3)));
                acked.addAll(batch);
            }
        } catch (IOException expected) {
            // A spare that failed to prepare fails the next cut, after the old segment's fsync.
            duringCut[0] |= String.valueOf(expected.getCause()).contains("preparing next wal segment");
            assertTrue(expected.getMessage().contains("injected") || String.valueOf(expected.getCause()).contains("injected"),
                    expected.toString());
        }
        // The WAL is failed-stop now; nothing more may be appended.
        long lastTerm = term;
        if (!releaseFailed) {
            assertThrows(IOException.class, () -> wal.save(List.of(entry(lastTerm, 1_000_000, 1)), HardState.EMPTY));
        }

        if (recycle) {
            for (WalFormat.SegmentName n : SegmentFiles.list(storage)) {
                if (tagOf(storage, n.fileName()) > WalFormat.TAG_FIRST) {
                    RECYCLED_RUNS.incrementAndGet();
                    break;
                }
            }
            RECYCLE_RUNS.incrementAndGet();
        }
        CrashMode mode = CrashMode.values()[rnd.nextInt(CrashMode.values().length)];
        storage.setHook(IoHook.NONE);
        storage.crash(mode, rnd);

        Wal.Opened opened = Wal.open(storage, opts, null);
        List<WalEntry> got = opened.recovered().entries();
        // Replay starts after the last snapshot marker that survived: compare from there on.
        long base = opened.recovered().snapshot().index();
        written.removeIf(e -> e.index() <= base);
        acked.removeIf(e -> e.index() <= base);
        String what = "mode=" + mode + " failAt=" + failAt[0] + " duringCut=" + duringCut[0] + " written=" + written.size() + " acked=" + acked.size()
                + " got=" + got.size();
        assertTrue(got.size() >= acked.size(), what + ": lost acknowledged entries");
        assertTrue(got.size() <= written.size(), what);
        assertEquals(written.subList(0, got.size()), got, what + ": not a prefix of the written log");
        if (mode == CrashMode.LOSE_UNSYNCED && !duringCut[0]) {
            assertEquals(acked.size(), got.size(), what + ": unsynced bytes must not survive");
        }
        // Appending after recovery works and survives a clean reopen.
        WalEntry next = entry(term + 1, opened.recovered().lastIndex() + 1, 10);
        opened.wal().save(List.of(next), new HardState(term + 1, 2, 0));
        opened.wal().close();
        List<WalEntry> again = Wal.open(storage, opts, null).recovered().entries();
        assertEquals(got.size() + 1, again.size(), what);
        assertEquals(next, again.get(again.size() - 1), what);
    }
}
