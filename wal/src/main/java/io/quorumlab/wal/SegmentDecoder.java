package io.quorumlab.wal;

import static io.quorumlab.wal.WalFormat.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Decodes one segment held in memory and classifies how it ends.
 *
 * <p>Never throws on bad input and always terminates: each step either consumes a whole, valid,
 * aligned frame or stops. The end is one of:
 * <ul>
 *   <li>{@code CLEAN}: the rest of the file is zeros (the unused preallocated tail);</li>
 *   <li>{@code TORN}: only in the last segment, the first bad frame is followed by nothing but
 *       zeros, which is what a write cut short by a crash leaves behind;</li>
 *   <li>{@code CORRUPT}: anything else; bytes that follow a bad frame may be acknowledged records,
 *       so the caller must refuse to guess.</li>
 * </ul>
 */
final class SegmentDecoder {

    enum Outcome { CLEAN, TORN, CORRUPT }

    /** How a scan ended. {@code validEnd} is the offset just past the last good frame. */
    record Result(Outcome outcome, long validEnd, int endCrc, int records, long badOffset, String reason) {
        boolean ok() {
            return outcome != Outcome.CORRUPT;
        }
    }

    interface Sink {
        /** Receives each valid record with the offset of its frame, in file order. */
        void accept(WalRecord record, long offset);
    }

    /** Accepts the previous segment's chain value without checking it (first segment read). */
    static final long UNKNOWN_CRC = Long.MIN_VALUE;

    private final CRC32C crc = new CRC32C();

