package io.quorumlab.wal.storage;

/** What a simulated power loss does to bytes that were written but not yet fsync'd. */
public enum CrashMode {
    /** Every unsynced write is lost; files roll back to their last fsync'd content. */
    LOSE_UNSYNCED,
    /** Unsynced writes before the last one reach the disk; the last write keeps only a prefix. */
    TEAR_LAST_WRITE,
    /** The process died but the OS did not: every write survives, synced or not. */
    KEEP_ALL
}
