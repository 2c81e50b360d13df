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
        // Power lost while a segment cut is finishing: the old segment (holding part of the
        // failing batch) was already fsync'd, so more than the acknowledged entries may survive.
        boolean[] duringCut = {false};
        storage.setHook(new IoHook() {
            @Override
            public void beforeForce(String file) throws IOException {
                tick(file.endsWith(".tmp"));
            }

            @Override
            public void beforeFsyncDir() throws IOException {
                tick(true);
            }

            private void tick(boolean cut) throws IOException {
                if (armed[0] && ++ops[0] == failAt) {
                    duringCut[0] = cut;
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
                wal.save(batch, new HardState(term, 1, Math.max(0, index - 3)));
                acked.addAll(batch);
            }
        } catch (IOException expected) {
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
