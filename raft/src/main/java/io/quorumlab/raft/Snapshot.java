package io.quorumlab.raft;

/** A state-machine snapshot: everything up to {@code index} (of {@code term}) plus the membership then. */
public record Snapshot(long index, long term, ConfState confState, byte[] data) {
    public static final Snapshot EMPTY = new Snapshot(0, 0, ConfState.EMPTY, new byte[0]);

    public Snapshot {
        if (confState == null) confState = ConfState.EMPTY;
        if (data == null) data = new byte[0];
    }

    public boolean isEmpty() {
        return index == 0;
    }

    @Override
    public String toString() {
        return "snapshot index=" + index + " term=" + term + " " + confState;
    }
}
