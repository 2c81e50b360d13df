package io.quorumlab.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * Entries and a snapshot the application has not yet persisted. {@code entries.get(i)} has index
 * {@code offset + i}. Single-threaded, owned by {@link RaftLog}.
 */
final class Unstable {
    Snapshot snapshot; // null when none pending
    final ArrayList<Entry> entries = new ArrayList<>();
    long offset;

    Unstable(long offset) {
        this.offset = offset;
    }

    /** First index if a snapshot is pending, else -1. */
    long maybeFirstIndex() {
        return snapshot != null ? snapshot.index() + 1 : -1;
    }

    /** Last index if any unstable entries or snapshot, else -1. */
    long maybeLastIndex() {
        if (!entries.isEmpty()) return offset + entries.size() - 1;
        if (snapshot != null) return snapshot.index();
        return -1;
    }

    /** Term of entry i if this structure knows it, else -1. */
    long maybeTerm(long i) {
        if (i < offset) {
            if (snapshot != null && snapshot.index() == i) return snapshot.term();
            return -1;
        }
        long last = maybeLastIndex();
        if (last < 0 || i > last) return -1;
        return entries.get((int) (i - offset)).term();
    }

    void stableTo(long i, long t) {
        long gt = maybeTerm(i);
        if (gt < 0) return;
        // Only if the term matches: otherwise the entry at i was replaced after Ready was handed out.
        if (gt == t && i >= offset) {
            entries.subList(0, (int) (i + 1 - offset)).clear();
            offset = i + 1;
        }
    }

    void stableSnapTo(long i) {
        if (snapshot != null && snapshot.index() == i) snapshot = null;
    }

    void restore(Snapshot s) {
        offset = s.index() + 1;
        entries.clear();
        snapshot = s;
    }

    void truncateAndAppend(List<Entry> ents) {
        long after = ents.get(0).index();
        if (after == offset + entries.size()) {
            entries.addAll(ents);
        } else if (after <= offset) {
            // Replace everything unstable; the log is being rewritten from 'after'.
            offset = after;
            entries.clear();
            entries.addAll(ents);
        } else {
            entries.subList((int) (after - offset), entries.size()).clear();
            entries.addAll(ents);
        }
    }

    List<Entry> slice(long lo, long hi) {
        if (!(offset <= lo && lo <= hi && hi <= offset + entries.size())) {
            throw Util.violated("unstable slice [" + lo + "," + hi + ") out of [" + offset + "," + (offset + entries.size()) + ")");
        }
        return entries.subList((int) (lo - offset), (int) (hi - offset));
    }
}
