package io.quorumlab.raft;

/** How the leader confirms it is still the leader before serving a linearizable read. */
public enum ReadOnlyOption {
    /** A heartbeat round acknowledged by a quorum (the Raft thesis' ReadIndex, section 6.4). */
    SAFE,
    /** Trust the leader lease kept by CheckQuorum; depends on bounded clock drift. */
    LEASE_BASED
}
