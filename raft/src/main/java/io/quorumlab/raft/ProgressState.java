package io.quorumlab.raft;

/** How the leader replicates to one follower. */
public enum ProgressState {
    /** Unknown match: send one append at a time and wait for the answer. */
    PROBE,
    /** Known match: stream appends optimistically, within the in-flight window. */
    REPLICATE,
    /** The follower needs a snapshot; appends are paused until it is applied. */
    SNAPSHOT
}
