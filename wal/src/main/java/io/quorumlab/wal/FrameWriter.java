package io.quorumlab.wal;

import static io.quorumlab.wal.WalFormat.*;

import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Encodes frames into one reused direct buffer and writes it to the current segment.
 *
 * <p>Single-writer: only the thread holding the WAL's commit lock touches it. Nothing is
 * allocated per record. A frame that fits in the buffer's free space (every frame of a normal
 * batch) is encoded in place: the fields and the data are stored once, straight into the direct
 * buffer, and the CRC32C runs in one intrinsic pass over bytes already there (the chain value and
 * header stand in the header's place until the CRC is known). A larger frame takes the streaming
 * path: CRC from the record's fields and data array first (so the header can precede a payload
 * larger than the buffer), then the bytes are copied in pieces.
 *
 * <p>When the file offers direct writes ({@link WalFile#directAlignment()}), every write covers
 * whole blocks: the buffer starts at a block boundary of the file, the last block is written
 * zero-padded past the log's end, and its bytes stay at the front of the buffer so the next write
 * rewrites that block with the same bytes plus what follows. Bytes already acknowledged are only
 * ever rewritten with themselves, so a torn rewrite cannot change them.
 */
final class FrameWriter {

    private static final byte[] ZEROS = new byte[ALIGN];
    /** Largest direct-write block size supported: the buffer's address alignment. */
    static final int MAX_DIRECT_ALIGN = 4096;
    private static final byte[] ZERO_BLOCK = new byte[MAX_DIRECT_ALIGN];

    private final ByteBuffer buf;
    /** A second view of {@code buf}'s memory: the CRC pass moves its position, never buf's. */
    private final ByteBuffer crcView;
    /** A third view: the direct path writes and copies from it. */
    private final ByteBuffer ioView;
    /** Direct writes: the file's block size; 0 for buffered writes. */
    private int align;
    /** Bytes at the front of {@code buf} already written (the last block's head, direct writes only). */
    private int kept;
    /** {@code buf}'s usable limit: its capacity, rounded down to whole blocks for direct writes. */
    private int usable;
    /** Preallocated file size, or 0; direct writes need it to be a whole number of blocks. */
    private final long fileBytes;
    private final CRC32C crc = new CRC32C();
    /** The first 8 header bytes (length, type, check) of the last in-place frame: batches repeat sizes. */
    private long cachedHeaderWord;
    private int cachedPayload = -1;
    private int cachedType = -1;
    /** Fixed-size part of a payload (entry header, hard state, ...), built before the CRC pass. */
    private final byte[] fixed = new byte[32];
    private final ByteBuffer fixedBuf = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] header = new byte[HEADER_BYTES];
    private final ByteBuffer headerBuf = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);

    private WalFile file;
    /** The segment's sequence number and tag (0: version-0 frames), bound into each header check. */
    private long seq;
    private int tag;
    /** File offset of buf[0]. */
    private long flushedPos;
    private int chainCrc;
    private long bytesWritten;

    /**
     * @param fileBytes the preallocated size of the files it writes (0: no constraint): direct writes
     *        are used only if it is a whole number of blocks, so the block padding never grows a file
     *        past it (a grown file could not be recycled)
     */
    FrameWriter(int bufferBytes, long fileBytes) {
        if (bufferBytes < 4096) {
            throw new IllegalArgumentException("write buffer too small: " + bufferBytes);
        }
        // Block-aligned memory (direct writes need it), exactly bufferBytes long.
        this.buf = ByteBuffer.allocateDirect(bufferBytes + 2 * MAX_DIRECT_ALIGN).alignedSlice(MAX_DIRECT_ALIGN)
                .slice(0, bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
        this.crcView = buf.duplicate();
        this.ioView = buf.duplicate();
        this.usable = bufferBytes;
        this.fileBytes = fileBytes;
    }

    /** Test and tool use: no file size constraint. */
    FrameWriter(int bufferBytes) {
        this(bufferBytes, 0);
    }

    /**
     * Points the writer at {@code file}, segment {@code seq} written with {@code tag} (0 writes
     * version-0 frames, for appending to a segment of that version); buffered bytes must be flushed.
     */
    void begin(WalFile file, long position, int chainCrc, long seq, int tag) throws IOException {
        if (tag < 0 || tag > 255) {
            throw new IllegalArgumentException("tag out of range: " + tag);
        }
        if (buf.position() != kept) {
            throw new IllegalStateException("unflushed bytes when switching segments");
        }
        if ((position & (ALIGN - 1)) != 0) {
            throw new IllegalStateException("unaligned write position " + position);
        }
        int a = file.directAlignment();
        if (a < 0 || a > MAX_DIRECT_ALIGN || Integer.bitCount(Math.max(a, 1)) != 1 || buf.capacity() < 2 * a
                || (a > 0 && fileBytes % a != 0)) {
            a = 0; // a block size this buffer or file size cannot serve: buffered writes
        }
        this.file = file;
        this.align = a;
        this.usable = a == 0 ? buf.capacity() : buf.capacity() & -a;
        this.chainCrc = chainCrc;
        this.seq = seq;
        this.tag = tag;
        this.cachedPayload = -1; // the cached header word holds the previous segment's tag and check
        buf.limit(usable).position(0);
        kept = 0;
        int head = a == 0 ? 0 : (int) (position & (a - 1));
        this.flushedPos = position - head;
        if (head > 0) {
            // Appending mid-block: the block's written head is rewritten with the next write.
            ByteBuffer dst = ioView.limit(head).position(0);
            while (dst.hasRemaining()) {
                if (file.read(dst, flushedPos + dst.position()) < 0) {
                    throw new IOException("segment " + file.name() + " ends before its log end " + position);
                }
            }
            kept = head;
            buf.position(head);
        }
    }

    /** Whether writes to the current file bypass the page cache. */
    boolean direct() {
        return align != 0;
    }

    int tag() {
        return tag;
    }

    WalFile file() {
        return file;
    }

    long position() {
        return flushedPos + buf.position();
    }

    int chainCrc() {
        return chainCrc;
    }

    /** Bytes handed to the file since the last call; feeds etcd_disk_wal_write_bytes_total. */
    long takeBytesWritten() {
        long n = bytesWritten;
        bytesWritten = 0;
        return n;
    }

    /** Drops buffered, unwritten bytes; used only when the WAL has already failed. */
    void discard() {
        buf.limit(usable).position(0);
        kept = 0;
    }

    void flush() throws IOException {
        int end = buf.position();
        if (end == kept) {
            return;
        }
        if (align == 0) {
            buf.flip();
            file.write(buf, flushedPos);
            flushedPos += end;
            bytesWritten += end;
            buf.clear();
            return;
        }
        int padded = (end + align - 1) & -align;
        if (padded > end) {
            buf.put(end, ZERO_BLOCK, 0, padded - end); // past the log's end: what a fresh segment holds
        }
        file.writeDirect(ioView.limit(padded).position(0), flushedPos);
        bytesWritten += end - kept;
        int tail = end & (align - 1);
        int base = end - tail;
        if (tail > 0 && base > 0) {
            buf.put(0, ioView.limit(end).position(0), base, tail); // the partial block moves to the front
        }
        flushedPos += base;
        kept = tail;
        buf.limit(usable).position(tail);
    }

    // ---- records ---------------------------------------------------------------------------

    void writeEntry(WalEntry e) throws IOException {
        byte[] data = e.data();
        int payload = ENTRY_FIXED_BYTES + data.length;
        int frame = frameBytes(payload);
        if (payload <= MAX_PAYLOAD_BYTES && frame <= buf.remaining()) {
            int p = buf.position();
            long word = beginInPlace(p, frame, payload, TYPE_ENTRY);
            buf.putLong(p + HEADER_BYTES, e.term());
            buf.putLong(p + HEADER_BYTES + 8, e.index());
            buf.put(p + HEADER_BYTES + 16, (byte) e.type());
            if (data.length > 0) {
                buf.put(p + HEADER_BYTES + ENTRY_FIXED_BYTES, data, 0, data.length);
            }
            endInPlace(p, frame, payload, word);
            return;
        }
        fixedBuf.clear();
        fixedBuf.putLong(e.term()).putLong(e.index()).put((byte) e.type());
        writeFrame(TYPE_ENTRY, ENTRY_FIXED_BYTES, e.data());
    }

    void writeHardState(HardState hs) throws IOException {
        fixedBuf.clear();
        fixedBuf.putLong(hs.term()).putLong(hs.vote()).putLong(hs.commit());
        writeFrame(TYPE_HARDSTATE, HARDSTATE_BYTES, null);
    }

    void writeSnapshot(SnapshotMarker m) throws IOException {
        fixedBuf.clear();
        fixedBuf.putLong(m.index()).putLong(m.term());
        writeFrame(TYPE_SNAPSHOT, SNAPSHOT_BYTES, null);
    }

    void writeMetadata(byte[] metadata) throws IOException {
        writeFrame(TYPE_METADATA, 0, metadata);
    }

    /** Starts a segment: the chain value carried over from the previous one. */
    void writeCrc(int previousCrc) throws IOException {
        if (position() != 0) {
            throw new IllegalStateException("crc record must open a segment, position=" + position());
        }
        fixedBuf.clear();
        fixedBuf.putInt(previousCrc);
        chainCrc = previousCrc; // the crc record chains from the value it carries
        writeFrame(TYPE_CRC, CRC_BYTES, null);
    }

    static int entryFrameBytes(WalEntry e) {
        return frameBytes(ENTRY_FIXED_BYTES + e.data().length);
    }

    private void writeFrame(int type, int fixedLen, byte[] data) throws IOException {
        int dataLen = data == null ? 0 : data.length;
        long payloadLong = (long) fixedLen + dataLen;
        if (payloadLong > MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("record too large: " + payloadLong + " bytes");
        }
        int payload = (int) payloadLong;
        assert (position() & (ALIGN - 1)) == 0 : "frame start must be aligned";
        int frame = frameBytes(payload);
        if (frame <= buf.remaining()) {
            int p = buf.position();
            long word = beginInPlace(p, frame, payload, type);
            if (fixedLen > 0) {
                buf.put(p + HEADER_BYTES, fixed, 0, fixedLen);
            }
            if (dataLen > 0) {
                buf.put(p + HEADER_BYTES + fixedLen, data, 0, dataLen);
            }
            endInPlace(p, frame, payload, word);
            return;
        }

        headerBuf.clear();
        headerBuf.putInt(payload).put((byte) type).put((byte) tag);
        headerBuf.putShort((short) headerCheck(crc, header, 0, seq));

        crc.reset();
        updateIntLE(crc, chainCrc);
        crc.update(header, 0, 8);
        crc.update(fixed, 0, fixedLen);
        if (dataLen > 0) {
            crc.update(data, 0, dataLen);
        }
        int recordCrc = (int) crc.getValue();
        headerBuf.putInt(recordCrc);

        put(header, 0, HEADER_BYTES);
        put(fixed, 0, fixedLen);
        if (dataLen > 0) {
            put(data, 0, dataLen);
        }
        int pad = frameBytes(payload) - HEADER_BYTES - payload;
        put(ZEROS, 0, pad);
        chainCrc = recordCrc;
    }

    /**
     * Starts a frame of {@code frame} bytes at buffer offset {@code p}: zeroes its last 8 bytes (the
     * padding; the payload stored next overwrites the rest of them) and stores the CRC's 12-byte
     * prefix where the header will go: chain value (4) then header bytes 0..7. With the payload
     * stored right after it, the CRC input {@code chain | header[0..8) | payload} is contiguous and
     * takes one intrinsic pass. Returns header bytes 0..7 as a little-endian word.
     */
    private long beginInPlace(int p, int frame, int payload, int type) {
        assert (position() & (ALIGN - 1)) == 0 : "frame start must be aligned";
        assert frame >= 16 && frame <= buf.remaining();
        long word;
        if (payload == cachedPayload && type == cachedType) {
            word = cachedHeaderWord;
        } else {
            headerBuf.clear();
            headerBuf.putInt(payload).put((byte) type).put((byte) tag);
            headerBuf.putShort((short) headerCheck(crc, header, 0, seq));
            word = headerBuf.getLong(0);
            cachedHeaderWord = word;
            cachedPayload = payload;
            cachedType = type;
        }
        buf.putLong(p + frame - 8, 0L);
        buf.putInt(p, chainCrc);
        buf.putLong(p + 4, word);
        return word;
    }

    /** CRCs the prefix and payload in one pass, then stores the real header over the prefix and advances. */
    private void endInPlace(int p, int frame, int payload, long headerWord) {
        crc.reset();
        crcView.limit(p + HEADER_BYTES + payload);
        crcView.position(p);
        crc.update(crcView);
        int recordCrc = (int) crc.getValue();
        buf.putLong(p, headerWord);
        buf.putInt(p + 8, recordCrc);
        buf.position(p + frame);
        chainCrc = recordCrc;
    }

    /** Copies into the buffer, writing it out whenever it fills: the buffer bound is hard. */
    private void put(byte[] src, int off, int len) throws IOException {
        while (len > 0) {
            if (!buf.hasRemaining()) {
                flush();
            }
            int n = Math.min(len, buf.remaining());
            buf.put(src, off, n);
            off += n;
            len -= n;
        }
    }
}
