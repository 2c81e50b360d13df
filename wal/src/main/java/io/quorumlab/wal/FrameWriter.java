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
 * allocated per record: the CRC is computed from the record's fields and data array in a first
 * pass (so the header can precede a payload larger than the buffer), then the bytes are copied.
 */
final class FrameWriter {

    private static final byte[] ZEROS = new byte[ALIGN];

    private final ByteBuffer buf;
    private final CRC32C crc = new CRC32C();
    /** Fixed-size part of a payload (entry header, hard state, ...), built before the CRC pass. */
    private final byte[] fixed = new byte[32];
    private final ByteBuffer fixedBuf = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] header = new byte[HEADER_BYTES];
    private final ByteBuffer headerBuf = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);

    private WalFile file;
    /** File offset of buf[0]. */
    private long flushedPos;
    private int chainCrc;
    private long bytesWritten;

    FrameWriter(int bufferBytes) {
        if (bufferBytes < 4096) {
            throw new IllegalArgumentException("write buffer too small: " + bufferBytes);
        }
        this.buf = ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Points the writer at {@code file}; any buffered bytes must have been flushed. */
    void begin(WalFile file, long position, int chainCrc) {
        if (buf.position() != 0) {
            throw new IllegalStateException("unflushed bytes when switching segments");
        }
        if ((position & (ALIGN - 1)) != 0) {
            throw new IllegalStateException("unaligned write position " + position);
        }
        this.file = file;
        this.flushedPos = position;
        this.chainCrc = chainCrc;
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
        buf.clear();
    }

    void flush() throws IOException {
        if (buf.position() == 0) {
            return;
        }
        buf.flip();
        int n = buf.remaining();
        file.write(buf, flushedPos);
        flushedPos += n;
        bytesWritten += n;
        buf.clear();
    }

    // ---- records ---------------------------------------------------------------------------

    void writeEntry(WalEntry e) throws IOException {
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

        headerBuf.clear();
        headerBuf.putInt(payload).put((byte) type).put((byte) 0);
        headerBuf.putShort((short) headerCheck(crc, header, 0));

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
