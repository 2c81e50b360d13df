package io.quorumlab.raft;

/** A read-only copy of the leader's view of one follower, for {@link Status}. */
public record ProgressView(ProgressState state, long match, long next, boolean learner, boolean recentActive,
                           int inflight, long pendingSnapshot) {
    @Override
    public String toString() {
        return state + " match=" + match + " next=" + next + (learner ? " learner" : "")
                + (state == ProgressState.SNAPSHOT ? " pendingSnap=" + pendingSnapshot : "")
                + (inflight > 0 ? " inflight=" + inflight : "");
    }
}
