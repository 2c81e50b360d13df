package io.quorumlab.raft;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A single-server membership change, carried in a {@link EntryType#CONF_CHANGE} entry.
 * {@code context} is opaque (the server puts the member's attributes there).
 */
public record ConfChange(ConfChangeType type, long nodeId, byte[] context) {
    private static final int MAGIC = 0x51434346; // "QCCF"

    public ConfChange {
        if (type == null) throw new IllegalArgumentException("type");
        if (nodeId == 0) throw new IllegalArgumentException("node id 0 is reserved for 'none'");
        if (context == null) context = new byte[0];
    }

    public static ConfChange of(ConfChangeType type, long nodeId) {
        return new ConfChange(type, nodeId, new byte[0]);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 + 4 + context.length);
        b.putInt(MAGIC).put((byte) type.ordinal()).putLong(nodeId).putInt(context.length).put(context);
        return b.array();
    }

    public static ConfChange decode(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (data.length < 17 || b.getInt() != MAGIC) throw new IllegalArgumentException("not a conf change");
        int t = b.get();
        if (t < 0 || t >= ConfChangeType.values().length) throw new IllegalArgumentException("bad conf change type " + t);
        long node = b.getLong();
        int len = b.getInt();
        if (len < 0 || len != b.remaining()) throw new IllegalArgumentException("bad conf change context length " + len);
        byte[] ctx = new byte[len];
        b.get(ctx);
        return new ConfChange(ConfChangeType.values()[t], node, ctx);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfChange c && c.type == type && c.nodeId == nodeId && Arrays.equals(c.context, context);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Long.hashCode(nodeId);
    }

    @Override
    public String toString() {
        return type + " " + nodeId;
    }
}
