package io.quorumlab.raft;

import java.util.List;

/**
 * The public face of one Raft node: feed it ticks, messages and proposals; collect {@link Ready};
 * persist, send and apply; then {@link #advance(Ready)}. Single-threaded, no I/O, no clock, no
 * randomness of its own — everything comes in through the calls and {@link Config}.
 */
public final class RawNode {
    private final Raft raft;
    private SoftState prevSoftState;
    private HardState prevHardState;

    public RawNode(Config config) {
        this.raft = new Raft(config);
        this.prevSoftState = raft.softState();
        this.prevHardState = raft.hardState();
    }

    public long id() {
        return raft.id;
    }

    /** Advances logical time by one tick (heartbeat and election timers). */
    public void tick() {
        raft.tick();
    }

    /** Starts an election now (after PreVote, if enabled), as if the election timer had fired. */
    public void campaign() {
        raft.step(Message.builder(MessageType.HUP).from(raft.id).build());
    }

    /** Proposes application data. A result for which {@link ProposalResult#dropped()} holds was not appended. */
    public ProposalResult propose(byte[] data) {
        return raft.step(Message.builder(MessageType.PROP).from(raft.id)
                .entries(List.of(new Entry(0, 0, EntryType.NORMAL, data))).build());
    }

    /** Proposes several entries in one message (the member's batching path). */
    public ProposalResult proposeBatch(List<byte[]> datas) {
        if (datas.isEmpty()) throw new IllegalArgumentException("empty batch");
        Entry[] es = new Entry[datas.size()];
        for (int i = 0; i < es.length; i++) es[i] = new Entry(0, 0, EntryType.NORMAL, datas.get(i));
        return raft.step(Message.builder(MessageType.PROP).from(raft.id).entries(List.of(es)).build());
    }

    /** Proposes a membership change; only one may be pending (proposed and not yet applied) at a time. */
    public ProposalResult proposeConfChange(ConfChange cc) {
        return raft.step(Message.builder(MessageType.PROP).from(raft.id)
                .entries(List.of(new Entry(0, 0, EntryType.CONF_CHANGE, cc.encode()))).build());
    }

    /** Delivers a message from a peer. Local message types are rejected. */
    public ProposalResult step(Message m) {
        if (m.type().isLocal()) throw new IllegalArgumentException("local message type from the network: " + m.type());
        if (m.from() == Raft.NONE) throw new IllegalArgumentException("message without sender: " + m);
        // Responses from nodes we no longer know are stale noise.
        if (m.type().isResponse() && !raft.prs.containsKey(m.from())) return ProposalResult.ACCEPTED;
        return raft.step(m);
    }

    /**
     * Asks for a linearizable read point. A {@link ReadState} with the same {@code context} appears in
     * a later Ready once leadership is confirmed (or is never produced if leadership is lost: retry).
     */
    public void readIndex(byte[] context) {
        raft.step(Message.builder(MessageType.READ_INDEX).from(raft.id).context(context).build());
    }

    /** Asks the leader to hand leadership to {@code transferee}; proposals are dropped until done. */
    public void transferLeadership(long transferee) {
        raft.step(Message.builder(MessageType.TRANSFER_LEADER).from(transferee).to(raft.lead).build());
    }

    /** Applies a committed conf change (call while applying its entry); returns the new membership. */
    public ConfState applyConfChange(ConfChange cc) {
        return raft.applyConfChange(cc);
    }

    /** Tells the leader a snapshot send to {@code to} finished or failed. */
    public void reportSnapshot(long to, boolean failed) {
        raft.reportSnapshot(to, failed);
    }

    /** Tells the leader {@code to} could not be reached (its send queue overflowed, the link is down). */
    public void reportUnreachable(long to) {
        raft.reportUnreachable(to);
    }

    public boolean hasReady() {
        // Field by field: the member loop asks after every step, so no state records are built here.
        if (raft.lead != prevSoftState.lead() || raft.state != prevSoftState.role()) return true;
        long term = raft.term, vote = raft.vote, commit = raft.raftLog.committed;
        boolean hardEmpty = term == 0 && vote == 0 && commit == 0;
        if (!hardEmpty && (term != prevHardState.term() || vote != prevHardState.vote() || commit != prevHardState.commit())) {
            return true;
        }
        if (raft.raftLog.pendingSnapshot() != null) return true;
        if (raft.raftLog.hasUnstable() || !raft.msgs.isEmpty() || !raft.readStates.isEmpty()) return true;
        return raft.raftLog.hasNextCommittedEntries();
    }

    /** Collects everything pending. Must be followed by {@link #advance(Ready)} before the next call. */
    public Ready ready() {
        SoftState ss = raft.softState();
        HardState hs = raft.hardState();
        List<Entry> entries = raft.raftLog.unstableEntries();
        Ready rd = new Ready(
                ss.equals(prevSoftState) ? null : ss,
                hs.equals(prevHardState) ? null : hs,
                entries,
                raft.raftLog.pendingSnapshot(),
                raft.raftLog.nextCommittedEntries(),
                List.copyOf(raft.msgs),
                List.copyOf(raft.readStates),
                !entries.isEmpty() || hs.term() != prevHardState.term() || hs.vote() != prevHardState.vote());
        raft.msgs.clear();
        raft.readStates.clear();
        return rd;
    }

    /** The application has persisted, sent and applied (or queued for applying) everything in {@code rd}. */
    public void advance(Ready rd) {
        if (rd.softState() != null) prevSoftState = rd.softState();
        if (rd.hardState() != null) prevHardState = rd.hardState();
        if (rd.snapshot() != null) {
            raft.raftLog.stableSnapTo(rd.snapshot().index());
        }
        if (!rd.committedEntries().isEmpty()) {
            raft.raftLog.appliedTo(rd.committedEntries().get(rd.committedEntries().size() - 1).index());
        } else if (rd.snapshot() != null && rd.snapshot().index() > raft.raftLog.applied) {
            raft.raftLog.applied = rd.snapshot().index();
        }
        if (!rd.entries().isEmpty()) {
            Entry last = rd.entries().get(rd.entries().size() - 1);
            raft.onStable(last.index(), last.term());
        }
    }

    public Status status() {
        return new Status(raft.id, raft.hardState(), raft.softState(), raft.raftLog.applied, raft.raftLog.lastIndex(),
                raft.confState(), raft.leadTransferee,
                raft.state == StateRole.LEADER ? raft.progressView() : java.util.Map.of());
    }

    /** The current leader's id, or 0 when unknown. */
    public long leader() {
        return raft.lead;
    }

    public StateRole role() {
        return raft.state;
    }
}
