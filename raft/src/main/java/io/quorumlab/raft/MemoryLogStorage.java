package io.quorumlab.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * An in-memory {@link LogStorage}: tests, the simulator's model of a member's durable log once the
 * WAL has replayed, and the server's cache of the recent log. Not thread-safe; one owner.
 */
public final class MemoryLogStorage extends HeldLogStorage {
    /** ents.get(0) is a dummy standing for the snapshot's last entry (its term and index). */
    private final ArrayList<Entry> ents = new ArrayList<>();

    public MemoryLogStorage() {
        ents.add(new Entry(0, 0, EntryType.NORMAL, null));
    }

    /** A storage whose membership is {@code voters} and nothing else (a brand-new cluster). */
    public static MemoryLogStorage withVoters(long... voters) {
        MemoryLogStorage s = new MemoryLogStorage();
        s.snapshot = new Snapshot(0, 0, ConfState.ofVoters(voters), null);
        return s;
    }

    /**
     * A brand-new cluster the way etcd bootstraps one: the initial members are committed conf-change
     * entries of term 1, applied by every member when it first starts. A member that later joins with
     * an empty log learns the same history from the leader.
     */
    public static MemoryLogStorage bootstrap(long... voters) {
        MemoryLogStorage s = new MemoryLogStorage();
        List<Entry> es = new ArrayList<>();
        for (int i = 0; i < voters.length; i++) {
            es.add(new Entry(1, i + 1, EntryType.CONF_CHANGE, ConfChange.of(ConfChangeType.ADD_NODE, voters[i]).encode()));
        }
        s.append(es);
        s.hardState = new HardState(1, 0, voters.length);
        return s;
    }

    private long offset() {
        return ents.get(0).index();
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        long offset = offset();
        if (lo <= offset) throw new CompactedException(lo, offset + 1);
        if (hi > lastIndex() + 1) throw new UnavailableException(hi - 1, lastIndex());
        if (ents.size() == 1) throw new UnavailableException(lo, lastIndex()); // only the dummy
        List<Entry> slice = ents.subList((int) (lo - offset), (int) (hi - offset));
        return List.copyOf(Util.limitSize(slice, maxBytes));
    }

    @Override
    public long term(long i) {
        long offset = offset();
        if (i < offset) throw new CompactedException(i, offset + 1);
        if (i - offset >= ents.size()) throw new UnavailableException(i, lastIndex());
        return ents.get((int) (i - offset)).term();
    }

    @Override
    public long firstIndex() {
        return offset() + 1;
    }

    @Override
    public long lastIndex() {
        return offset() + ents.size() - 1;
    }

    /** Replaces the whole log with a snapshot (a follower receiving one, or a restart). */
    public void applySnapshot(Snapshot snap) {
        if (snap.index() <= snapshot.index()) {
            throw new IllegalArgumentException("snapshot " + snap.index() + " is out of date (have " + snapshot.index() + ")");
        }
        snapshot = snap;
        ents.clear();
        ents.add(new Entry(snap.term(), snap.index(), EntryType.NORMAL, null));
    }

    /** Discards entries before {@code compactIndex}; the entry at it becomes the dummy. */
    public void compact(long compactIndex) {
        long offset = offset();
        if (compactIndex <= offset) throw new CompactedException(compactIndex, offset + 1);
        if (compactIndex > lastIndex()) throw new IllegalArgumentException("compact " + compactIndex + " beyond last index " + lastIndex());
        int i = (int) (compactIndex - offset);
        Entry keep = ents.get(i);
        ents.subList(0, i).clear();
        ents.set(0, new Entry(keep.term(), keep.index(), EntryType.NORMAL, null));
    }

    /**
     * Appends entries, replacing any conflicting suffix. Entries must be contiguous and must not leave
     * a gap after the current last index.
     */
    public void append(List<Entry> entries) {
        if (entries.isEmpty()) return;
        long first = firstIndex();
        long last = entries.get(0).index() + entries.size() - 1;
        if (last < first) return; // entirely compacted already
        if (first > entries.get(0).index()) entries = entries.subList((int) (first - entries.get(0).index()), entries.size());
        long offset = entries.get(0).index() - offset();
        if (offset > ents.size()) {
            throw new IllegalArgumentException("missing log entry: last " + lastIndex() + ", append at " + entries.get(0).index());
        }
        if (offset < ents.size()) ents.subList((int) offset, ents.size()).clear();
        ents.addAll(entries);
    }
}
