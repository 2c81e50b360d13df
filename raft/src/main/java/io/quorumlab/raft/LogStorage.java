package io.quorumlab.raft;

import java.util.List;

/**
 * The stable part of the Raft log, owned by the application (the WAL on a real member, memory in
 * tests). Raft only reads it; the application writes to it what {@link Ready} asks it to persist.
 * Index positions: {@code firstIndex()} is the first entry still present; the entry just before it
 * (the last one covered by the snapshot) has a known term.
 */
public interface LogStorage {
    /** HardState and membership as persisted. */
    InitialState initialState();

    /** Entries in {@code [lo, hi)}, at most {@code maxBytes} in total but at least one if any exist. */
    List<Entry> entries(long lo, long hi, long maxBytes);

    /** Term of entry {@code i}; valid for {@code firstIndex()-1 <= i <= lastIndex()}. */
    long term(long i);

    long firstIndex();

    long lastIndex();

    /** The latest snapshot; may throw {@link SnapshotTemporarilyUnavailableException}. */
    Snapshot snapshot();

    record InitialState(HardState hardState, ConfState confState) {}

    /** Asked for entries or terms that were compacted away. */
    final class CompactedException extends RuntimeException {
        public CompactedException(long index, long firstIndex) {
            super("requested index " + index + " is compacted (first index " + firstIndex + ")", null, false, false);
        }
    }

    /** Asked for entries beyond the last index. */
    final class UnavailableException extends RuntimeException {
        public UnavailableException(long index, long lastIndex) {
            super("requested index " + index + " is unavailable (last index " + lastIndex + ")", null, false, false);
        }
    }

    final class SnapshotTemporarilyUnavailableException extends RuntimeException {
        public SnapshotTemporarilyUnavailableException() {
            super("snapshot is temporarily unavailable", null, false, false);
        }
    }
}
