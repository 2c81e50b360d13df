package io.quorumlab.raft;

/**
 * What the two in-memory {@link LogStorage}s share: the persisted hard state and the latest snapshot,
 * with the setters the application calls as it persists a {@link Ready}. Subclasses hold the entries.
 */
abstract class HeldLogStorage implements LogStorage {
    protected HardState hardState = HardState.EMPTY;
    protected Snapshot snapshot = Snapshot.EMPTY;

    @Override
    public InitialState initialState() {
        return new InitialState(hardState, snapshot.confState());
    }

    public HardState hardState() {
        return hardState;
    }

    public void setHardState(HardState hs) {
        this.hardState = hs;
    }

    /** Replaces the membership recorded with the current snapshot. */
    public void setConfState(ConfState cs) {
        snapshot = new Snapshot(snapshot.index(), snapshot.term(), cs, snapshot.data());
    }

    @Override
    public Snapshot snapshot() {
        return snapshot;
    }

    /** Records a snapshot of the application's state at {@code i} (which must be applied) and returns it. */
    public Snapshot createSnapshot(long i, ConfState cs, byte[] data) {
        if (i <= snapshot.index()) throw new IllegalArgumentException("snapshot index " + i + " is out of date");
        if (i > lastIndex()) throw new IllegalArgumentException("snapshot index " + i + " beyond last index " + lastIndex());
        snapshot = new Snapshot(i, term(i), cs == null ? snapshot.confState() : cs, data);
        return snapshot;
    }
}
