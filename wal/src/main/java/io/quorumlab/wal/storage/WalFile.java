package io.quorumlab.wal.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** An open file in a {@link WalStorage}: positional reads and writes, fdatasync, truncate. */
public interface WalFile extends Closeable {

    /** Largest file {@link #readAll()} will load: recovery reads one segment at a time. */
    long MAX_READ_ALL_BYTES = Integer.MAX_VALUE - 64;

    String name();

    long size() throws IOException;

    /** Reads up to {@code dst.remaining()} bytes at {@code position}; returns -1 at end of file. */
    int read(ByteBuffer dst, long position) throws IOException;

    /** Writes all of {@code src} at {@code position}, extending the file if needed. */
    void write(ByteBuffer src, long position) throws IOException;

    /**
     * The block size this file takes page-cache-bypassing writes in ({@link #writeDirect}), or 0 if
     * it takes buffered writes only (the default; the simulator's and tests' storages). Called by
     * the thread that appends; the first call may open a second handle.
     */
    default int directAlignment() {
        return 0;
    }

    /**
     * Writes all of {@code src} at {@code position} bypassing the page cache. {@code position},
     * {@code src.remaining()} and {@code src}'s address must be multiples of
     * {@link #directAlignment()}, and {@code src} a direct buffer. Like {@link #write}, not durable
     * before {@link #force()}.
     */
    default void writeDirect(ByteBuffer src, long position) throws IOException {
        throw new UnsupportedOperationException("no direct writes on " + name());
    }

    /** fdatasync: makes written data durable (metadata only as needed to read it back). */
    void force() throws IOException;

    void truncate(long size) throws IOException;

    /** Extends the file to {@code size} bytes of zeros so later appends do not change its size. */
    void preallocate(long size) throws IOException;

    /** Reads the whole file; used by recovery and verification, never on the append path. */
    default byte[] readAll() throws IOException {
        long size = size();
        if (size > MAX_READ_ALL_BYTES) {
            throw new IOException("file too large to read at once: " + name() + " size=" + size);
        }
        byte[] out = new byte[(int) size];
        ByteBuffer dst = ByteBuffer.wrap(out);
        while (dst.hasRemaining()) {
            int n = read(dst, dst.position());
            if (n < 0) {
                break; // shrank under us; return what exists
            }
        }
        if (dst.position() < out.length) {
            return java.util.Arrays.copyOf(out, dst.position());
        }
        return out;
    }
}
