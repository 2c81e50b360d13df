package io.quorumlab.wal;

/**
 * What a WAL segment holds. The WAL's own types, so {@code wal} depends on neither raft nor mvcc;
 * the server adapts raft's entries and hard state to these.
 */
public sealed interface WalRecord permits WalEntry, HardState, SnapshotMarker, WalMetadata, CrcRecord {
}