    /**
     * @param prevCrc the chain value the previous segment ended with, or {@link #UNKNOWN_CRC}
     * @param lastSegment whether a bad tail may be a torn write rather than corruption
     */
    Result scan(byte[] seg, long prevCrc, boolean lastSegment, Sink sink) {
        ByteBuffer bb = ByteBuffer.wrap(seg).order(ByteOrder.LITTLE_ENDIAN);
        int n = seg.length;
        int pos = 0;
        int chain = 0;
        int records = 0;
        while (true) {
            if (pos >= n) {
                return new Result(Outcome.CLEAN, pos, chain, records, -1, null);
            }
            if (n - pos < HEADER_BYTES) {
                if (allZero(seg, pos, n)) {
                    return new Result(Outcome.CLEAN, pos, chain, records, -1, null);
                }
                return fail(seg, lastSegment, pos, n, chain, records, "truncated frame header");
            }
            if (allZero(seg, pos, pos + HEADER_BYTES)) {
                if (allZero(seg, pos + HEADER_BYTES, n)) {
                    return new Result(Outcome.CLEAN, pos, chain, records, -1, null);
                }
                // A hole of zeros followed by data is not something an append-only writer leaves.
                return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                        "zero-filled frame header followed by non-zero data at offset " + firstNonZero(seg, pos, n));
            }
            long len = bb.getInt(pos) & 0xFFFFFFFFL;
            int type = seg[pos + 4] & 0xFF;
            int check = bb.getShort(pos + 6) & 0xFFFF;
            if (seg[pos + 5] != 0 || check != headerCheck(crc, seg, pos) || !validType(type)
                    || len > MAX_PAYLOAD_BYTES) {
                return fail(seg, lastSegment, pos, pos + HEADER_BYTES, chain, records, "invalid frame header");
            }
            int payload = (int) len;
            long extentLong = (long) frameBytes(payload);
            if (pos + extentLong > n) {
                // The header is intact, so its length is trustworthy: the file ends inside this frame.
                if (lastSegment) {
                    return new Result(Outcome.TORN, pos, chain, records, pos, "file ends inside a frame");
                }
                return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                        "frame of " + payload + " bytes extends past end of file");
            }
            int extent = (int) extentLong;
            if (pos == 0 && type != TYPE_CRC) {
                return fail(seg, lastSegment, pos, pos + extent, chain, records, "segment does not start with a crc record");
            }
            int pStart = pos + HEADER_BYTES;
            if (pos == 0) {
                if (payload != CRC_BYTES) {
                    return fail(seg, lastSegment, pos, pos + extent, chain, records, "bad crc record length " + payload);
                }
                chain = bb.getInt(pStart);
            }
            crc.reset();
            updateIntLE(crc, chain);
            crc.update(seg, pos, 8);
            crc.update(seg, pStart, payload);
            int want = bb.getInt(pos + 8);
            if ((int) crc.getValue() != want) {
                return fail(seg, lastSegment, pos, pos + extent, chain, records, "crc mismatch");
            }
            if (!allZero(seg, pStart + payload, pos + extent)) {
                return fail(seg, lastSegment, pos, pos + extent, chain, records, "non-zero frame padding");
            }
            // From here the frame is exactly what the writer wrote; a bad shape is a format error.
            WalRecord rec;
            switch (type) {
                case TYPE_CRC -> {
                    if (pos != 0) {
                        return corrupt(pos, chain, records, "crc record in the middle of a segment");
                    }
                    int carried = bb.getInt(pStart);
                    if (prevCrc != UNKNOWN_CRC && carried != (int) prevCrc) {
                        return corrupt(pos, chain, records, String.format(
                                "crc chain broken: segment starts from %08x but previous segment ended with %08x",
                                carried, (int) prevCrc));
                    }
                    rec = new CrcRecord(carried);
                }
                case TYPE_ENTRY -> {
                    if (payload < ENTRY_FIXED_BYTES) {
                        return corrupt(pos, chain, records, "entry record too short: " + payload);
                    }
                    long term = bb.getLong(pStart);
                    long index = bb.getLong(pStart + 8);
                    int etype = seg[pStart + 16] & 0xFF;
                    if (term < 0 || index < 1) {
                        return corrupt(pos, chain, records, "entry with bad term/index " + term + "/" + index);
                    }
                    byte[] data = Arrays.copyOfRange(seg, pStart + ENTRY_FIXED_BYTES, pStart + payload);
                    rec = new WalEntry(term, index, etype, data);
                }
                case TYPE_HARDSTATE -> {
                    if (payload != HARDSTATE_BYTES) {
                        return corrupt(pos, chain, records, "hard state record length " + payload);
                    }
                    long t = bb.getLong(pStart);
                    long v = bb.getLong(pStart + 8);
                    long c = bb.getLong(pStart + 16);
                    if (t < 0 || v < 0 || c < 0) {
                        return corrupt(pos, chain, records, "negative hard state");
                    }
                    rec = new HardState(t, v, c);
                }
                case TYPE_SNAPSHOT -> {
                    if (payload != SNAPSHOT_BYTES) {
                        return corrupt(pos, chain, records, "snapshot record length " + payload);
                    }
                    long i = bb.getLong(pStart);
                    long t = bb.getLong(pStart + 8);
                    if (i < 0 || t < 0) {
                        return corrupt(pos, chain, records, "negative snapshot marker");
                    }
                    rec = new SnapshotMarker(i, t);
                }
                case TYPE_METADATA -> {
                    if (payload > WalMetadata.MAX_BYTES) {
                        return corrupt(pos, chain, records, "metadata record too large: " + payload);
                    }
                    rec = new WalMetadata(Arrays.copyOfRange(seg, pStart, pStart + payload));
                }
                default -> throw new AssertionError("type validated above: " + type);
            }
            sink.accept(rec, pos);
            records++;
            chain = want;
            pos += extent;
        }
    }

    private static Result corrupt(int pos, int chain, int records, String reason) {
        return new Result(Outcome.CORRUPT, pos, chain, records, pos, reason);
    }

    /**
     * A bad frame at {@code pos}: torn if this is the last segment and nothing but zeros follows
     * the bytes the bad frame could own ({@code ownedEnd}), corrupt otherwise.
     */
    private static Result fail(byte[] seg, boolean last, int pos, long ownedEnd, int chain, int records, String reason) {
        int end = (int) Math.min(seg.length, Math.max(ownedEnd, pos));
        if (last && allZero(seg, end, seg.length)) {
            return new Result(Outcome.TORN, pos, chain, records, pos, reason);
        }
        return new Result(Outcome.CORRUPT, pos, chain, records, pos, reason);
    }

    static boolean allZero(byte[] b, int from, int to) {
        return firstNonZero(b, from, to) < 0;
    }

    static int firstNonZero(byte[] b, int from, int to) {
        for (int i = Math.max(0, from); i < to; i++) {
            if (b[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    /** Offset just past the last non-zero byte at or after {@code from}; {@code from} if none. */
    static int lastNonZeroEnd(byte[] b, int from) {
        for (int i = b.length - 1; i >= from; i--) {
            if (b[i] != 0) {
                return i + 1;
            }
        }
        return from;
    }
}
