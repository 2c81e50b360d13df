package io.quorumlab.wal;

import java.util.ArrayList;
import java.util.List;

/**
 * Folds decoded records into (metadata, hard state, base snapshot, entries), the way raft expects
 * its log back: an entry at index i replaces everything from i on (a leader overwrote a conflicting
 * suffix), and entries must be contiguous after the base snapshot.
 */
final class Replay {

    /** Thrown from inside a decoder callback; converted to {@link WalCorruptException} by callers. */
    static final class Bad extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final long offset;

        Bad(long offset, String reason) {
            super(reason, null, false, false);
            this.offset = offset;
        }
    }

    private final SnapshotMarker start;
    WalMetadata metadata;
    HardState hardState = HardState.EMPTY;
    /** Index entries are relative to; -1 until known when replaying without a start marker. */
    long baseIndex;
    SnapshotMarker baseMarker;
    boolean startFound;
    final ArrayList<WalEntry> entries = new ArrayList<>();

    /**
     * @param start the snapshot to replay from, or null to follow the last marker in the log
     * @param fromLogStart whether replay begins at segment 0, i.e. at index 0 even if the initial
     *        marker is missing (a repair may have cut it away)
     */
    Replay(SnapshotMarker start, boolean fromLogStart) {
        this.start = start;
        if (start == null && fromLogStart) {
            this.baseIndex = 0;
            this.baseMarker = SnapshotMarker.ZERO;
        } else {
            this.baseIndex = start == null ? -1 : start.index();
            this.baseMarker = start;
        }
    }

    void accept(WalRecord rec, long offset) {
        // Java 17 has no pattern switch outside preview; the sealed family keeps this exhaustive.
        if (rec instanceof WalMetadata m) {
            if (metadata == null) {
                metadata = m;
            } else if (!metadata.equals(m)) {
                throw new Bad(offset, "metadata differs from earlier segments: " + m + " vs " + metadata);
            }
        } else if (rec instanceof HardState hs) {
            hardState = hs;
        } else if (rec instanceof SnapshotMarker m) {
            acceptMarker(m, offset);
        } else if (rec instanceof WalEntry e) {
            acceptEntry(e, offset);
        } else {
            assert rec instanceof CrcRecord : rec;
        }
    }

    private void acceptMarker(SnapshotMarker m, long offset) {
        if (start != null) {
            if (m.index() == start.index()) {
                if (m.term() != start.term()) {
                    throw new Bad(offset, "snapshot marker term mismatch at index " + m.index()
                            + ": wal has term " + m.term() + ", expected " + start.term());
                }
                startFound = true;
            }
        } else if (baseIndex < 0 || m.index() >= baseIndex) {
            // Entries the snapshot covers are no longer part of the log.
            long drop = baseIndex < 0 ? 0 : Math.min(entries.size(), m.index() - baseIndex);
            entries.subList(0, (int) drop).clear();
            baseIndex = m.index();
            baseMarker = m;
        }
    }

    private void acceptEntry(WalEntry e, long offset) {
        if (baseIndex < 0) {
            baseIndex = e.index() - 1; // released head: entries before the first marker
        }
        if (e.index() <= baseIndex) {
            return;
        }
        long at = e.index() - baseIndex - 1;
        if (at > entries.size()) {
            throw new Bad(offset, "gap in log: entry " + e.index() + " after " + (baseIndex + entries.size()));
        }
        if (at < entries.size()) {
            entries.subList((int) at, entries.size()).clear();
        }
        entries.add(e);
    }

    long lastIndex() {
        return entries.isEmpty() ? Math.max(baseIndex, 0) : entries.get(entries.size() - 1).index();
    }

    List<WalEntry> entriesCopy() {
        return List.copyOf(entries);
    }
}
