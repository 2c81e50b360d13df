package io.quorumlab.raft;

/** How the leader confirms it is still the leader before serving a linearizable read. */
public enum ReadOnlyOption {
    /** A heartbeat round acknowledged by a quorum (the Raft thesis' ReadIndex, section 6.4). */
    SAFE,
    /**
     * Answer at once while the leader's lease holds: less than one election timeout (minus a tick) since
     * it sent a heartbeat a quorum acknowledged. Outside the lease, falls back to {@link #SAFE}.
     * Depends on bounded clock drift between members.
     */
    LEASE_BASED
}
