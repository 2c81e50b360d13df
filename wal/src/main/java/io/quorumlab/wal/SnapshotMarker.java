package io.quorumlab.wal;

/**
 * Records that a Raft snapshot at (index, term) exists, so recovery can start replay there.
 * Named like etcd's walpb.Snapshot but index first to match how callers think about it.
 */
public record SnapshotMarker(long index, long term) implements WalRecord {

    /** The implicit snapshot every new WAL starts from. */
    public static final SnapshotMarker ZERO = new SnapshotMarker(0, 0);

    public SnapshotMarker {
        if (index < 0 || term < 0) {
            throw new IllegalArgumentException("bad snapshot marker index=" + index + " term=" + term);
        }
    }
}
