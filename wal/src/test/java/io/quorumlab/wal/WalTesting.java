package io.quorumlab.wal;

import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Shared helpers: deterministic entries, frame offsets, small single-threaded options. */
final class WalTesting {

    static final WalMetadata META = WalMetadata.ofIds(0x1234, 0xabcd);

    private WalTesting() {
    }

    static WalOptions small(long segmentBytes) {
        return WalOptions.defaults().withSegmentBytes(segmentBytes).withWriteBufferBytes(4096).singleThreaded();
    }

    /** Small options that recycle: one live segment kept after a release, up to two files recycled. */
    static WalOptions recycling(long segmentBytes) {
        return small(segmentBytes).withMaxWals(1).withRecycleSegments(2);
    }

    /**
     * Rewrites every segment in the version-0 format (tag 0 in every frame, header checks without
     * the sequence number), as segments written before recycling existed: same records, same chain.
     */
    static void rewriteAsVersion0(MemStorage storage) throws IOException {
        int chain = 0;
        for (WalFormat.SegmentName n : SegmentFiles.list(storage)) {
            List<WalRecord> recs = new ArrayList<>();
            byte[] bytes = SegmentFiles.read(storage, n.fileName());
            new SegmentDecoder().scan(bytes, n.seq(), SegmentDecoder.UNKNOWN_CRC, false, (rec, off) -> recs.add(rec));
            try (io.quorumlab.wal.storage.WalFile f = storage.open(n.fileName())) {
                f.write(java.nio.ByteBuffer.allocate(bytes.length), 0);
                FrameWriter w = new FrameWriter(4096);
                w.begin(f, 0, chain, n.seq(), WalFormat.TAG_V0);
                w.writeCrc(chain);
                for (WalRecord r : recs) {
                    if (!(r instanceof CrcRecord)) {
                        write(w, r);
                    }
                }
                w.flush();
                f.force();
                chain = w.chainCrc();
            }
        }
    }

    /** The tag of a segment's crc record: 0 for version 0, its life's number (1, 2, ...) in version 1. */
    static int tagOf(MemStorage storage, String file) throws IOException {
        return SegmentFiles.read(storage, file)[5] & 0xFF;
    }

    /** Entry {@code index} with content derived from the index, so any mix-up is visible. */
    static WalEntry entry(long term, long index, int size) {
        byte[] data = new byte[size];
        SplittableRandom r = new SplittableRandom(index * 31 + term);
        for (int i = 0; i < size; i++) {
            data[i] = (byte) r.nextInt(256);
        }
        return new WalEntry(term, index, (int) (index % 3), data);
    }

    /** A frame as it lies in a segment: where it starts and ends, and what it holds. */
    record Frame(String file, long start, long end, WalRecord record) {
    }

    /** Every valid frame of every segment in order, using the production decoder. */
    static List<Frame> frames(MemStorage storage) throws IOException {
        List<Frame> out = new ArrayList<>();
        SegmentDecoder dec = new SegmentDecoder();
        for (WalFormat.SegmentName s : SegmentFiles.list(storage)) {
            byte[] bytes = SegmentFiles.read(storage, s.fileName());
            List<long[]> starts = new ArrayList<>();
            List<WalRecord> recs = new ArrayList<>();
            SegmentDecoder.Result res = dec.scan(bytes, s.seq(), SegmentDecoder.UNKNOWN_CRC, true, (rec, off) -> {
                starts.add(new long[] {off});
                recs.add(rec);
            });
            for (int i = 0; i < recs.size(); i++) {
                long end = i + 1 < recs.size() ? starts.get(i + 1)[0] : res.validEnd();
                out.add(new Frame(s.fileName(), starts.get(i)[0], end, recs.get(i)));
            }
        }
        return out;
    }

    static List<WalEntry> entriesOf(List<Frame> frames) {
        List<WalEntry> out = new ArrayList<>();
        for (Frame f : frames) {
            if (f.record() instanceof WalEntry e) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * After a bit flip in {@code frames.get(hitIdx)} (not in the last record): verify names the damaged
     * file and frame; repair keeps exactly the entries above {@code afterIndex} of the frames before it
     * (a damaged segment header sets its whole segment aside; the first segment's header cannot be
     * repaired) and keeps the removed bytes aside. Returns what the repaired log recovers (reopened with
     * {@code reopen}), or null when repair rightly refused.
     */
    static Recovered assertVerifyThenRepair(MemStorage s, List<Frame> frames, int hitIdx, long afterIndex, WalOptions reopen)
            throws IOException {
        Frame hit = frames.get(hitIdx);
        WalVerifier.Report report = WalVerifier.verify(s);
        org.junit.jupiter.api.Assertions.assertEquals(WalVerifier.Status.CORRUPT, report.status(), report.summary());
        org.junit.jupiter.api.Assertions.assertEquals(hit.file(), report.problem().file());
        org.junit.jupiter.api.Assertions.assertEquals(hit.start(), report.problem().badOffset());
        boolean headerHit = hit.record() instanceof CrcRecord || hit.record() instanceof WalMetadata;
        if (headerHit && hit.file().equals(frames.get(0).file())) {
            org.junit.jupiter.api.Assertions.assertThrows(WalException.class, () -> WalVerifier.repair(s));
            return null;
        }
        List<WalEntry> expected = new ArrayList<>();
        for (int i = 0; i < hitIdx; i++) {
            Frame f = frames.get(i);
            if (headerHit && f.file().equals(hit.file())) {
                break;
            }
            if (f.record() instanceof WalEntry en && en.index() > afterIndex) {
                expected.add(en);
            }
        }
        WalVerifier.RepairReport rep = WalVerifier.repair(s);
        org.junit.jupiter.api.Assertions.assertTrue(rep.changed());
        org.junit.jupiter.api.Assertions.assertNotEquals(WalVerifier.Status.CORRUPT, rep.after().status(), rep.after().summary());
        Recovered r = Wal.open(s, reopen, null).recovered();
        org.junit.jupiter.api.Assertions.assertEquals(expected, r.entries(), "repair keeps exactly the valid prefix");
        org.junit.jupiter.api.Assertions.assertTrue(s.list().stream().anyMatch(n -> n.endsWith(".broken")), "removed bytes are kept aside");
        return r;
    }

    /** Writes one record with the writer's method for its type (crc records are written by begin/writeCrc). */
    static void write(FrameWriter w, WalRecord r) throws IOException {
        if (r instanceof WalMetadata m) {
            w.writeMetadata(m.data());
        } else if (r instanceof HardState h) {
            w.writeHardState(h);
        } else if (r instanceof WalEntry e) {
            w.writeEntry(e);
        } else if (r instanceof SnapshotMarker m) {
            w.writeSnapshot(m);
        } else {
            throw new IllegalArgumentException("not a record a writer writes directly: " + r);
        }
    }
}
