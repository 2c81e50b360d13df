package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Crash at every byte: the last records of a log are cut at each byte offset, by truncating the
 * file and by zero-filling from the cut. Every reopen must yield exactly the records whose frames
 * lie wholly before the cut: a prefix of what was acknowledged, never garbage, never a hole.
 */
class CrashCutTest {

    private static final int RECORDS = 30;
    private static final int CUT_LAST_RECORDS = 6;

    enum Cut { TRUNCATE, ZERO_FILL }

    /** Writes RECORDS saves (entry + hard state), all acknowledged, into one or more segments. */
    private static List<WalEntry> writeLog(MemStorage storage, long segmentBytes) throws IOException {
        List<WalEntry> acked = new ArrayList<>();
        try (Wal wal = Wal.create(storage, small(segmentBytes), META)) {
            for (int i = 1; i <= RECORDS; i++) {
                WalEntry e = entry(1 + i / 10, i, 17 + (i * 37) % 300);
                wal.save(List.of(e), new HardState(1 + i / 10, 1, i - 1));
                acked.add(e);
            }
        }
        return acked;
    }

    @Test
    void everyCutOfTheTailRecoversExactlyThePrefixBeforeIt() throws IOException {
        MemStorage base = new MemStorage();
        List<WalEntry> acked = writeLog(base, 64 * 1024);
        assertEquals(1, SegmentFiles.list(base).size(), "this case keeps everything in one segment");
        runCuts(base, acked);
    }

    @Test
    void everyCutOfAFreshlyCutSegmentRecoversThePrefix() throws IOException {
        // Small segments: the last segment holds its header and a few records, so cuts also land
        // inside the crc and metadata records of a new segment.
        MemStorage base = new MemStorage();
        List<WalEntry> acked = writeLog(base, 4096);
        assertTrue(SegmentFiles.list(base).size() >= 2, "expected several segments");
        runCuts(base, acked);
    }

    @Test
    void everyCutOfAVersionZeroLogRecoversThePrefix() throws IOException {
        // Segments written before recycling existed (tag 0): the same rules, unchanged.
        MemStorage base = new MemStorage();
        List<WalEntry> acked = writeLog(base, 4096);
        rewriteAsVersion0(base);
        for (WalFormat.SegmentName n : SegmentFiles.list(base)) {
            assertEquals(WalFormat.TAG_V0, tagOf(base, n.fileName()));
        }
        runCuts(base, acked);
    }

    private static void runCuts(MemStorage base, List<WalEntry> acked) throws IOException {
        List<Frame> frames = frames(base);
        assertEquals(acked, entriesOf(frames), "decoder reads back what was written");
        String lastFile = frames.get(frames.size() - 1).file();
        List<Frame> inLast = frames.stream().filter(f -> f.file().equals(lastFile)).toList();
        long end = inLast.get(inLast.size() - 1).end();
        long from = 0;
        int entriesSeen = 0;
        for (int i = inLast.size() - 1; i >= 0; i--) {
            if (inLast.get(i).record() instanceof WalEntry) {
                entriesSeen++;
            }
            from = inLast.get(i).start();
            if (entriesSeen == CUT_LAST_RECORDS) {
                break;
            }
        }
        int checked = 0;
        for (long cut = from; cut <= end; cut++) {
            for (Cut mode : Cut.values()) {
                checkCut(base, frames, acked, lastFile, cut, mode);
                checked++;
            }
        }
        assertTrue(checked > 200, "too few cuts checked: " + checked);
    }

    private static void checkCut(MemStorage base, List<Frame> frames, List<WalEntry> acked, String file, long cut,
                                 Cut mode) throws IOException {
        MemStorage s = base.copyDurable();
        byte[] original = SegmentFiles.read(base, file);
        try (WalFile f = s.open(file)) {
            if (mode == Cut.TRUNCATE) {
                f.truncate(cut);
            } else {
                long size = f.size();
                f.write(ByteBuffer.allocate((int) (size - cut)), cut);
            }
            f.force();
        }
        // What must survive: every frame wholly before the cut, in earlier segments or this one.
        List<WalEntry> expected = new ArrayList<>();
        HardState expectedHs = HardState.EMPTY;
        boolean headerCut = false;
        for (Frame fr : frames) {
            // Zero-filling bytes that were already zero (a frame's padding) damages nothing.
            boolean untouched = fr.end() <= cut
                    || mode == Cut.ZERO_FILL && SegmentDecoder.allZero(original, (int) Math.max(cut, fr.start()), (int) fr.end());
            boolean survives = !fr.file().equals(file) || untouched;
            if (fr.file().equals(file) && fr.record() instanceof WalMetadata && !untouched) {
                headerCut = true;
            }
            if (!survives) {
                continue;
            }
            if (fr.record() instanceof WalEntry e) {
                expected.add(e);
            } else if (fr.record() instanceof HardState h) {
                expectedHs = h;
            }
        }
        String what = "cut " + mode + " of " + file + " at " + cut;
        Wal.Opened opened;
        try {
            opened = Wal.open(s, small(64 * 1024), null);
        } catch (IOException e) {
            throw new AssertionError(what + ": open failed: " + e.getMessage(), e);
        }
        Recovered r = opened.recovered();
        assertEquals(expected, r.entries(), what);
        assertEquals(acked.subList(0, expected.size()), r.entries(), what + ": not a prefix of the acknowledged log");
        assertEquals(expectedHs, r.hardState(), what);
        if (headerCut) {
            assertFalse(s.exists(file), what + ": a segment without a durable header is set aside");
        }
        // The log must be appendable after the repair, and the append must survive a reopen.
        WalEntry next = entry(9, r.lastIndex() + 1, 40);
        Wal wal = opened.wal();
        wal.save(List.of(next), new HardState(9, 1, expectedHs.commit()));
        wal.close();
        Recovered again = Wal.open(s, small(64 * 1024), null).recovered();
        List<WalEntry> want = new ArrayList<>(expected);
        want.add(next);
        assertEquals(want, again.entries(), what + ": append after repair");
        assertTrue(again.repairs().isEmpty(), what + ": second open needs no repair");
    }
}
