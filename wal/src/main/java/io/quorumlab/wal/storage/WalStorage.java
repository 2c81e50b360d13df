package io.quorumlab.wal.storage;

import java.io.IOException;
import java.util.List;

/**
 * One directory of WAL segments or snapshot files: the file-I/O seam.
 *
 * <p>The WAL never touches {@code java.nio.file} directly; it asks this interface, so tests and the
 * simulator can replace the disk (latency, crashes that lose unsynced bytes, bit flips). Names are
 * plain file names inside the directory, never paths.
 *
 * <p>Durability contract (what a crash may undo): file contents written since the last
 * {@link WalFile#force()} may be lost or torn; creates, renames and deletes since the last
 * {@link #fsyncDir()} may be undone.
 */
public interface WalStorage {

    /** Creates a new empty file; fails if it already exists. */
    WalFile create(String name) throws IOException;

    /** Opens an existing file for reading and writing. */
    WalFile open(String name) throws IOException;

    boolean exists(String name) throws IOException;

    /** File names in the directory, sorted. */
    List<String> list() throws IOException;

    void delete(String name) throws IOException;

    /** Atomically renames, replacing {@code to} if it exists. */
    void rename(String from, String to) throws IOException;

    /** Makes creates, renames and deletes durable (fsync of the directory). */
    void fsyncDir() throws IOException;

    /** Human-readable location for error messages and logs. */
    String describe();
}
