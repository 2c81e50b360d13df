package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The in-place encoder (frames that fit in the write buffer) and the streaming one (frames larger
 * than its free space) must both produce exactly the documented bytes: each frame is checked
 * against an independent encoding written from the format description in {@link WalFormat}.
 */
class FrameEncodingTest {

    @Test
    void everyFrameMatchesAReferenceEncodingOfTheFormat() throws IOException {
        long seed = Long.getLong("wal.encoding.seed", System.nanoTime());
        try {
            run(seed);
        } catch (AssertionError | RuntimeException | IOException e) {
            throw new AssertionError("seed=" + seed + " (replay: mvn -pl wal test -Dtest=FrameEncodingTest"
                    + " -Dwal.encoding.seed=" + seed + ")", e);
        }
    }

    private static void run(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemStorage storage = new MemStorage();
        // A 4 KB buffer: small entries are encoded in place, large ones stream through it in pieces.
        Wal wal = Wal.create(storage, small(1 << 20), META);
        long index = 1;
        List<WalEntry> written = new ArrayList<>();
        for (int batch = 0; batch < 60; batch++) {
            List<WalEntry> es = new ArrayList<>();
            for (int n = rnd.nextInt(1, 12); n > 0; n--) {
                int size = rnd.nextInt(10) == 0 ? rnd.nextInt(4096, 12000) : rnd.nextInt(0, 700);
                es.add(entry(1 + batch / 20, index++, size));
            }
            HardState hs = rnd.nextBoolean() ? new HardState(1 + batch / 20, 1, index - 2) : null;
            wal.save(es, hs);
            written.addAll(es);
        }
        wal.close();

        List<Frame> frames = frames(storage);
        assertEquals(written, entriesOf(frames));
        int checked = 0;
        for (int i = 1; i < frames.size(); i++) {
            Frame f = frames.get(i);
            Frame prev = frames.get(i - 1);
            if (!f.file().equals(prev.file())) {
                continue; // a segment's first frame chains from the previous file's crc record value
            }
            byte[] seg = SegmentFiles.read(storage, f.file());
            int prevCrc = ByteBuffer.wrap(seg, (int) prev.start() + 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            long seq = WalFormat.SegmentName.parse(f.file()).seq();
            int tag = seg[5] & 0xFF;
            assertEquals(WalFormat.TAG_FIRST, tag, "a new WAL writes version-1 segments, first life");
            byte[] want = reference(f.record(), prevCrc, seq, tag);
            byte[] got = java.util.Arrays.copyOfRange(seg, (int) f.start(), (int) f.end());
            assertArrayEquals(want, got, "frame " + i + " at " + f.file() + ":" + f.start() + " " + f.record());
            checked++;
        }
        assertTrue(checked > written.size(), "checked " + checked + " frames");
    }

    /**
     * Tag 0 (version 0) frames are byte for byte what segments held before recycling: an appender
     * continuing a version-0 segment writes them, and readers of that format keep working.
     */
    @Test
    void tagZeroWritesTheVersionZeroFormat() throws IOException {
        MemStorage storage = new MemStorage();
        io.quorumlab.wal.storage.WalFile file = storage.create("v0");
        FrameWriter w = new FrameWriter(4096);
        w.begin(file, 0, 0, 7, WalFormat.TAG_V0);
        w.writeCrc(0);
        List<WalRecord> recs = List.of(META, new HardState(3, 1, 2), entry(3, 5, 100), entry(3, 6, 5000),
                new SnapshotMarker(4, 3));
        long pos = w.position();
        List<long[]> spans = new ArrayList<>();
        List<Integer> prevs = new ArrayList<>();
        for (WalRecord r : recs) {
            prevs.add(w.chainCrc());
            WalTesting.write(w, r);
            spans.add(new long[] {pos, w.position()});
            pos = w.position();
        }
        w.flush();
        byte[] seg = file.readAll();
        assertEquals(0, seg[5], "crc record of a version-0 segment");
        for (int i = 0; i < recs.size(); i++) {
            byte[] got = java.util.Arrays.copyOfRange(seg, (int) spans.get(i)[0], (int) spans.get(i)[1]);
            assertArrayEquals(reference(recs.get(i), prevs.get(i), 7, 0), got, "record " + recs.get(i));
        }
    }

    /**
     * The format, spelled out: header(12) = len u32 | type u8 | tag u8 | check u16 | crc u32; payload;
     * zeros to 8. check = CRC32C(header 0..5) for tag 0, CRC32C(seq u64 LE | header 0..5) otherwise.
     */
    private static byte[] reference(WalRecord rec, int prevCrc, long seq, int tag) {
        ByteBuffer payload = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        int type;
        if (rec instanceof WalEntry e) {
            type = 2;
            payload.putLong(e.term()).putLong(e.index()).put((byte) e.type()).put(e.data());
        } else if (rec instanceof HardState h) {
            type = 3;
            payload.putLong(h.term()).putLong(h.vote()).putLong(h.commit());
        } else if (rec instanceof SnapshotMarker m) {
            type = 5;
            payload.putLong(m.index()).putLong(m.term());
        } else if (rec instanceof WalMetadata m) {
            type = 1;
            payload.put(m.data());
        } else {
            throw new AssertionError("unexpected record " + rec);
        }
        int len = payload.position();
        int frame = (12 + len + 7) & -8;
        ByteBuffer out = ByteBuffer.allocate(frame).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(len).put((byte) type).put((byte) tag);
        CRC32C c = new CRC32C();
        if (tag != 0) {
            c.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(seq).array());
        }
        c.update(out.array(), 0, 6);
        out.putShort((short) c.getValue());
        c.reset();
        c.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(prevCrc).array());
        c.update(out.array(), 0, 8);
        c.update(payload.array(), 0, len);
        out.putInt((int) c.getValue());
        out.put(payload.array(), 0, len);
        return out.array(); // the padding stays zero
    }
}
