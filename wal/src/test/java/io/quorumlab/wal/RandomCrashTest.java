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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Power loss at a random fsync (including the ones inside a segment cut), under each crash mode
 * of the simulated disk. Recovery must return a prefix of what was written that contains every
 * acknowledged entry; when unsynced bytes are simply lost it must return exactly the acknowledged
 * entries.
 */
class RandomCrashTest {

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
            run(seed);
        } catch (AssertionError | IOException | RuntimeException e) {
            throw new AssertionError("failing seed " + seed + "; replay: mvn -pl wal test "
                    + "-Dtest=RandomCrashTest -Dwal.crash.seeds=" + (seed + 1), e);
        }
    }

    private static void run(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemStorage storage = new MemStorage();
        int[] ops = {0};
        int failAt = 3 + rnd.nextInt(60);
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
                if (armed[0] && ++ops[0] == failAt) {
                    throw new IOException("injected power loss");
                }
            }
        });
        List<WalEntry> written = new ArrayList<>();
        List<WalEntry> acked = new ArrayList<>();
        Wal wal = Wal.create(storage, small(4096), META);
        armed[0] = true;
        long index = 0;
        long term = 1;
        try {
            while (true) {
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
        assertThrows(IOException.class, () -> wal.save(List.of(entry(lastTerm, 1_000_000, 1)), HardState.EMPTY));

        CrashMode mode = CrashMode.values()[rnd.nextInt(CrashMode.values().length)];
        storage.setHook(IoHook.NONE);
        storage.crash(mode, rnd);

        Wal.Opened opened = Wal.open(storage, small(4096), null);
        List<WalEntry> got = opened.recovered().entries();
        String what = "mode=" + mode + " failAt=" + failAt + " duringCut=" + duringCut[0] + " written=" + written.size() + " acked=" + acked.size()
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
        List<WalEntry> again = Wal.open(storage, small(4096), null).recovered().entries();
        assertEquals(got.size() + 1, again.size(), what);
        assertEquals(next, again.get(again.size() - 1), what);
    }
}
