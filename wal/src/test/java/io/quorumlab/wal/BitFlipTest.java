package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A bit flipped anywhere in a record that has acknowledged records after it must stop open with
 * an error naming the file and offset; verify must point at the same place; repair must keep
 * exactly the records before the damaged frame.
 */
class BitFlipTest {

    private static final long SEED = Long.getLong("wal.bitflip.seed", 7);
    private static final int FLIPS = 500;

    @Test
    void flipInTheMiddleRefusesToOpenAndRepairKeepsThePrefix() throws IOException {
        MemStorage base = new MemStorage();
        try (Wal wal = Wal.create(base, small(4096), META)) {
            for (int i = 1; i <= 60; i++) {
                wal.save(List.of(entry(1, i, 20 + (i * 53) % 200)), new HardState(1, 1, i - 1));
            }
        }
        List<Frame> frames = frames(base);
        assertTrue(SegmentFiles.list(base).size() >= 3, "need several segments");
        // Candidates: every byte of every frame except the final two, which a torn write could explain.
        Frame lastFrame = frames.get(frames.size() - 1);
        List<long[]> candidates = new ArrayList<>(); // {frameIndex, offset}
        for (int i = 0; i < frames.size() - 2; i++) {
            Frame f = frames.get(i);
            for (long off = f.start(); off < f.end(); off++) {
                candidates.add(new long[] {i, off});
            }
        }
        SplittableRandom rnd = new SplittableRandom(SEED);
        // Every header byte of every frame (length, type, check, crc: where a misparse would hurt
        // most), then a random sample of payload and padding bytes.
        List<long[]> plan = new ArrayList<>();
        for (long[] c : candidates) {
            if (c[1] - frames.get((int) c[0]).start() < WalFormat.HEADER_BYTES) {
                plan.add(c);
            }
        }
        for (int i = 0; i < FLIPS; i++) {
            plan.add(candidates.get(rnd.nextInt(candidates.size())));
        }
        for (int n = 0; n < plan.size(); n++) {
            long[] c = plan.get(n);
            int bit = rnd.nextInt(8);
            try {
                checkFlip(base, frames, (int) c[0], c[1], bit, lastFrame);
            } catch (AssertionError | IOException | RuntimeException e) {
                throw new AssertionError("flip " + n + " (frame " + c[0] + " offset " + c[1] + " bit " + bit
                        + "); replay: mvn -pl wal test -Dtest=BitFlipTest -Dwal.bitflip.seed=" + SEED, e);
            }
        }
    }

    private static void checkFlip(MemStorage base, List<Frame> frames, int frameIdx, long offset, int bit,
                                  Frame lastFrame) throws IOException {
        Frame hit = frames.get(frameIdx);
        MemStorage s = base.copyDurable();
        s.flipBit(hit.file(), offset, bit);

        WalCorruptException e = assertThrows(WalCorruptException.class, () -> Wal.open(s, small(4096), null));
        assertEquals(hit.file(), e.file(), "error names the damaged file");
        assertEquals(hit.start(), e.offset(), "error names the damaged frame's offset");
        assertTrue(e.getMessage().contains(hit.file()) && e.getMessage().contains("offset " + hit.start())
                && e.getMessage().contains("quorumlab wal repair"), e.getMessage());

        // Expected after repair: entries of frames before the damaged one. A damaged segment
        // header sets the whole segment aside; the first segment's header cannot be repaired.
        Recovered r = assertVerifyThenRepair(s, frames, frameIdx, 0, small(4096));
        if (r == null) {
            return;
        }
        assertNotEquals(lastFrame.record(), r.entries().isEmpty() ? null : r.entries().get(r.entries().size() - 1));
    }
}
