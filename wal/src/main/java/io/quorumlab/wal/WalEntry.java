package io.quorumlab.wal;

/**
 * A Raft log entry as the WAL sees it: position, term, an entry kind that only raft interprets
 * (normal, conf change, ...), and opaque bytes. The array is not copied: callers must not mutate
 * it after handing it to the WAL.
 */
public record WalEntry(long term, long index, int type, byte[] data) implements WalRecord {

    /** The kind is stored in one byte. */
    public static final int MAX_TYPE = 0xFF;

    public WalEntry {
        if (term < 0 || index < 1) {
            throw new IllegalArgumentException("bad entry term=" + term + " index=" + index);
        }
        if (type < 0 || type > MAX_TYPE) {
            throw new IllegalArgumentException("entry type out of range: " + type);
        }
        if (data == null) {
            data = new byte[0];
        }
    }

    public static WalEntry normal(long term, long index, byte[] data) {
        return new WalEntry(term, index, 0, data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WalEntry e && e.term == term && e.index == index && e.type == type
                && java.util.Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(term, index, type, java.util.Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "WalEntry[term=" + term + ", index=" + index + ", type=" + type + ", bytes=" + data.length + "]";
    }
}
