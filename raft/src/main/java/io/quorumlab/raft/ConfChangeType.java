package io.quorumlab.raft;

public enum ConfChangeType {
    /** Add a voter, or promote an existing learner to voter. */
    ADD_NODE,
    /** Add a learner (receives the log, never votes or counts for quorum). */
    ADD_LEARNER_NODE,
    REMOVE_NODE,
    /** Changes nothing in Raft; the application updates its member's attributes (peer URLs). */
    UPDATE_NODE
}
