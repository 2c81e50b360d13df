package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Recycled segments: a released segment file is rewritten in place as a later segment, so the
 * bytes after its log are frames of its previous life. Those must never be read as records and
 * never make a clean or torn end look corrupt, while damage to this life's frames is still found:
 * crash at every byte of a recycled tail (the torn bytes followed by the previous life's bytes),
 * bit flips, verify and repair, and reading and continuing version-0 segments.
 */
class RecycleTest {

    private static final long SEGMENT = 4096;
    private static final long SEED = Long.getLong("wal.recycle.seed", 11);

    /** A log whose last segment is a recycled file holding fewer records than its previous life. */
    record RecycledLog(MemStorage storage, List<WalEntry> acked, SnapshotMarker snap, String lastFile,
                       byte[] previousLife) {
    }

    /**
     * Writes ~12 segments, snapshots and releases (two files go to the recycle pool, the rest are
     * deleted), then writes into recycled files: {@code fullRecycled} (at most 1) whole ones, then
     * {@code tailRecords} records into the next.
     */
    static RecycledLog recycledLog(int fullRecycled, int tailRecords) throws IOException {
        assertTrue(fullRecycled <= 1, "the pool holds two files");
        MemStorage s = new MemStorage();
        List<WalEntry> acked = new ArrayList<>();
        Map<String, byte[]> pooled = new HashMap<>();
        SnapshotMarker snap;
        String lastFile;
        long i = 0;
        try (Wal wal = Wal.create(s, recycling(SEGMENT), META)) {
            while (i < 120) {
                i++;
                wal.save(List.of(entry(1, i, 100 + (int) (i * 37 % 120))), new HardState(1, 1, i - 1));
            }
            snap = new SnapshotMarker(i, 1);
            wal.saveSnapshot(snap);
            assertTrue(wal.releaseTo(i) > 2, "several segments released");
            assertEquals(1, wal.segmentNames().size(), "--max-wals=1: one live segment");
            for (String n : s.list()) {
                if (n.startsWith("recycled-")) {
                    pooled.put(n, SegmentFiles.read(s, n));
                }
            }
            assertEquals(2, pooled.size(), "the recycle pool is bounded");
            int cuts = 0;
            String current = last(wal.segmentNames());
            while (cuts <= fullRecycled) {
                i++;
                WalEntry e = entry(2, i, 60 + (int) (i * 53 % 150));
                wal.save(List.of(e), new HardState(2, 1, i - 1));
                acked.add(e);
                if (!last(wal.segmentNames()).equals(current)) {
                    current = last(wal.segmentNames());
                    cuts++;
                    // the cut's batch went to the new segment: count it as one of the tail's records
                }
            }
            for (int k = 1; k < tailRecords; k++) {
                i++;
                WalEntry e = entry(2, i, 60 + (int) (i * 53 % 150));
                wal.save(List.of(e), new HardState(2, 1, i - 1));
                acked.add(e);
            }
            lastFile = last(wal.segmentNames());
            assertEquals(current, lastFile, "tail records stay in one segment");
        }
        assertEquals(WalFormat.TAG_FIRST + 1, tagOf(s, lastFile), "the last segment is a file's second life");
        byte[] now = SegmentFiles.read(s, lastFile);
        int end = (int) new SegmentDecoder().scan(now, WalFormat.SegmentName.parse(lastFile).seq(),
                SegmentDecoder.UNKNOWN_CRC, true, (rec, off) -> { }).validEnd();
        byte[] previous = null;
        int matches = 0;
        for (byte[] old : pooled.values()) {
            // The previous life's bytes are what is left after the new log's end.
            if (old.length == now.length && java.util.Arrays.equals(old, end, now.length, now, end, now.length)) {
                previous = old;
                matches++;
            }
        }
        assertEquals(1, matches, "found the recycled file's previous life");
        assertFalse(SegmentDecoder.allZero(previous, end, previous.length), "the previous life had more data");
        return new RecycledLog(s, acked, snap, lastFile, previous);
    }

    private static String last(List<String> names) {
        return names.get(names.size() - 1);
    }

    @Test
    void releasedSegmentsAreRewrittenInPlaceAndReadBack() throws IOException {
        RecycledLog log = recycledLog(1, 4);
        MemStorage s = log.storage();
        int recycledSegments = 0;
        for (WalFormat.SegmentName n : SegmentFiles.list(s)) {
            if (tagOf(s, n.fileName()) > WalFormat.TAG_FIRST) {
                recycledSegments++;
            }
        }
        assertEquals(2, recycledSegments, "cuts took recycled files");
        assertTrue(s.list().stream().noneMatch(n -> n.endsWith(".tmp")), "a clean close leaves no spare or pool file");
        Recovered r = Wal.open(s, recycling(SEGMENT), null).recovered();
        assertEquals(log.acked(), r.entries(), "exactly this life's records, none of the previous life's");
        assertTrue(r.repairs().isEmpty(), "a recycled tail is a clean end");
        assertEquals(WalVerifier.Status.OK, WalVerifier.verify(s).status(), WalVerifier.verify(s).summary());
        assertEquals(List.of(log.snap()), Wal.validSnapshotMarkers(s));
    }

    @Test
    void recyclingOffDeletesReleasedSegmentsAndWritesFirstLives() throws IOException {
        MemStorage s = new MemStorage();
        try (Wal wal = Wal.create(s, recycling(SEGMENT).withRecycleSegments(0), META)) {
            for (int i = 1; i <= 200; i++) {
                wal.save(List.of(entry(1, i, 150)), new HardState(1, 1, i - 1));
                if (i % 50 == 0) {
                    wal.saveSnapshot(new SnapshotMarker(i, 1));
                    wal.releaseTo(i);
                    assertTrue(s.list().stream().noneMatch(n -> n.startsWith("recycled-")));
                }
            }
        }
        for (WalFormat.SegmentName n : SegmentFiles.list(s)) {
            assertEquals(WalFormat.TAG_FIRST, tagOf(s, n.fileName()));
        }
    }

    @Test
    void poolAndLiveSegmentsStayBoundedOverManyLives() throws IOException {
        MemStorage s = new MemStorage();
        List<WalEntry> since = new ArrayList<>();
        int maxTag = 0;
        try (Wal wal = Wal.create(s, recycling(SEGMENT).withMaxWals(2), META)) {
            for (int i = 1; i <= 3000; i++) {
                WalEntry e = entry(1, i, 40 + i % 200);
                wal.save(List.of(e), new HardState(1, 1, i - 1));
                since.add(e);
                if (i % 40 == 0) {
                    wal.saveSnapshot(new SnapshotMarker(i, 1));
                    since.clear();
                    wal.releaseTo(i);
                    assertTrue(wal.segmentNames().size() <= 3, "live segments: " + wal.segmentNames());
                    long tmps = s.list().stream().filter(n -> n.endsWith(".tmp")).count();
                    assertTrue(tmps <= 3, "pool (2) plus one spare at most: " + s.list());
                }
                maxTag = Math.max(maxTag, tagOf(s, last(wal.segmentNames())));
            }
        }
        assertTrue(maxTag > 10, "files live many lives: max tag " + maxTag);
        assertEquals(since, Wal.open(s, recycling(SEGMENT), null).recovered().entries());
    }

    /**
     * Tags never repeat within a file's bytes: a file that lived tag 255 is replaced by a zero-filled
     * one instead of wrapping to tag 1 over its old lives' frames (whose sequence-bound header checks
     * would then pass or fail together: CRC is linear, so it is one 16-bit test per pair of lives).
     */
    @Test
    void aFileThatLivedTag255IsReplacedNotWrapped() throws IOException {
        MemStorage s = new MemStorage();
        List<WalEntry> since = new ArrayList<>();
        int maxTag = 0;
        int freshAfterLast = 0;
        String current = null;
        try (Wal wal = Wal.create(s, recycling(SEGMENT).withRecycleSegments(1), META)) {
            for (int i = 1; freshAfterLast < 3; i++) {
                assertTrue(i < 200_000, "no file reached tag 255 (max " + maxTag + ")");
                WalEntry e = entry(1, i, 300);
                wal.save(List.of(e), new HardState(1, 1, i - 1));
                since.add(e);
                if (i % 4 == 0) { // well within a segment: each release frees one file, which the pool keeps
                    wal.saveSnapshot(new SnapshotMarker(i, 1));
                    since.clear();
                    wal.releaseTo(i);
                }
                String seg = last(wal.segmentNames());
                if (seg.equals(current)) {
                    continue;
                }
                current = seg; // a cut: look at the new segment's file before it fills
                int tag = tagOf(s, seg);
                if (tag == WalFormat.TAG_FIRST) {
                    byte[] b = SegmentFiles.read(s, seg);
                    long end = new SegmentDecoder().scan(b, WalFormat.SegmentName.parse(seg).seq(),
                            SegmentDecoder.UNKNOWN_CRC, true, (rec, off) -> { }).validEnd();
                    assertTrue(SegmentDecoder.allZero(b, (int) end, b.length),
                            "a first-life segment is a zero-filled file, not a wrapped one: " + seg);
                    if (maxTag == WalFormat.TAG_LAST) {
                        freshAfterLast++;
                    }
                }
                maxTag = Math.max(maxTag, tag);
            }
        }
        assertEquals(WalFormat.TAG_LAST, maxTag);
        assertEquals(since, Wal.open(s, recycling(SEGMENT), null).recovered().entries());
    }

    enum Cut { PREVIOUS_LIFE, ZERO_FILL, TRUNCATE }

    /**
     * Power loss at every byte of the last records of a recycled segment: the bytes from the cut on
     * are the previous life's (what a recycled file holds where the write did not land), zeros, or
     * gone. Exactly the frames wholly before the cut come back, and the log stays appendable.
     */
    @Test
    void everyCutOfARecycledTailRecoversExactlyThePrefix() throws IOException {
        RecycledLog log = recycledLog(0, 7);
        List<Frame> frames = frames(log.storage());
        List<Frame> inLast = frames.stream().filter(f -> f.file().equals(log.lastFile())).toList();
        // After the segment's header records (crc, metadata, hard state), which the cut made
        // durable before the segment got its name: every later byte is a possible power-loss point.
        long from = inLast.get(3).start();
        long end = inLast.get(inLast.size() - 1).end() + 16;
        int checked = 0;
        for (long cut = from; cut <= end; cut++) {
            for (Cut mode : Cut.values()) {
                checkCut(log, frames, cut, mode);
                checked++;
            }
        }
        assertTrue(checked > 1000, "cuts checked: " + checked);
    }

    private static void checkCut(RecycledLog log, List<Frame> frames, long cut, Cut mode) throws IOException {
        String file = log.lastFile();
        MemStorage s = log.storage().copyDurable();
        byte[] now = SegmentFiles.read(s, file);
        byte[] after = now.clone();
        switch (mode) {
            case PREVIOUS_LIFE -> System.arraycopy(log.previousLife(), (int) cut, after, (int) cut, now.length - (int) cut);
            case ZERO_FILL -> java.util.Arrays.fill(after, (int) cut, now.length, (byte) 0);
            case TRUNCATE -> after = java.util.Arrays.copyOf(now, (int) cut);
        }
        try (WalFile f = s.open(file)) {
            f.truncate(0);
            f.write(ByteBuffer.wrap(after), 0);
            f.force();
        }
        List<WalEntry> expected = new ArrayList<>();
        boolean headerCut = false;
        for (Frame fr : frames) {
            boolean untouched = fr.end() <= cut || mode != Cut.TRUNCATE
                    && java.util.Arrays.equals(now, (int) Math.max(cut, fr.start()), (int) fr.end(),
                    after, (int) Math.max(cut, fr.start()), (int) fr.end());
            boolean survives = !fr.file().equals(file) || untouched;
            if (fr.file().equals(file) && (fr.record() instanceof WalMetadata || fr.record() instanceof CrcRecord)
                    && !untouched) {
                headerCut = true;
            }
            if (headerCut && fr.file().equals(file)) {
                continue; // a segment without its header is set aside whole
            }
            if (survives && fr.record() instanceof WalEntry e && e.index() > log.snap().index()) {
                expected.add(e);
            }
        }
        String what = "cut " + mode + " of recycled " + file + " at " + cut;
        Wal.Opened opened;
        try {
            opened = Wal.open(s, recycling(SEGMENT), null);
        } catch (IOException e) {
            throw new AssertionError(what + ": open failed: " + e.getMessage(), e);
        }
        Recovered r = opened.recovered();
        assertEquals(expected, r.entries(), what);
        assertEquals(log.acked().subList(0, expected.size()), r.entries(), what + ": a prefix of the acknowledged log");
        WalEntry next = entry(9, r.lastIndex() + 1, 40);
        Wal wal = opened.wal();
        wal.save(List.of(next), new HardState(9, 1, r.hardState().commit()));
        wal.close();
        Recovered again = Wal.open(s, recycling(SEGMENT), null).recovered();
        List<WalEntry> want = new ArrayList<>(expected);
        want.add(next);
        assertEquals(want, again.entries(), what + ": append after recovery");
        assertTrue(again.repairs().isEmpty(), what + ": second open needs no repair");
    }

    /**
     * A bit flipped in any header byte, or a sampled payload byte, of this life's frames of
     * recycled segments (all but the last two, which a torn write could explain) stops open naming
     * the file and frame; verify agrees; repair keeps exactly the records before it. A flip in the
     * previous life's bytes changes nothing.
     */
    @Test
    void bitFlipsInRecycledSegments() throws IOException {
        RecycledLog log = recycledLog(1, 6);
        MemStorage base = log.storage();
        List<Frame> frames = frames(base);
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<long[]> plan = new ArrayList<>();
        for (int i = 0; i < frames.size() - 2; i++) {
            Frame f = frames.get(i);
            if (tagOf(base, f.file()) <= WalFormat.TAG_FIRST) {
                continue;
            }
            for (long off = f.start(); off < f.end(); off++) {
                if (off - f.start() < WalFormat.HEADER_BYTES || rnd.nextInt(20) == 0) {
                    plan.add(new long[] {i, off});
                }
            }
        }
        assertTrue(plan.size() > 300, "flips planned: " + plan.size());
        for (long[] c : plan) {
            int bit = rnd.nextInt(8);
            try {
                checkFlip(log, frames, (int) c[0], c[1], bit);
            } catch (AssertionError | IOException | RuntimeException e) {
                throw new AssertionError("flip at frame " + c[0] + " offset " + c[1] + " bit " + bit
                        + "; replay: mvn -pl wal test -Dtest=RecycleTest -Dwal.recycle.seed=" + SEED, e);
            }
        }
        // The previous life's bytes are not part of the log: flipping them changes nothing.
        Frame lastFrame = frames.get(frames.size() - 1);
        for (int k = 0; k < 200; k++) {
            long off = lastFrame.end() + rnd.nextLong(SEGMENT - lastFrame.end());
            MemStorage s = base.copyDurable();
            s.flipBit(lastFrame.file(), off, rnd.nextInt(8));
            Recovered r = Wal.open(s, recycling(SEGMENT), null).recovered();
            assertEquals(log.acked(), r.entries(), "flip in the previous life at " + off);
            assertTrue(r.repairs().isEmpty(), "flip in the previous life at " + off);
        }
    }

    private static void checkFlip(RecycledLog log, List<Frame> frames, int frameIdx, long offset, int bit)
            throws IOException {
        Frame hit = frames.get(frameIdx);
        MemStorage s = log.storage().copyDurable();
        s.flipBit(hit.file(), offset, bit);
        WalCorruptException e = assertThrows(WalCorruptException.class, () -> Wal.open(s, recycling(SEGMENT), null));
        assertEquals(hit.file(), e.file(), "error names the damaged file");
        assertEquals(hit.start(), e.offset(), "error names the damaged frame: " + e.getMessage());
        assertVerifyThenRepair(s, frames, frameIdx, log.snap().index(), recycling(SEGMENT));
    }

    /** verify reports a torn recycled tail; repair sets aside only the torn frame, not the previous life. */
    @Test
    void verifyAndRepairOfATornRecycledTail() throws IOException {
        RecycledLog log = recycledLog(0, 5);
        MemStorage s = log.storage();
        List<Frame> frames = frames(s);
        Frame lastFrame = frames.get(frames.size() - 1);
        long cut = lastFrame.start() + WalFormat.HEADER_BYTES + 3; // header whole, payload partly old
        byte[] now = SegmentFiles.read(s, log.lastFile());
        byte[] after = now.clone();
        System.arraycopy(log.previousLife(), (int) cut, after, (int) cut, now.length - (int) cut);
        try (WalFile f = s.open(log.lastFile())) {
            f.write(ByteBuffer.wrap(after), 0);
            f.force();
        }
        WalVerifier.Report report = WalVerifier.verify(s);
        assertEquals(WalVerifier.Status.TORN_TAIL, report.status(), report.summary());
        assertEquals(lastFrame.start(), report.problem().badOffset());
        WalVerifier.RepairReport rep = WalVerifier.repair(s);
        assertTrue(rep.changed());
        assertEquals(WalVerifier.Status.OK, rep.after().status(), rep.after().summary());
        String broken = s.list().stream().filter(n -> n.endsWith(".broken")).findFirst().orElseThrow();
        assertEquals(lastFrame.end() - lastFrame.start(), SegmentFiles.read(s, broken).length,
                "only the torn frame is set aside: " + rep.actions());
        byte[] repaired = SegmentFiles.read(s, log.lastFile());
        assertArrayEquals(java.util.Arrays.copyOfRange(after, (int) lastFrame.end(), after.length),
                java.util.Arrays.copyOfRange(repaired, (int) lastFrame.end(), repaired.length),
                "the previous life after the torn frame is left as it was");
        List<WalEntry> before = new ArrayList<>();
        for (Frame f : frames.subList(0, frames.size() - 1)) {
            if (f.record() instanceof WalEntry e && e.index() > log.snap().index()) {
                before.add(e);
            }
        }
        Recovered r = Wal.open(s, recycling(SEGMENT), null).recovered();
        assertEquals(before, r.entries());
        assertTrue(r.repairs().isEmpty());
    }

    /** Segments written before recycling (version 0) are read, continued in their format, and followed by version 1. */
    @Test
    void versionZeroSegmentsAreReadAndContinued() throws IOException {
        MemStorage s = new MemStorage();
        List<WalEntry> all = new ArrayList<>();
        try (Wal wal = Wal.create(s, small(SEGMENT), META)) {
            for (int i = 1; i <= 30; i++) {
                WalEntry e = entry(1, i, 120);
                wal.save(List.of(e), new HardState(1, 1, i - 1));
                all.add(e);
            }
        }
        rewriteAsVersion0(s);
        List<WalFormat.SegmentName> v0 = SegmentFiles.list(s);
        assertTrue(v0.size() >= 2);
        Wal.Opened o = Wal.open(s, recycling(SEGMENT), null);
        assertEquals(all, o.recovered().entries());
        try (Wal wal = o.wal()) {
            String lastV0 = v0.get(v0.size() - 1).fileName();
            int i = 30;
            while (wal.segmentNames().size() == v0.size()) {
                i++;
                WalEntry e = entry(1, i, 120);
                wal.save(List.of(e), new HardState(1, 1, i - 1));
                all.add(e);
            }
            assertEquals(WalFormat.TAG_V0, tagOf(s, lastV0), "appends continued the version-0 segment");
            List<Frame> frames = frames(s);
            for (Frame f : frames) {
                int t = SegmentFiles.read(s, f.file())[(int) f.start() + 5];
                assertEquals(tagOf(s, f.file()), t, "every frame carries its segment's tag: " + f);
            }
            assertEquals(WalFormat.TAG_FIRST, tagOf(s, last(wal.segmentNames())), "new segments are version 1");
            // Releasing version-0 files recycles them as version-1 segments.
            wal.saveSnapshot(new SnapshotMarker(i, 1));
            wal.releaseTo(i);
            for (int k = 0; k < 60; k++) {
                i++;
                WalEntry e = entry(1, i, 120);
                wal.save(List.of(e), new HardState(1, 1, i - 1));
                all.add(e);
            }
        }
        assertEquals(WalVerifier.Status.OK, WalVerifier.verify(s).status(), WalVerifier.verify(s).summary());
        Recovered r = Wal.open(s, recycling(SEGMENT), null).recovered();
        assertEquals(all.subList(all.size() - r.entries().size(), all.size()), r.entries());
        assertTrue(r.entries().size() >= 60);
    }
}
