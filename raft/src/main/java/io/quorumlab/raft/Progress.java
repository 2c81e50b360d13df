package io.quorumlab.raft;

/** The leader's view of one follower's log. */
final class Progress {
    long match;
    long next;
    ProgressState state = ProgressState.PROBE;
    /** Index of the snapshot being sent while in SNAPSHOT state. */
    long pendingSnapshot;
    /** Heard from since the last CheckQuorum round. */
    boolean recentActive;
    /** In PROBE: an append is out, wait for its answer (or a heartbeat response) before the next. */
    boolean probeSent;
    boolean learner;
    /** Our tick when we sent the newest heartbeat this follower acknowledged (the read lease's clock). */
    long lastAckedHeartbeatTick;
    final Inflights inflights;

    Progress(long next, int maxInflight, long maxInflightBytes, boolean learner) {
        this.next = next;
        this.inflights = new Inflights(maxInflight, maxInflightBytes);
        this.learner = learner;
    }

    private void resetState(ProgressState s) {
        probeSent = false;
        pendingSnapshot = 0;
        state = s;
        inflights.reset();
    }

    void becomeProbe() {
        if (state == ProgressState.SNAPSHOT) {
            long ps = pendingSnapshot;
            resetState(ProgressState.PROBE);
            next = Math.max(match + 1, ps + 1);
        } else {
            resetState(ProgressState.PROBE);
            next = match + 1;
        }
    }

    void becomeReplicate() {
        resetState(ProgressState.REPLICATE);
        next = match + 1;
    }

    void becomeSnapshot(long snapshotIndex) {
        resetState(ProgressState.SNAPSHOT);
        pendingSnapshot = snapshotIndex;
    }

    /** An acknowledgement of everything up to n. Returns whether match advanced. */
    boolean maybeUpdate(long n) {
        boolean updated = false;
        if (match < n) {
            match = n;
            updated = true;
            probeSent = false;
        }
        next = Math.max(next, n + 1);
        return updated;
    }

    void optimisticUpdate(long n) {
        next = n + 1;
    }

    /**
     * A rejection of the append whose previous index was {@code rejected}; {@code matchHint} is the
     * highest index that could still match. Returns false when the rejection is stale.
     */
    boolean maybeDecrTo(long rejected, long matchHint) {
        if (state == ProgressState.REPLICATE) {
            if (rejected <= match) return false;
            next = match + 1;
            return true;
        }
        if (next - 1 != rejected) return false;
        next = Math.max(Math.min(rejected, matchHint + 1), 1);
        probeSent = false;
        return true;
    }

    boolean isPaused() {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflights.full();
            case SNAPSHOT -> true;
        };
    }

    @Override
    public String toString() {
        return state + " match=" + match + " next=" + next + (learner ? " learner" : "")
                + (state == ProgressState.SNAPSHOT ? " pendingSnap=" + pendingSnapshot : "")
                + (inflights.count() > 0 ? " inflight=" + inflights.count() : "")
                + (probeSent ? " paused" : "");
    }
}
