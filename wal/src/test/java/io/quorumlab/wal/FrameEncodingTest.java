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
            byte[] want = reference(f.record(), prevCrc);
            byte[] got = java.util.Arrays.copyOfRange(seg, (int) f.start(), (int) f.end());
            assertArrayEquals(want, got, "frame " + i + " at " + f.file() + ":" + f.start() + " " + f.record());
            checked++;
        }
        assertTrue(checked > written.size(), "checked " + checked + " frames");
    }

    /** The format, spelled out: header(12) = len u32 | type u8 | 0 | check u16 | crc u32; payload; zeros to 8. */
    private static byte[] reference(WalRecord rec, int prevCrc) {
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
        out.putInt(len).put((byte) type).put((byte) 0);
        CRC32C c = new CRC32C();
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
