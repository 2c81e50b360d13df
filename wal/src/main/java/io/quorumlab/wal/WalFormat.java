package io.quorumlab.wal;

import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The on-disk layout, in one place.
 *
 * <pre>
 * segment file  = frame* then zeros up to the preallocated size
 * frame         = header(12) payload padding(0..7)        -- every frame starts 8-byte aligned
 * header        = u32 payloadLength | u8 type | u8 0 | u16 headerCheck | u32 crc   (little-endian)
 * headerCheck   = low 16 bits of CRC32C(header bytes 0..5)
 * crc           = CRC32C(previous frame's crc as u32 LE | header bytes 0..7 | payload)
 * </pre>
 *
 * The header check lets recovery tell a damaged length (corruption: refuse to open) from a write
 * cut short (torn tail: truncate), because a torn header never passes it. The chained CRC makes a
 * dropped, duplicated or reordered frame fail at the next frame. Each segment starts with a CRC
 * record carrying the chain value the previous segment ended with.
 */
final class WalFormat {

    static final int HEADER_BYTES = 12;
    static final int ALIGN = 8;
    /** Sanity bound on one record; a header claiming more is corrupt, never an allocation. */
    static final int MAX_PAYLOAD_BYTES = 256 << 20;

    // Record type ids, the same numbering etcd uses for its walpb record types.
    static final int TYPE_METADATA = 1;
    static final int TYPE_ENTRY = 2;
    static final int TYPE_HARDSTATE = 3;
    static final int TYPE_CRC = 4;
    static final int TYPE_SNAPSHOT = 5;

    static final int ENTRY_FIXED_BYTES = 8 + 8 + 1;
    static final int HARDSTATE_BYTES = 24;
    static final int SNAPSHOT_BYTES = 16;
    static final int CRC_BYTES = 4;

    static final String SEGMENT_SUFFIX = ".wal";
    static final String TMP_SUFFIX = ".tmp";
    static final String BROKEN_SUFFIX = ".broken";

    private WalFormat() {
    }

    static int frameBytes(int payloadLength) {
        return align(HEADER_BYTES + payloadLength);
    }

    static int align(int n) {
        return (n + ALIGN - 1) & -ALIGN;
    }

    static boolean validType(int type) {
        return type >= TYPE_METADATA && type <= TYPE_SNAPSHOT;
    }

    /** Header check over bytes 0..5 of a header held in {@code b} at {@code off}. */
    static int headerCheck(CRC32C crc, byte[] b, int off) {
        crc.reset();
        crc.update(b, off, 6);
        return (int) (crc.getValue() & 0xFFFF);
    }

    static void updateIntLE(CRC32C crc, int v) {
        crc.update(v & 0xFF);
        crc.update((v >>> 8) & 0xFF);
        crc.update((v >>> 16) & 0xFF);
        crc.update((v >>> 24) & 0xFF);
    }

    // ---- segment names: %016x-%016x.wal (sequence, index of the first entry expected in it) ----

    record SegmentName(long seq, long firstIndex) implements Comparable<SegmentName> {
        String fileName() {
            return String.format(Locale.ROOT, "%016x-%016x%s", seq, firstIndex, SEGMENT_SUFFIX);
        }

        @Override
        public int compareTo(SegmentName o) {
            return Long.compare(seq, o.seq);
        }

        /** Parses a segment file name, or returns null for anything else (tmp, broken, foreign). */
        static SegmentName parse(String name) {
            if (name.length() != 16 + 1 + 16 + SEGMENT_SUFFIX.length() || !name.endsWith(SEGMENT_SUFFIX)
                    || name.charAt(16) != '-') {
                return null;
            }
            try {
                long seq = Long.parseUnsignedLong(name.substring(0, 16), 16);
                long idx = Long.parseUnsignedLong(name.substring(17, 33), 16);
                if (seq < 0 || idx < 0) {
                    return null;
                }
                return new SegmentName(seq, idx);
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }
}
