package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The next segment is zero-filled in steps, each flushed before the next is written, so an
 * appender's fdatasync never waits behind one whole segment's writeback; a power loss at any step
 * of it still recovers exactly what was acknowledged.
 */
class SpareSegmentTest {

    private static final long STEP = SegmentPipeline.ZERO_FILL_STEP_BYTES;
    /** Three steps: STEP, 2 x STEP, then the last half step. */
    private static final long SEGMENT = 2 * STEP + STEP / 2;
    private static final int ENTRY_BYTES = 64 * 1024;

    @Test
    void spareIsZeroFilledInFlushedSteps() throws IOException {
        MemStorage storage = new MemStorage();
        List<Long> sizeAtEachForce = new ArrayList<>();
        String spare = "0" + WalFormat.TMP_SUFFIX; // the first spare, prepared when the WAL opens
        storage.setHook(new IoHook() {
            @Override
            public void beforeForce(String file) throws IOException {
                if (file.equals(spare)) {
                    try (WalFile f = storage.open(file)) {
                        sizeAtEachForce.add(f.size());
                    }
                }
            }
        });
        try (Wal wal = Wal.create(storage, small(SEGMENT), META)) {
            assertEquals(List.of(STEP, 2 * STEP, SEGMENT), sizeAtEachForce,
                    "each step extends the spare by at most one step and is flushed before the next");
            try (WalFile f = storage.open(spare)) {
                byte[] bytes = f.readAll();
                assertEquals(SEGMENT, bytes.length);
                assertEquals(-1, firstNonZero(bytes), "the spare holds only zeros");
            }
        }
    }

    @Test
    void powerLossAtEveryStepOfTheSpareRecoversExactly() throws IOException {
        for (int step = 1; step <= 3; step++) {
            MemStorage storage = new MemStorage();
            String spare = "1" + WalFormat.TMP_SUFFIX; // prepared during the first cut
            AtomicReference<MemStorage> image = new AtomicReference<>();
            long[] acked = {0};
            long[] ackedAtCrash = {-1};
            int[] forces = {0};
            int crashAt = step;
            storage.setHook(new IoHook() {
                @Override
                public void beforeForce(String file) throws IOException {
                    if (file.equals(spare) && ++forces[0] == crashAt) {
                        // With a background preparer a cut's directory fsync can make the half-filled
                        // spare's name durable; model that, then take what survives a power loss now.
                        storage.fsyncDir();
                        image.set(storage.copyDurable());
                        ackedAtCrash[0] = acked[0];
                    }
                }
            });
            List<WalEntry> all = new ArrayList<>();
            try (Wal wal = Wal.create(storage, small(SEGMENT), META)) {
                for (int i = 1; image.get() == null; i++) {
                    assertTrue(i < 1000, "no cut happened");
                    WalEntry e = entry(1, i, ENTRY_BYTES);
                    all.add(e);
                    wal.save(List.of(e), new HardState(1, 1, i - 1));
                    acked[0] = i; // save returned: fsync'd, acknowledged
                }
            }
            MemStorage crashed = image.get();
            assertTrue(crashed.exists(spare), "the crash image holds the half-filled spare");
            Wal.Opened o = Wal.open(crashed, small(SEGMENT), null);
            List<WalEntry> got = o.recovered().entries();
            String where = "power loss before flush " + step + " of the spare's zero-fill, acknowledged="
                    + ackedAtCrash[0] + ", recovered=" + got.size();
            assertTrue(got.size() >= ackedAtCrash[0], where + ": an acknowledged entry is missing");
            assertEquals(all.subList(0, got.size()), got, where + ": not a prefix of what was appended");
            for (String name : crashed.list()) {
                assertFalse(name.equals(spare), where + ": the half-filled spare survived open");
            }
            o.wal().close();
        }
    }

    private static int firstNonZero(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] != 0) {
                return i;
            }
        }
        return -1;
    }
}
