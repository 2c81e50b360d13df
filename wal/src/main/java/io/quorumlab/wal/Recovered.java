package io.quorumlab.wal;

import java.util.List;

/**
 * What {@link Wal#open} read back: the state raft restarts from.
 *
 * @param snapshot the marker replay started from; {@code entries} follow it contiguously
 * @param entries log entries after {@code snapshot.index()}, overwrites already resolved
 * @param repairs torn tails that were cut off on the way (empty on a clean shutdown)
 */
public record Recovered(WalMetadata metadata, HardState hardState, SnapshotMarker snapshot,
                        List<WalEntry> entries, List<TornTail> repairs) {

    /** A torn tail removed at open: the bytes were saved to {@code brokenFile} first. */
    public record TornTail(String file, long offset, long bytesRemoved, String brokenFile, String reason) {
    }

    public long lastIndex() {
        return entries.isEmpty() ? snapshot.index() : entries.get(entries.size() - 1).index();
    }
}
