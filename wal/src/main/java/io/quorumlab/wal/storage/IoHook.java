package io.quorumlab.wal.storage;

import java.io.IOException;

/**
 * Called by {@link MemStorage} before each write, fsync and directory fsync.
 *
 * <p>This is where latency and faults enter: a test may block or sleep here, the simulator parks
 * the calling member's loop until its modelled disk completes the operation (virtual time), and
 * any implementation may throw to inject an I/O error. The storage itself never sleeps.
 */
public interface IoHook {

    IoHook NONE = new IoHook() { };

    default void beforeWrite(String file, long position, int length) throws IOException { }

    /**
     * Before a write, with the bytes about to be written ({@code src}'s remaining bytes; a hook
     * may read them with absolute gets but must not move its position). By default the length alone
     * goes to {@link #beforeWrite(String, long, int)}.
     */
    default void beforeWrite(String file, long position, java.nio.ByteBuffer src) throws IOException {
        beforeWrite(file, position, src.remaining());
    }

    default void beforeForce(String file) throws IOException { }

    default void beforeFsyncDir() throws IOException { }
}
