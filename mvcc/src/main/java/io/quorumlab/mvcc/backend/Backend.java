package io.quorumlab.mvcc.backend;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Ordered byte-string tables with batched durability.
 *
 * <p>Threading contract: exactly one thread (the member's apply loop) calls the write methods
 * ({@link #put}, {@link #delete}, {@link #commit}, {@link #maybeCommit}, {@link #defragment},
 * {@link #restore}, {@link #snapshot}). Any thread may call {@link #get}/{@link #scan} and they see
 * every write made so far, committed or not (as etcd's buffered read transaction does). Readers and
 * the writer never block each other except during defragment and restore, which the caller must
 * isolate (MvccStore holds its write lock).
 *
 * <p>Durability: writes become durable only at commit. A batch commits when it holds
 * {@code batchLimit} writes or is {@code batchInterval} old (checked by maybeCommit and commitIfDue).
 * A crash loses the open batch; the caller stores its consistent index in the same batch so that
 * it knows exactly which Raft entries to re-apply.
 */
public interface Backend extends AutoCloseable {
    byte[] get(Bucket bucket, byte[] key);

    /** Visits entries with {@code from <= key < to} ({@code to == null}: no bound) in key order until the visitor says stop. */
    void scan(Bucket bucket, byte[] from, byte[] to, EntryVisitor visitor);

    void put(Bucket bucket, byte[] key, byte[] value);

    void delete(Bucket bucket, byte[] key);

    /** Commits if the open batch reached its write limit or age. Call after each applied entry. */
    void maybeCommit();

    /** Commits when only the batch age is due; for a periodic timer on the apply loop. */
    default void commitIfDue() { maybeCommit(); }

    /** Makes every write so far durable. */
    void commit();

    /** Writes in the open (uncommitted) batch. */
    int pendingWrites();

    /** Bytes the database occupies on disk (etcd_mvcc_db_total_size_in_bytes). */
    long sizeBytes();

    /** Bytes holding live data (etcd_mvcc_db_total_size_in_use_in_bytes); the rest is reusable free space. */
    long sizeInUseBytes();

    /** Commits, then writes a consistent self-checking copy of every bucket (backend-independent format). */
    void snapshot(OutputStream out) throws IOException;

    /**
     * Commits and pins the committed state (writer thread). The returned snapshot may be written
     * from any thread while the writer goes on; close it promptly (LMDB keeps old pages alive for it,
     * and defragment refuses to run while one is open).
     */
    Snapshot openSnapshot();

    /** A pinned, consistent copy of the backend. */
    interface Snapshot extends AutoCloseable {
        void writeTo(OutputStream out) throws IOException;

        @Override void close();
    }

    /** Replaces every bucket with a snapshot's contents, verifying its checksum first. */
    void restore(InputStream in) throws IOException;

    /** Rewrites the database compactly, returning free space to the file system. */
    void defragment();

    /** Closes after committing. */
    @Override void close();

    /** Simulates a process crash: drops the open batch without committing and releases resources. */
    void crash();

    @FunctionalInterface
    interface EntryVisitor {
        /** Return false to stop the scan. Arrays must not be retained-and-mutated. */
        boolean visit(byte[] key, byte[] value);
    }
}
