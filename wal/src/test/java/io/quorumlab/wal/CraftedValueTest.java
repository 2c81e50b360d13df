package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * A client-supplied value (an entry's data) that holds two chained "frames" for a future
 * (sequence, tag) makes a cleanly closed, undamaged WAL fail to open once the file holding that
 * value is recycled: SegmentDecoder.currentFrameAfter takes the pair as proof that "this generation"
 * follows the log's end.
 */
class CraftedValueTest {
    private static final long SEGMENT = 256 << 10;

    static byte[] fakePairs(int maxSeq, int maxTag) {
        int pad = (8 - (WalFormat.HEADER_BYTES + WalFormat.ENTRY_FIXED_BYTES) % 8) % 8;
        int frame = WalFormat.frameBytes(WalFormat.HARDSTATE_BYTES);
        ByteBuffer b = ByteBuffer.allocate(pad + maxSeq * maxTag * 2 * frame).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C c = new CRC32C();
        byte[] a = b.array();
        for (long seq = 0; seq < maxSeq; seq++) {
            for (int tag = 1; tag <= maxTag; tag++) {
                int prevCrc = 0x12345678;
                for (int k = 0; k < 2; k++) {
                    int off = pad + (int) ((seq * maxTag + (tag - 1)) * 2 + k) * frame;
                    b.putInt(off, WalFormat.HARDSTATE_BYTES);
                    a[off + 4] = WalFormat.TYPE_HARDSTATE;
                    a[off + 5] = (byte) tag;
                    b.putShort(off + 6, (short) WalFormat.headerCheck(c, a, off, seq));
                    int crc;
                    if (k == 0) {
                        crc = prevCrc;
                    } else {
                        c.reset();
                        WalFormat.updateIntLE(c, prevCrc);
                        c.update(a, off, 8);
                        c.update(a, off + WalFormat.HEADER_BYTES, WalFormat.HARDSTATE_BYTES);
                        crc = (int) c.getValue();
                    }
                    b.putInt(off + 8, crc);
                    prevCrc = crc;
                }
            }
        }
        return a;
    }

    @Test
    void aCleanlyClosedRecycledLogOpensDespiteACraftedValue() throws IOException {
        MemStorage s = new MemStorage();
        WalOptions opts = recycling(SEGMENT);
        long i = 0;
        try (Wal wal = Wal.create(s, opts, META)) {
            while (wal.segmentNames().size() == 1 && i < 25) {
                i++;
                wal.save(List.of(entry(1, i, 4000)), new HardState(1, 1, i - 1));
            }
            i++;
            wal.save(List.of(new WalEntry(1, i, 0, fakePairs(64, 3))), new HardState(1, 1, i - 1));
            while (wal.segmentNames().size() < 4) {
                i++;
                wal.save(List.of(entry(1, i, 4000)), new HardState(1, 1, i - 1));
            }
            wal.saveSnapshot(new SnapshotMarker(i, 1));
            assertTrue(wal.releaseTo(i) >= 2);
            int before = wal.segmentNames().size();
            while (wal.recycledSegmentCuts() == 0) {
                i++;
                wal.save(List.of(entry(1, i, 4000)), new HardState(1, 1, i - 1));
            }
            i++;
            wal.save(List.of(entry(1, i, 100)), new HardState(1, 1, i - 1));
            String last = wal.segmentNames().get(wal.segmentNames().size() - 1);
            System.out.println("last=" + last + " tag=" + tagOf(s, last) + " lastIndex=" + i);
        }
        Wal.Opened o = Wal.open(s, opts, null); // throws WalCorruptException on the undamaged log
        assertEquals(i, o.recovered().entries().get(o.recovered().entries().size() - 1).index());
        o.wal().close();
    }
}
