package io.quorumlab.raft;

/** Volatile state that the application may want to observe; never persisted. */
public record SoftState(long lead, StateRole role) {
    @Override
    public String toString() {
        return "lead=" + lead + " " + role;
    }
}
