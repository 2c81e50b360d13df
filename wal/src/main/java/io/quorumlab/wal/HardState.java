package io.quorumlab.wal;

/** Raft's durable vote state. Only term and vote changes need an fsync; commit can be re-learned. */
public record HardState(long term, long vote, long commit) implements WalRecord {

    public static final HardState EMPTY = new HardState(0, 0, 0);

    public HardState {
        if (term < 0 || vote < 0 || commit < 0) {
            throw new IllegalArgumentException("negative hard state " + term + "/" + vote + "/" + commit);
        }
    }

    public boolean isEmpty() {
        return term == 0 && vote == 0 && commit == 0;
    }

    /** True when writing {@code next} after this one must be fsync'd before acting on it. */
    boolean needsSyncTo(HardState next) {
        return next.term != term || next.vote != vote;
    }
}
