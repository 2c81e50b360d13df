package io.quorumlab.raft;

/** State that must be durable before any message that depends on it is sent. */
public record HardState(long term, long vote, long commit) {
    public static final HardState EMPTY = new HardState(0, 0, 0);

    public boolean isEmpty() {
        return equals(EMPTY);
    }

    @Override
    public String toString() {
        return "term=" + term + " vote=" + vote + " commit=" + commit;
    }
}
