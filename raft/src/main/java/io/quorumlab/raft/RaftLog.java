package io.quorumlab.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The log as Raft sees it: stable entries in {@link LogStorage} followed by {@link Unstable} ones.
 * Tracks {@code committed} (known to be on a quorum) and {@code applied} (handed to the application).
 * Invariant: {@code applied <= committed <= lastIndex()}.
 */
final class RaftLog {
    final LogStorage storage;
    final Unstable unstable;
    long committed;
    long applied;
    /** Bound on the size of committed entries handed out in one Ready. */
    final long maxApplyBytes;

    RaftLog(LogStorage storage, long maxApplyBytes) {
        this.storage = storage;
        this.maxApplyBytes = maxApplyBytes;
        long first = storage.firstIndex();
        long last = storage.lastIndex();
        this.unstable = new Unstable(last + 1);
        this.committed = first - 1;
        this.applied = first - 1;
    }

    long firstIndex() {
        long i = unstable.maybeFirstIndex();
        return i >= 0 ? i : storage.firstIndex();
    }

    long lastIndex() {
        long i = unstable.maybeLastIndex();
        return i >= 0 ? i : storage.lastIndex();
    }

    long lastTerm() {
        return term(lastIndex());
    }

    /** Term of entry i; 0 when i is outside the log (compacted or beyond the end). */
    long term(long i) {
        long dummy = firstIndex() - 1;
        if (i < dummy || i > lastIndex()) return 0;
        long t = unstable.maybeTerm(i);
        if (t >= 0) return t;
        try {
            return storage.term(i);
        } catch (LogStorage.CompactedException | LogStorage.UnavailableException e) {
            return 0;
        }
    }

    boolean matchTerm(long i, long t) {
        long dummy = firstIndex() - 1;
        if (i < dummy || i > lastIndex()) return false;
        return term(i) == t;
    }

    /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (Raft §5.4.1). */
    boolean isUpToDate(long lastIdx, long lastTrm) {
        long ourTerm = lastTerm();
        return lastTrm > ourTerm || (lastTrm == ourTerm && lastIdx >= lastIndex());
    }

    /**
     * Follower append: if our log has (index, logTerm), append ents after it (resolving conflicts) and
     * advance commit to min(committed, last new index). Returns the last new index, or -1 on mismatch.
     */
    long maybeAppend(long index, long logTerm, long committedHint, List<Entry> ents) {
        if (!matchTerm(index, logTerm)) return -1;
        long lastNew = index + ents.size();
        long ci = findConflict(ents);
        if (ci != 0) {
            if (ci <= committed) {
                throw Util.violated("entry " + ci + " conflicts with committed entry (committed " + committed + ")");
            }
            long off = index + 1;
            append(ents.subList((int) (ci - off), ents.size()));
        }
        commitTo(Math.min(committedHint, lastNew));
        return lastNew;
    }

    long append(List<Entry> ents) {
        if (ents.isEmpty()) return lastIndex();
        long after = ents.get(0).index() - 1;
        if (after < committed) {
            throw Util.violated("appending after " + after + " would overwrite committed " + committed);
        }
        unstable.truncateAndAppend(ents);
        return lastIndex();
    }

    /** First index whose term differs from ours, or the first new index beyond our log; 0 if all present. */
    long findConflict(List<Entry> ents) {
        for (Entry e : ents) {
            if (!matchTerm(e.index(), e.term())) return e.index();
        }
        return 0;
    }

    /**
     * Largest index <= {@code index} whose term is <= {@code term}. Used for fast backtracking: every
     * entry in between has a larger term and so cannot match the other log.
     */
    long findConflictByTerm(long index, long term) {
        long li = lastIndex();
        if (index > li) return index;
        long first = firstIndex() - 1;
        while (index > first) {
            long t = term(index);
            if (t <= term) return index;
            index--;
        }
        return index;
    }

    List<Entry> unstableEntries() {
        return unstable.entries.isEmpty() ? List.of() : List.copyOf(unstable.entries);
    }

    boolean hasUnstable() {
        return !unstable.entries.isEmpty();
    }

    /** Committed entries not yet handed to the application (bounded by maxApplyBytes). */
    List<Entry> nextCommittedEntries() {
        long lo = Math.max(applied + 1, firstIndex());
        if (committed + 1 > lo) return slice(lo, committed + 1, maxApplyBytes);
        return List.of();
    }

    boolean hasNextCommittedEntries() {
        long lo = Math.max(applied + 1, firstIndex());
        return committed + 1 > lo;
    }

    Snapshot pendingSnapshot() {
        return unstable.snapshot;
    }

    Snapshot snapshot() {
        if (unstable.snapshot != null) return unstable.snapshot;
        return storage.snapshot();
    }

    void commitTo(long toCommit) {
        if (toCommit > committed) {
            if (toCommit > lastIndex()) throw Util.violated("commit " + toCommit + " beyond last index " + lastIndex());
            committed = toCommit;
        }
    }

    void appliedTo(long i) {
        if (i == 0) return;
        if (!(committed >= i && i >= applied)) {
            throw Util.violated("applied " + i + " out of range [" + applied + "," + committed + "]");
        }
        applied = i;
    }

    void stableTo(long i, long t) {
        unstable.stableTo(i, t);
    }

    void stableSnapTo(long i) {
        unstable.stableSnapTo(i);
    }

    /** Entries from i on, at most maxBytes (at least one). */
    List<Entry> entries(long i, long maxBytes) {
        if (i > lastIndex()) return List.of();
        return slice(i, lastIndex() + 1, maxBytes);
    }

    boolean maybeCommit(long maxIndex, long term) {
        // Raft §5.4.2: only entries of the current term are committed by counting replicas.
        if (maxIndex > committed && term(maxIndex) == term) {
            commitTo(maxIndex);
            return true;
        }
        return false;
    }

    void restore(Snapshot s) {
        committed = s.index();
        unstable.restore(s);
    }

    /** Entries [lo, hi), at most maxBytes but at least one. Throws CompactedException below firstIndex. */
    List<Entry> slice(long lo, long hi, long maxBytes) {
        if (lo == hi) return List.of();
        long first = firstIndex();
        if (lo < first) throw new LogStorage.CompactedException(lo, first);
        if (hi > lastIndex() + 1) throw Util.violated("slice [" + lo + "," + hi + ") beyond last index " + lastIndex());
        List<Entry> out = new ArrayList<>();
        long uo = unstable.offset;
        if (lo < uo) {
            List<Entry> stored = storage.entries(lo, Math.min(hi, uo), maxBytes);
            out.addAll(stored);
            // Storage returned fewer than asked (size limit): stop here.
            if (stored.size() < Math.min(hi, uo) - lo) return out;
        }
        if (hi > uo) {
            out.addAll(unstable.slice(Math.max(lo, uo), hi));
        }
        return Util.limitSize(out, maxBytes);
    }

    @Override
    public String toString() {
        return "committed=" + committed + " applied=" + applied + " unstable.offset=" + unstable.offset
                + " unstable.len=" + unstable.entries.size();
    }
}
