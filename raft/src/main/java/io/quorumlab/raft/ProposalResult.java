package io.quorumlab.raft;

/** What happened to a proposal. Anything but {@link #ACCEPTED} and {@link #FORWARDED} means dropped. */
public enum ProposalResult {
    /** Appended to the leader's log. */
    ACCEPTED,
    /** Sent to the leader by a follower (may still be dropped there). */
    FORWARDED,
    DROPPED_NO_LEADER,
    DROPPED_LEADERSHIP_TRANSFER,
    DROPPED_UNCOMMITTED_LIMIT,
    /** Another membership change is still pending (proposed but not yet applied). */
    DROPPED_CONF_CHANGE_PENDING,
    /** This node is not (or no longer) a member. */
    DROPPED_NOT_MEMBER;

    public boolean dropped() {
        return this != ACCEPTED && this != FORWARDED;
    }
}
