package io.quorumlab.raft;

import java.util.Arrays;

/** One Raft log entry. {@code data} is opaque to Raft except for conf-change entries. */
public record Entry(long term, long index, EntryType type, byte[] data) {
    private static final byte[] EMPTY = new byte[0];
    /** Fixed per-entry accounting overhead (term, index, type, framing) used for message sizing. */
    public static final int OVERHEAD_BYTES = 24;

    public Entry {
        if (type == null) throw new IllegalArgumentException("type");
        if (data == null) data = EMPTY;
        if (term < 0 || index < 0) throw new IllegalArgumentException("term/index negative: " + term + "/" + index);
    }

    public static Entry normal(long term, long index, byte[] data) {
        return new Entry(term, index, EntryType.NORMAL, data);
    }

    /** Bytes this entry counts for message-size and in-flight limits. */
    public long sizeBytes() {
        return data.length + OVERHEAD_BYTES;
    }

    /** Bytes this entry counts against the leader's uncommitted-log limit (payload only, like etcd). */
    public long payloadBytes() {
        return data.length;
    }

    public Entry withTermIndex(long newTerm, long newIndex) {
        return new Entry(newTerm, newIndex, type, data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && e.term == term && e.index == index && e.type == type && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(term) * 31 * 31 + Long.hashCode(index) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return term + "/" + index + (type == EntryType.NORMAL ? "" : " " + type) + " " + Util.describeData(type, data);
    }
}
