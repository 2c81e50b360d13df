package io.quorumlab.wal;

import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The on-disk layout, in one place.
 *
 * <pre>
 * segment file  = frame* then zeros up to the preallocated size
 * frame         = header(12) payload padding(0..7)        -- every frame starts 8-byte aligned
 * header        = u32 payloadLength | u8 type | u8 tag | u16 headerCheck | u32 crc   (little-endian)
 * headerCheck   = version 0 (tag 0):  low 16 bits of CRC32C(header bytes 0..5)
 *                 version 1 (tag 1..255): low 16 bits of CRC32C(segment sequence as u64 LE | header bytes 0..5)
 * crc           = CRC32C(previous frame's crc as u32 LE | header bytes 0..7 | payload)
 * </pre>
 *
 * <p><b>Format version and generation.</b> The first frame of a segment (its crc record) says the
 * segment's version: tag 0 is version 0 (every frame's byte 5 is 0, as written before segments were
 * recycled); a non-zero tag is version 1, and every frame of that segment carries the same tag. A
 * version-1 segment may be a recycled file whose bytes after the log's end are frames of its
 * previous lives: their tag differs (a file's next life takes the previous tag + 1; after its 255th
 * life a file is replaced by a zero-filled one, so no tag repeats within a file's bytes) and their
 * header check was computed with another sequence number, so a frame whose tag or check does not
 * match this segment is the end of the log exactly like zeros (SegmentDecoder).
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

    /** Tag of version-0 segments (byte 5 of every frame is 0). */
    static final int TAG_V0 = 0;
    /** Tag of a file's first life in version 1; later lives count up (see {@link #nextTag}). */
    static final int TAG_FIRST = 1;

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

    /** Header check of a version-0 frame over bytes 0..5 of a header held in {@code b} at {@code off}. */
    static int headerCheck(CRC32C crc, byte[] b, int off) {
        crc.reset();
        crc.update(b, off, 6);
        return (int) (crc.getValue() & 0xFFFF);
    }

    /**
     * Header check of a frame of a segment with sequence {@code seq}: version 0 (byte 5 is 0) as
     * {@link #headerCheck(CRC32C, byte[], int)}, version 1 also over the sequence number, so a frame
     * left from a previous life of a recycled file fails it even if its tag repeats.
     */
    static int headerCheck(CRC32C crc, byte[] b, int off, long seq) {
        crc.reset();
        if (b[off + 5] != TAG_V0) {
            updateLongLE(crc, seq);
        }
        crc.update(b, off, 6);
        return (int) (crc.getValue() & 0xFFFF);
    }

    /**
     * Tag of a file's last life: a file that carried it is not recycled again (SegmentPipeline deletes
     * it and a zero-filled file takes its place), so tags never wrap within one file's bytes.
     */
    static final int TAG_LAST = 255;

    /** The tag of a file's next life: never 0 (version 0) and never the tag it had. */
    static int nextTag(int previousTag) {
        return previousTag % 255 + 1;
    }

    static void updateLongLE(CRC32C crc, long v) {
        updateIntLE(crc, (int) v);
        updateIntLE(crc, (int) (v >>> 32));
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
