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
 *   <li>{@code CLEAN}: the rest of the file is zeros (the unused preallocated tail) or, in a
 *       version-1 segment (possibly a recycled file), zeros and frames of its previous lives;</li>
 *   <li>{@code TORN}: only in the last segment, the first bad frame is followed by nothing but
 *       zeros (version 1: by nothing of this segment's generation), which is what a write cut
 *       short by a crash leaves behind;</li>
 *   <li>{@code CORRUPT}: anything else; bytes that follow a bad frame may be acknowledged records,
 *       so the caller must refuse to guess.</li>
 * </ul>
 *
 * <p><b>Version 1 (tagged frames).</b> A frame whose tag differs from the segment's, or whose
 * header check fails under this segment's sequence number, is not part of this life of the file.
 * Where the log stops, the rest of the file is searched for proof that frames of this generation
 * follow: a frame with this tag and header check whose CRC chains from the stopping frame's stored
 * or recomputed CRC (or from the last good frame); frames merely chained to each other prove
 * nothing. Stale frames of a previous life carry another tag (tags never repeat within a file) and
 * fail the sequence-bound header check, so they never count; their CRCs chained from another
 * history, so they are never read as records either.
 */
final class SegmentDecoder {

    enum Outcome { CLEAN, TORN, CORRUPT }

    /**
     * How a scan ended. {@code validEnd} is the offset just past the last good frame; {@code tag}
     * the segment's tag (0: version 0); {@code damagedEnd} the end of the bytes a torn tail may own
     * (version 0: the last non-zero byte; version 1: the bad frame, whose header is not trusted
     * beyond its 12 bytes).
     */
    record Result(Outcome outcome, long validEnd, int endCrc, int records, long badOffset, String reason, int tag,
                  long damagedEnd) {
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
    // The segment being scanned (set by scan; the decoder is single-threaded and reused).
    private byte[] seg;
    private ByteBuffer bb;
    private long seq;
    private int tag;
    private boolean last;
    private long nextChain;

    /**
     * @param seq the segment's sequence number (from its name), bound into version-1 header checks
     * @param prevCrc the chain value the previous segment ended with, or {@link #UNKNOWN_CRC}
     * @param nextChain the chain value the next segment's crc record carries (see
     *        {@link SegmentFiles#carriedCrc}), or {@link #UNKNOWN_CRC}: where a version-1 segment's
     *        log seems to end, a different value proves frames were lost there
     * @param lastSegment whether a bad tail may be a torn write rather than corruption
     */
    Result scan(byte[] seg, long seq, long prevCrc, long nextChain, boolean lastSegment, Sink sink) {
        ByteBuffer bb = ByteBuffer.wrap(seg).order(ByteOrder.LITTLE_ENDIAN);
        int n = seg.length;
        // The crc record's tag is the segment's version (0) or generation (1..255).
        int tag = n >= HEADER_BYTES ? seg[5] & 0xFF : TAG_V0;
        boolean v1 = tag != TAG_V0;
        this.seg = seg;
        this.bb = bb;
        this.seq = seq;
        this.tag = tag;
        this.last = lastSegment;
        this.nextChain = lastSegment ? UNKNOWN_CRC : nextChain;
        try {
            return scan(prevCrc, lastSegment, sink, n, v1);
        } finally {
            this.seg = null;
            this.bb = null;
        }
    }

    /** Shorthand for callers that know nothing of the next segment. */
    Result scan(byte[] seg, long seq, long prevCrc, boolean lastSegment, Sink sink) {
        return scan(seg, seq, prevCrc, UNKNOWN_CRC, lastSegment, sink);
    }

    private Result scan(long prevCrc, boolean lastSegment, Sink sink, int n, boolean v1) {
        byte[] seg = this.seg;
        ByteBuffer bb = this.bb;
        long seq = this.seq;
        int tag = this.tag;
        int pos = 0;
        int chain = 0;
        int records = 0;
        while (true) {
            if (pos >= n) {
                return new Result(Outcome.CLEAN, pos, chain, records, -1, null, tag, pos);
            }
            if (n - pos < HEADER_BYTES) {
                if (v1) {
                    return endOfLog(pos, chain, records, chain, chain);
                }
                if (allZero(seg, pos, n)) {
                    return new Result(Outcome.CLEAN, pos, chain, records, -1, null, tag, pos);
                }
                return fail(seg, lastSegment, pos, n, chain, records, "truncated frame header");
            }
            if (v1 && pos > 0 && (seg[pos + 5] & 0xFF) != tag) {
                // Zeros or a frame of an earlier life of this file: the end, unless ours follow.
                return endOfLog(pos, chain, records, bb.getInt(pos + 8), chain);
            }
            if (allZero(seg, pos, pos + HEADER_BYTES)) {
                if (allZero(seg, pos + HEADER_BYTES, n)) {
                    return new Result(Outcome.CLEAN, pos, chain, records, -1, null, tag, pos);
                }
                // A hole of zeros followed by data is not something an append-only writer leaves.
                return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                        "zero-filled frame header followed by non-zero data at offset " + firstNonZero(seg, pos, n),
                        tag, pos);
            }
            long len = bb.getInt(pos) & 0xFFFFFFFFL;
            int type = seg[pos + 4] & 0xFF;
            int check = bb.getShort(pos + 6) & 0xFFFF;
            if ((!v1 && seg[pos + 5] != 0) || check != headerCheck(crc, seg, pos, seq) || !validType(type)
                    || len > MAX_PAYLOAD_BYTES) {
                if (v1) {
                    return badFrame(false, pos, pos + HEADER_BYTES, chain, records,
                            "invalid frame header", bb.getInt(pos + 8), chain);
                }
                return fail(seg, lastSegment, pos, pos + HEADER_BYTES, chain, records, "invalid frame header");
            }
            int payload = (int) len;
            long extentLong = (long) frameBytes(payload);
            if (pos + extentLong > n) {
                // The header is intact, so its length is trustworthy: the file ends inside this frame.
                if (lastSegment) {
                    return new Result(Outcome.TORN, pos, chain, records, pos, "file ends inside a frame", tag,
                            v1 ? n : lastNonZeroEnd(seg, pos));
                }
                return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                        "frame of " + payload + " bytes extends past end of file", tag, n);
            }
            int extent = (int) extentLong;
            if (pos == 0 && (type != TYPE_CRC || payload != CRC_BYTES)) {
                String why = type != TYPE_CRC ? "segment does not start with a crc record"
                        : "bad crc record length " + payload;
                if (v1) {
                    return badFrame(true, pos, pos + extent, chain, records, why,
                            bb.getInt(pos + 8), chain);
                }
                return fail(seg, lastSegment, pos, pos + extent, chain, records, why);
            }
            int pStart = pos + HEADER_BYTES;
            if (pos == 0) {
                chain = bb.getInt(pStart);
            }
            int computed = frameCrc(seg, pos, chain, payload);
            int want = bb.getInt(pos + 8);
            if (computed != want) {
                if (v1) {
                    return badFrame(true, pos, pos + extent, chain, records,
                            "crc mismatch", want, computed);
                }
                return fail(seg, lastSegment, pos, pos + extent, chain, records, "crc mismatch");
            }
            if (!allZero(seg, pStart + payload, pos + extent)) {
                if (v1) {
                    return badFrame(true, pos, pos + extent, chain, records,
                            "non-zero frame padding", want, chain);
                }
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

    /**
     * The chain value a segment's crc record carries, from the segment's first
     * {@link #CRC_RECORD_BYTES} bytes, or {@link #UNKNOWN_CRC} unless that record is intact.
     */
    static long carriedCrc(byte[] head, long seq) {
        if (head.length < CRC_RECORD_BYTES) {
            return UNKNOWN_CRC;
        }
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C c = new CRC32C();
        if (b.getInt(0) != CRC_BYTES || head[4] != TYPE_CRC || (b.getShort(6) & 0xFFFF) != headerCheck(c, head, 0, seq)) {
            return UNKNOWN_CRC;
        }
        int carried = b.getInt(HEADER_BYTES);
        c.reset();
        updateIntLE(c, carried);
        c.update(head, 0, 8);
        c.update(head, HEADER_BYTES, CRC_BYTES);
        return (int) c.getValue() == b.getInt(8) ? carried & 0xFFFFFFFFL : UNKNOWN_CRC;
    }

    /** Bytes of a segment's leading crc record. */
    static final int CRC_RECORD_BYTES = HEADER_BYTES + CRC_BYTES;

    private int frameCrc(byte[] seg, int pos, int chain, int payload) {
        crc.reset();
        updateIntLE(crc, chain);
        crc.update(seg, pos, 8);
        crc.update(seg, pos + HEADER_BYTES, payload);
        return (int) crc.getValue();
    }

    private static Result corrupt(int pos, int chain, int records, String reason) {
        return new Result(Outcome.CORRUPT, pos, chain, records, pos, reason, -1, pos);
    }

    /**
     * A bad frame at {@code pos}: torn if this is the last segment and nothing but zeros follows
     * the bytes the bad frame could own ({@code ownedEnd}), corrupt otherwise.
     */
    private static Result fail(byte[] seg, boolean last, int pos, long ownedEnd, int chain, int records, String reason) {
        int end = (int) Math.min(seg.length, Math.max(ownedEnd, pos));
        int tag = seg.length >= HEADER_BYTES ? seg[5] & 0xFF : TAG_V0;
        if (last && allZero(seg, end, seg.length)) {
            return new Result(Outcome.TORN, pos, chain, records, pos, reason, tag, lastNonZeroEnd(seg, pos));
        }
        return new Result(Outcome.CORRUPT, pos, chain, records, pos, reason, tag, lastNonZeroEnd(seg, pos));
    }

    /** Version 1: the log stops at {@code pos} on zeros or a stale frame; clean unless ours follow. */
    private Result endOfLog(int pos, int chain, int records, int hintA, int hintB) {
        long ours = currentFrameAfter(pos, tag, hintA, hintB);
        if (ours >= 0) {
            return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                    "frame of another generation or zeros followed by a frame of this generation at offset " + ours,
                    tag, pos);
        }
        int headerEnd = Math.min(seg.length, pos + HEADER_BYTES);
        if (last && !allZero(seg, pos, headerEnd) && allZero(seg, headerEnd, seg.length)) {
            // Only zeros after a partial header: a write cut short before the tag byte (a fresh,
            // zero-filled segment), reported and set aside exactly as in version 0.
            return new Result(Outcome.TORN, pos, chain, records, pos, "torn frame header", tag,
                    lastNonZeroEnd(seg, pos));
        }
        int damaged = last ? ownFrameWithDamagedTag(pos) : -1;
        if (damaged >= 0) {
            // This segment's frame whose tag byte alone is wrong (its header checks with our tag and
            // sequence): a damaged last record, reported and set aside like any torn tail, not a
            // silent end of log.
            return new Result(Outcome.TORN, pos, chain, records, pos, "frame with a damaged tag byte", tag, damaged);
        }
        Result lost = lostBeforeNextSegment(pos, chain, records, "end of log");
        return lost != null ? lost : new Result(Outcome.CLEAN, pos, chain, records, -1, null, tag, pos);
    }

    private final byte[] headerScratch = new byte[HEADER_BYTES];

    /**
     * The end of the frame at {@code pos} if it is this segment's frame with only its tag byte wrong
     * (length and type plausible, header check right once our tag is put back), else -1. A previous
     * life's frame fails the check: it was computed with another sequence.
     */
    private int ownFrameWithDamagedTag(int pos) {
        if (tag == TAG_V0 || pos + HEADER_BYTES > seg.length || (seg[pos + 5] & 0xFF) == tag) return -1;
        long len = bb.getInt(pos) & 0xFFFFFFFFL;
        if (len > MAX_PAYLOAD_BYTES || !validType(seg[pos + 4] & 0xFF)) return -1;
        System.arraycopy(seg, pos, headerScratch, 0, HEADER_BYTES);
        headerScratch[5] = (byte) tag;
        if ((bb.getShort(pos + 6) & 0xFFFF) != headerCheck(crc, headerScratch, 0, seq)) return -1;
        return (int) Math.min(seg.length, pos + (long) frameBytes((int) len));
    }

    /** A non-last segment whose log ends with another chain value than the next one carries lost frames. */
    private Result lostBeforeNextSegment(int pos, int chain, int records, String what) {
        if (last || nextChain == UNKNOWN_CRC || chain == (int) nextChain) {
            return null;
        }
        return new Result(Outcome.CORRUPT, pos, chain, records, pos, String.format(
                "%s ends the segment's chain at %08x but the next segment continues from %08x", what, chain,
                (int) nextChain), tag, pos);
    }

    /**
     * Version 1: a frame with this segment's tag at {@code pos} is bad. Corrupt if a frame of this
     * generation provably follows; otherwise a torn tail in the last segment. Elsewhere a bad frame
     * whose header is intact (so it was written in this life) is corruption, while an untrusted
     * header is where the log ends (a stale byte may equal the tag; the chain into the next
     * segment still checks the end).
     */
    private Result badFrame(boolean headerTrusted, int pos, long ownedEnd, int chain, int records, String reason,
                            int hintA, int hintB) {
        long damagedEnd = Math.min(seg.length, ownedEnd);
        // A damaged first frame may have lost the segment's tag itself: then any tag counts.
        long ours = currentFrameAfter(pos, pos == 0 ? ANY_TAG : tag, hintA, hintB);
        if (ours >= 0) {
            return new Result(Outcome.CORRUPT, pos, chain, records, pos,
                    reason + " followed by a frame of this generation at offset " + ours, tag, damagedEnd);
        }
        if (last) {
            return new Result(Outcome.TORN, pos, chain, records, pos, reason, tag, damagedEnd);
        }
        if (headerTrusted || pos == 0) {
            return new Result(Outcome.CORRUPT, pos, chain, records, pos, reason, tag, damagedEnd);
        }
        Result lost = lostBeforeNextSegment(pos, chain, records, reason);
        return lost != null ? lost : new Result(Outcome.CLEAN, pos, chain, records, -1, null, tag, pos);
    }

    private static final int ANY_TAG = -1;

    /**
     * The first 8-aligned offset after {@code pos} holding a frame of this generation that is
     * proven by its CRC: it chains from {@code hintA} or {@code hintB} (the stopping frame's stored
     * or recomputed CRC, or the last good frame's). -1 if none.
     * Allocation-free; one byte compare per offset ({@link #ANY_TAG}: a header check per offset).
     */
    private long currentFrameAfter(int pos, int tag, int hintA, int hintB) {
        byte[] seg = this.seg;
        ByteBuffer bb = this.bb;
        int n = seg.length;
        for (long q = pos + ALIGN; q + HEADER_BYTES <= n; q += ALIGN) {
            int qi = (int) q;
            int t = seg[qi + 5] & 0xFF;
            if (tag == ANY_TAG ? t == TAG_V0 : t != tag) {
                continue;
            }
            int payload = candidatePayload(qi);
            if (payload < 0) {
                continue;
            }
            int stored = bb.getInt(qi + 8);
            // Only a CRC chained from the real log counts as proof. Two frames merely chained to each
            // other prove nothing: a client's value in a previous life of this file can hold such a
            // pair (crafted for a future sequence and tag), which would make a clean log unopenable.
            if (frameCrc(seg, qi, hintA, payload) == stored || frameCrc(seg, qi, hintB, payload) == stored) {
                return q;
            }
        }
        return -1;
    }

    /** Payload length of a frame at {@code q} whose header passes this segment's check and fits; else -1. */
    private int candidatePayload(int q) {
        long len = bb.getInt(q) & 0xFFFFFFFFL;
        if (len > MAX_PAYLOAD_BYTES || !validType(seg[q + 4] & 0xFF)
                || (bb.getShort(q + 6) & 0xFFFF) != headerCheck(crc, seg, q, seq)) {
            return -1;
        }
        if (q + (long) frameBytes((int) len) > seg.length) {
            return -1;
        }
        return (int) len;
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
