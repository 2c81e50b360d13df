package io.quorumlab.raft;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * The Raft state machine of one node. Single-threaded and deterministic: its only inputs are
 * {@link #tick()}, {@link #step(Message)} and the application's acknowledgements; its outputs are
 * the messages in {@link #msgs}, the log and the read states, collected by {@link RawNode}.
 */
final class Raft {
    static final long NONE = 0;
    /** Context of a TimeoutNow-triggered campaign: voters grant it even while they have a leader. */
    static final byte[] CAMPAIGN_TRANSFER = "CampaignTransfer".getBytes(StandardCharsets.US_ASCII);

    private enum CampaignType { PRE_ELECTION, ELECTION, TRANSFER }

    private enum VoteResult { PENDING, WON, LOST }

    final long id;
    long term;
    long vote;
    long lead;
    StateRole state = StateRole.FOLLOWER;
    boolean isLearner;

    final RaftLog raftLog;
    final TreeMap<Long, Progress> prs = new TreeMap<>();
    final TreeSet<Long> voters = new TreeSet<>();
    final TreeSet<Long> learners = new TreeSet<>();
    private final TreeMap<Long, Boolean> votes = new TreeMap<>();

    final List<Message> msgs = new ArrayList<>();
    final List<ReadState> readStates = new ArrayList<>();
    private final ReadOnly readOnly;
    private final ArrayDeque<Message> pendingReadIndexMessages = new ArrayDeque<>();

    long leadTransferee;
    /** Index of the last conf-change entry proposed; a new one waits until it is applied. */
    long pendingConfIndex;
    /** Payload bytes appended by this leader and not yet committed. */
    long uncommittedSize;

    private final boolean checkQuorum;
    private final boolean preVote;
    private final ReadOnlyOption readOnlyOption;
    private final int heartbeatTimeout;
    private final int electionTimeout;
    private int randomizedElectionTimeout;
    int electionElapsed;
    /** Ticks seen since this node started; dates heartbeats for the read lease. */
    private long ticks;
    private int heartbeatElapsed;

    private final long maxMsgSize;
    private final long maxUncommittedSize;
    private final int maxInflight;
    private final long maxInflightBytes;
    private final int maxPendingReads;
    private final RandomGenerator random;

    Raft(Config c) {
        this.id = c.id();
        this.raftLog = new RaftLog(c.storage(), c.maxCommittedBytesPerReady());
        this.checkQuorum = c.checkQuorum();
        this.preVote = c.preVote();
        this.readOnlyOption = c.readOnlyOption();
        this.heartbeatTimeout = c.heartbeatTicks();
        this.electionTimeout = c.electionTicks();
        this.maxMsgSize = c.maxSizePerMessageBytes();
        this.maxUncommittedSize = c.maxUncommittedEntriesBytes();
        this.maxInflight = c.maxInflightMessages();
        this.maxInflightBytes = c.maxInflightBytes();
        this.maxPendingReads = c.maxPendingReadIndexMessages();
        this.readOnly = new ReadOnly(c.maxPendingReadIndexMessages());
        this.random = c.random();

        LogStorage.InitialState init = c.storage().initialState();
        ConfState cs = init.confState();
        for (long v : cs.voters()) addProgress(v, false);
        for (long l : cs.learners()) addProgress(l, true);
        isLearner = learners.contains(id);

        HardState hs = init.hardState();
        if (!hs.isEmpty()) {
            if (!(hs.commit() >= raftLog.committed && hs.commit() <= raftLog.lastIndex())) {
                throw Util.violated("hard state commit " + hs.commit() + " out of range [" + raftLog.committed + "," + raftLog.lastIndex() + "]");
            }
            raftLog.committed = hs.commit();
            term = hs.term();
            vote = hs.vote();
        }
        if (c.applied() > 0) raftLog.appliedTo(c.applied());
        becomeFollower(term, NONE);
    }

    // ---------------------------------------------------------------- state accessors

    HardState hardState() {
        return new HardState(term, vote, raftLog.committed);
    }

    SoftState softState() {
        return new SoftState(lead, state);
    }

    ConfState confState() {
        return new ConfState(voters, learners);
    }

    /** A voter may campaign, unless it holds a received snapshot it has not persisted yet (etcd does the same). */
    boolean promotable() {
        return voters.contains(id) && raftLog.pendingSnapshot() == null;
    }

    private int quorum() {
        return voters.size() / 2 + 1;
    }

    // ---------------------------------------------------------------- sending

    private void send(Message.Builder b) {
        Message m = b.build();
        if (m.from() == NONE) m = m.toBuilder().from(id).build(); // forwarded messages keep their origin
        if (m.type() == MessageType.VOTE || m.type() == MessageType.VOTE_RESP
                || m.type() == MessageType.PRE_VOTE || m.type() == MessageType.PRE_VOTE_RESP) {
            if (m.term() == 0) throw Util.violated("term must be set for " + m.type());
        } else {
            if (m.term() != 0) throw Util.violated("term must not be preset for " + m.type());
            // Proposals and forwarded reads carry no term: they are local-ish and must survive term changes.
            if (m.type() != MessageType.PROP && m.type() != MessageType.READ_INDEX) {
                m = m.toBuilder().term(term).build();
            }
        }
        msgs.add(m);
    }

    /** Sends an append (or a snapshot) to {@code to} if its progress allows; returns whether it sent. */
    private boolean maybeSendAppend(long to, boolean sendIfEmpty) {
        Progress pr = prs.get(to);
        if (pr == null || pr.isPaused()) return false;
        long prevIndex = pr.next - 1;
        boolean compacted = prevIndex < raftLog.firstIndex() - 1;
        List<Entry> ents = List.of();
        long prevTerm = 0;
        if (!compacted) {
            prevTerm = raftLog.term(prevIndex);
            try {
                ents = raftLog.entries(pr.next, maxMsgSize);
            } catch (LogStorage.CompactedException e) {
                compacted = true;
            }
        }
        if (compacted) {
            if (!pr.recentActive) return false; // do not ship a snapshot to a node that may be down
            Snapshot snap;
            try {
                snap = raftLog.snapshot();
            } catch (LogStorage.SnapshotTemporarilyUnavailableException e) {
                return false;
            }
            if (snap.isEmpty()) throw Util.violated("need a non-empty snapshot to send to " + to);
            send(Message.builder(MessageType.SNAP).to(to).snapshot(snap));
            pr.becomeSnapshot(snap.index());
            return true;
        }
        if (ents.isEmpty() && !sendIfEmpty) return false;
        Message.Builder b = Message.builder(MessageType.APP).to(to).index(prevIndex).logTerm(prevTerm)
                .entries(ents).commit(raftLog.committed);
        if (!ents.isEmpty()) {
            switch (pr.state) {
                case REPLICATE -> {
                    long last = ents.get(ents.size() - 1).index();
                    pr.optimisticUpdate(last);
                    long bytes = 0;
                    for (Entry e : ents) bytes += e.sizeBytes();
                    pr.inflights.add(last, bytes);
                }
                case PROBE -> pr.probeSent = true;
                case SNAPSHOT -> throw new IllegalStateException("sending append in SNAPSHOT state to " + to);
            }
        } else if (pr.state == ProgressState.PROBE) {
            pr.probeSent = true;
        }
        send(b);
        return true;
    }

    private void sendAppend(long to) {
        maybeSendAppend(to, true);
    }

    private void bcastAppend() {
        for (long to : prs.keySet()) {
            if (to != id) sendAppend(to);
        }
    }

    private void bcastHeartbeat(byte[] ctx) {
        for (Map.Entry<Long, Progress> e : prs.entrySet()) {
            if (e.getKey() == id) continue;
            // Never tell a follower to commit past what it is known to hold.
            long commit = Math.min(e.getValue().match, raftLog.committed);
            // index carries our tick count at sending; the follower echoes it, which dates the lease.
            Message.Builder b = Message.builder(MessageType.HEARTBEAT).to(e.getKey()).commit(commit).index(ticks);
            if (ctx != null) b.context(ctx);
            send(b);
        }
    }

    // ---------------------------------------------------------------- commit

    /** Advances commit to the highest index a quorum of voters holds, if it is of the current term. */
    boolean maybeCommit() {
        if (voters.isEmpty()) return false;
        long[] matches = new long[voters.size()];
        int i = 0;
        for (long v : voters) matches[i++] = prs.get(v).match;
        Arrays.sort(matches);
        long quorumIndex = matches[matches.length - quorum()];
        long oldCommitted = raftLog.committed;
        boolean advanced = raftLog.maybeCommit(quorumIndex, term);
        if (advanced) {
            reduceUncommittedSize(oldCommitted + 1, raftLog.committed + 1);
            releasePendingReadIndexMessages();
        }
        return advanced;
    }

    private void reduceUncommittedSize(long lo, long hi) {
        if (uncommittedSize == 0) return;
        long size = 0;
        for (Entry e : raftLog.slice(Math.max(lo, raftLog.firstIndex()), hi, Long.MAX_VALUE)) size += e.payloadBytes();
        // Entries of earlier terms were never counted: clamp rather than go negative.
        uncommittedSize = Math.max(0, uncommittedSize - size);
    }

    private boolean committedEntryInCurrentTerm() {
        return raftLog.term(raftLog.committed) == term;
    }

    // ---------------------------------------------------------------- role transitions

    private void reset(long newTerm) {
        if (term != newTerm) {
            term = newTerm;
            vote = NONE;
        }
        lead = NONE;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        resetRandomizedElectionTimeout();
        leadTransferee = NONE;
        votes.clear();
        long last = raftLog.lastIndex();
        for (Map.Entry<Long, Progress> e : prs.entrySet()) {
            Progress old = e.getValue();
            Progress pr = new Progress(last + 1, maxInflight, maxInflightBytes, old.learner);
            if (e.getKey() == id) pr.match = stableLastIndex();
            e.setValue(pr);
        }
        pendingConfIndex = 0;
        uncommittedSize = 0;
        readOnly.clear();
        pendingReadIndexMessages.clear();
    }

    /** The last index the application has confirmed durable. */
    long stableLastIndex() {
        // While a received snapshot is unpersisted the old stable log is being discarded: claim nothing.
        if (raftLog.unstable.snapshot != null) return 0;
        return raftLog.unstable.offset - 1;
    }

    private void resetRandomizedElectionTimeout() {
        randomizedElectionTimeout = electionTimeout + random.nextInt(electionTimeout);
    }

    void becomeFollower(long newTerm, long newLead) {
        reset(newTerm);
        lead = newLead;
        state = StateRole.FOLLOWER;
    }

    private void becomePreCandidate() {
        Util.check(state != StateRole.LEADER, "leader cannot become pre-candidate");
        // PreVote does not touch term or vote: a failed pre-election leaves no trace.
        votes.clear();
        lead = NONE;
        state = StateRole.PRE_CANDIDATE;
    }

    private void becomeCandidate() {
        Util.check(state != StateRole.LEADER, "leader cannot become candidate");
        reset(term + 1);
        vote = id;
        state = StateRole.CANDIDATE;
    }

    private void becomeLeader() {
        Util.check(state != StateRole.FOLLOWER, "follower cannot become leader without an election");
        reset(term);
        lead = id;
        state = StateRole.LEADER;
        Progress self = prs.get(id);
        self.becomeReplicate();
        self.match = stableLastIndex();
        // Conservatively treat every uncommitted entry as a possible conf change (Raft §4.1 safety).
        pendingConfIndex = raftLog.lastIndex();
        // An empty entry of the new term lets the leader commit (and learn) everything before it.
        appendEntries(List.of(new Entry(0, 0, EntryType.NORMAL, null)), true);
        self.recentActive = true;
    }

    // ---------------------------------------------------------------- ticks

    void tick() {
        ticks++;
        if (state == StateRole.LEADER) tickHeartbeat();
        else tickElection();
    }

    private void tickElection() {
        electionElapsed++;
        if (promotable() && electionElapsed >= randomizedElectionTimeout) {
            electionElapsed = 0;
            step(Message.builder(MessageType.HUP).from(id).build());
        }
    }

    private void tickHeartbeat() {
        heartbeatElapsed++;
        electionElapsed++;
        if (electionElapsed >= electionTimeout) {
            electionElapsed = 0;
            if (checkQuorum) step(Message.builder(MessageType.CHECK_QUORUM).from(id).build());
            // A transfer that did not finish within an election timeout is abandoned.
            if (state == StateRole.LEADER && leadTransferee != NONE) leadTransferee = NONE;
        }
        if (state != StateRole.LEADER) return;
        if (heartbeatElapsed >= heartbeatTimeout) {
            heartbeatElapsed = 0;
            step(Message.builder(MessageType.BEAT).from(id).build());
        }
    }

    // ---------------------------------------------------------------- elections

    private void hup(CampaignType t) {
        if (state == StateRole.LEADER) return;
        if (!promotable()) return;
        if (hasUnappliedConfChanges()) return; // its outcome could change who may campaign
        campaign(t);
    }

    private boolean hasUnappliedConfChanges() {
        long lo = raftLog.applied + 1;
        long hi = raftLog.committed + 1;
        if (lo >= hi) return false;
        if (lo < raftLog.firstIndex()) return false;
        for (Entry e : raftLog.slice(lo, hi, Long.MAX_VALUE)) {
            if (e.type() == EntryType.CONF_CHANGE) return true;
        }
        return false;
    }

    private void campaign(CampaignType t) {
        MessageType voteType;
        long voteTerm;
        if (t == CampaignType.PRE_ELECTION) {
            becomePreCandidate();
            voteType = MessageType.PRE_VOTE;
            voteTerm = term + 1; // the term we would have; our own term is unchanged
        } else {
            becomeCandidate();
            voteType = MessageType.VOTE;
            voteTerm = term;
        }
        if (poll(id, voteType.voteResponse(), true) == VoteResult.WON) {
            // A single-voter cluster wins at once.
            if (t == CampaignType.PRE_ELECTION) campaign(CampaignType.ELECTION);
            else becomeLeader();
            return;
        }
        for (long v : voters) {
            if (v == id) continue;
            Message.Builder b = Message.builder(voteType).to(v).term(voteTerm)
                    .index(raftLog.lastIndex()).logTerm(raftLog.lastTerm());
            if (t == CampaignType.TRANSFER) b.context(CAMPAIGN_TRANSFER);
            send(b);
        }
    }

    private VoteResult poll(long from, MessageType t, boolean granted) {
        votes.putIfAbsent(from, granted);
        int yes = 0, no = 0;
        for (long v : voters) {
            Boolean g = votes.get(v);
            if (g == null) continue;
            if (g) yes++;
            else no++;
        }
        if (yes >= quorum()) return VoteResult.WON;
        if (no >= quorum() || voters.size() - no < quorum()) return VoteResult.LOST;
        return VoteResult.PENDING;
    }

    // ---------------------------------------------------------------- step

    /** Handles one message; returns what became of it if it was a proposal. */
    ProposalResult step(Message m) {
        if (m.term() == 0) {
            // local message, or a proposal / forwarded read
        } else if (m.term() > term) {
            if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
                boolean force = Arrays.equals(m.context(), CAMPAIGN_TRANSFER);
                boolean inLease = checkQuorum && lead != NONE && electionElapsed < electionTimeout;
                // We heard from a live leader within the minimum election timeout: ignore the
                // disruptive candidate (Raft thesis §4.2.3), unless the leader asked for it.
                if (!force && inLease) return ProposalResult.ACCEPTED;
            }
            if (m.type() == MessageType.PRE_VOTE) {
                // Never change our term for a pre-vote.
            } else if (m.type() == MessageType.PRE_VOTE_RESP && !m.reject()) {
                // The pre-candidate bumps its term itself when it becomes a candidate.
            } else if (m.type() == MessageType.APP || m.type() == MessageType.HEARTBEAT || m.type() == MessageType.SNAP) {
                becomeFollower(m.term(), m.from());
            } else {
                becomeFollower(m.term(), NONE);
            }
        } else if (m.term() < term) {
            if ((checkQuorum || preVote) && (m.type() == MessageType.HEARTBEAT || m.type() == MessageType.APP)) {
                // A stale leader (e.g. just healed from a partition): tell it our term so it steps down;
                // otherwise, with PreVote or CheckQuorum, nobody with a higher term would ever reach it.
                send(Message.builder(MessageType.APP_RESP).to(m.from()));
            } else if (m.type() == MessageType.PRE_VOTE) {
                send(Message.builder(MessageType.PRE_VOTE_RESP).to(m.from()).term(term).reject(true));
            }
            return ProposalResult.ACCEPTED;
        }

        switch (m.type()) {
            case HUP -> {
                hup(preVote ? CampaignType.PRE_ELECTION : CampaignType.ELECTION);
                return ProposalResult.ACCEPTED;
            }
            case VOTE, PRE_VOTE -> {
                boolean canVote = vote == m.from()
                        || (vote == NONE && lead == NONE)
                        || (m.type() == MessageType.PRE_VOTE && m.term() > term);
                if (canVote && raftLog.isUpToDate(m.index(), m.logTerm())) {
                    // Pre-vote grants carry the candidate's future term so it does not discard them.
                    send(Message.builder(m.type().voteResponse()).to(m.from()).term(m.term()));
                    if (m.type() == MessageType.VOTE) {
                        electionElapsed = 0;
                        vote = m.from();
                    }
                } else {
                    send(Message.builder(m.type().voteResponse()).to(m.from()).term(term).reject(true));
                }
                return ProposalResult.ACCEPTED;
            }
            default -> {
                return switch (state) {
                    case LEADER -> stepLeader(m);
                    case CANDIDATE, PRE_CANDIDATE -> stepCandidate(m);
                    case FOLLOWER -> stepFollower(m);
                };
            }
        }
    }

    private ProposalResult stepLeader(Message m) {
        switch (m.type()) {
            case BEAT -> {
                // Carry the newest pending read, so a read whose own round was lost still completes.
                bcastHeartbeat(readOnlyOption == ReadOnlyOption.SAFE ? readOnly.lastPendingContext() : null);
                return ProposalResult.ACCEPTED;
            }
            case CHECK_QUORUM -> {
                if (!quorumActive()) becomeFollower(term, NONE);
                for (Map.Entry<Long, Progress> e : prs.entrySet()) {
                    if (e.getKey() != id) e.getValue().recentActive = false;
                }
                return ProposalResult.ACCEPTED;
            }
            case PROP -> {
                return propose(m);
            }
            case READ_INDEX -> {
                handleLeaderReadIndex(m);
                return ProposalResult.ACCEPTED;
            }
            case TRANSFER_LEADER -> {
                handleTransferLeader(m);
                return ProposalResult.ACCEPTED;
            }
            default -> {}
        }

        Progress pr = prs.get(m.from());
        if (pr == null) return ProposalResult.ACCEPTED;
        switch (m.type()) {
            case APP_RESP -> handleAppendResponse(m, pr);
            case HEARTBEAT_RESP -> {
                pr.recentActive = true;
                if (m.index() > pr.lastAckedHeartbeatTick && m.index() <= ticks) pr.lastAckedHeartbeatTick = m.index();
                pr.probeSent = false;
                // Appends may have been lost: free one slot of a full window so replication can resume
                // (a lost append then shows up as a rejection, which sends the follower back to probing).
                if (pr.state == ProgressState.REPLICATE && pr.inflights.full()) pr.inflights.freeFirstOne();
                if (pr.match < raftLog.lastIndex()) sendAppend(m.from());
                if (readOnlyOption == ReadOnlyOption.SAFE && m.context().length > 0) {
                    Set<Long> acks = readOnly.recvAck(m.from(), m.context());
                    if (acks != null && countVoters(acks) >= quorum()) {
                        for (ReadOnly.Status s : readOnly.advance(m.context())) respondToReadIndex(s.request(), s.index());
                    }
                }
            }
            case SNAP_STATUS -> {
                if (pr.state != ProgressState.SNAPSHOT) break;
                if (m.reject()) pr.pendingSnapshot = 0;
                pr.becomeProbe();
                // Wait for the follower's next response (or a heartbeat) before probing again.
                pr.probeSent = true;
            }
            case UNREACHABLE -> {
                if (pr.state == ProgressState.REPLICATE) pr.becomeProbe();
            }
            default -> {}
        }
        return ProposalResult.ACCEPTED;
    }

    private int countVoters(Set<Long> ids) {
        int n = 0;
        for (long v : ids) if (voters.contains(v)) n++;
        return n;
    }

    private boolean quorumActive() {
        int active = 0;
        for (long v : voters) {
            if (v == id || prs.get(v).recentActive) active++;
        }
        return active >= quorum();
    }

    private ProposalResult propose(Message m) {
        Util.check(!m.entries().isEmpty(), "empty proposal");
        if (!prs.containsKey(id)) return ProposalResult.DROPPED_NOT_MEMBER;
        if (leadTransferee != NONE) return ProposalResult.DROPPED_LEADERSHIP_TRANSFER;
        int confChanges = 0;
        for (Entry e : m.entries()) if (e.type() == EntryType.CONF_CHANGE) confChanges++;
        if (confChanges > 0) {
            if (confChanges > 1 || pendingConfIndex > raftLog.applied) return ProposalResult.DROPPED_CONF_CHANGE_PENDING;
        }
        if (!appendEntries(m.entries(), false)) return ProposalResult.DROPPED_UNCOMMITTED_LIMIT;
        if (confChanges > 0) pendingConfIndex = raftLog.lastIndex();
        bcastAppend();
        return ProposalResult.ACCEPTED;
    }

    /** Leader-side append of new entries of the current term; false when over the uncommitted limit. */
    private boolean appendEntries(List<Entry> es, boolean force) {
        long size = 0;
        for (Entry e : es) size += e.payloadBytes();
        // Always admit a proposal when nothing is uncommitted, so one oversized entry cannot wedge us.
        if (!force && uncommittedSize > 0 && size > 0 && uncommittedSize + size > maxUncommittedSize) return false;
        long li = raftLog.lastIndex();
        List<Entry> stamped = new ArrayList<>(es.size());
        for (int i = 0; i < es.size(); i++) stamped.add(es.get(i).withTermIndex(term, li + 1 + i));
        raftLog.append(stamped);
        uncommittedSize += size;
        return true;
    }

    private void handleAppendResponse(Message m, Progress pr) {
        pr.recentActive = true;
        if (m.reject()) {
            long nextProbe = m.rejectHint();
            if (m.logTerm() > 0) {
                // Skip every entry of ours whose term exceeds the follower's term at the hint: none can match.
                nextProbe = raftLog.findConflictByTerm(m.rejectHint(), m.logTerm());
            }
            if (pr.maybeDecrTo(m.index(), nextProbe)) {
                if (pr.state == ProgressState.REPLICATE) pr.becomeProbe();
                sendAppend(m.from());
            }
            return;
        }
        boolean oldPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index())) return;
        switch (pr.state) {
            case PROBE -> pr.becomeReplicate();
            case SNAPSHOT -> {
                if (pr.match + 1 >= raftLog.firstIndex()) {
                    pr.becomeProbe();
                    pr.becomeReplicate();
                }
            }
            case REPLICATE -> pr.inflights.freeLE(m.index());
        }
        if (maybeCommit()) {
            bcastAppend();
        } else if (oldPaused) {
            sendAppend(m.from());
        }
        // Fill the window: send everything outstanding that fits.
        while (maybeSendAppend(m.from(), false)) {
            // keep sending
        }
        if (m.from() == leadTransferee && pr.match == raftLog.lastIndex()) {
            send(Message.builder(MessageType.TIMEOUT_NOW).to(m.from()));
        }
    }

    private void handleLeaderReadIndex(Message m) {
        if (voters.size() == 1 && voters.contains(id)) {
            respondToReadIndex(m, raftLog.committed);
            return;
        }
        if (!committedEntryInCurrentTerm()) {
            // Our commit index may lag the true one until an entry of our term commits (thesis §6.4).
            if (pendingReadIndexMessages.size() < maxPendingReads) pendingReadIndexMessages.addLast(m);
            return;
        }
        sendReadIndex(m);
    }

    private void sendReadIndex(Message m) {
        if (readOnlyOption == ReadOnlyOption.LEASE_BASED && leaseValid()) {
            respondToReadIndex(m, raftLog.committed);
            return;
        }
        if (!readOnly.addRequest(raftLog.committed, m)) {
            // Asked again for a read still pending: its round may have been lost, so send it again.
            if (readOnly.recvAck(id, m.context()) != null) bcastHeartbeat(m.context());
            return;
        }
        readOnly.recvAck(id, m.context());
        bcastHeartbeat(m.context());
    }

    /**
     * Thesis §6.4.1: the lease starts when a heartbeat that a quorum acknowledged was sent, and ends
     * before any voter of that quorum can grant a vote to someone else (one election timeout after it
     * heard us, minus a tick of margin for clock drift). Outside it, reads take the safe path.
     */
    private boolean leaseValid() {
        long[] sent = new long[voters.size()];
        int i = 0;
        for (long v : voters) sent[i++] = v == id ? ticks : prs.get(v).lastAckedHeartbeatTick;
        Arrays.sort(sent);
        long leaseStart = sent[sent.length - quorum()];
        return leaseStart > 0 && ticks - leaseStart < electionTimeout - 1;
    }

    private void releasePendingReadIndexMessages() {
        if (pendingReadIndexMessages.isEmpty() || !committedEntryInCurrentTerm()) return;
        while (!pendingReadIndexMessages.isEmpty()) sendReadIndex(pendingReadIndexMessages.pollFirst());
    }

    private void respondToReadIndex(Message req, long index) {
        if (req.from() == NONE || req.from() == id) {
            readStates.add(new ReadState(index, req.context()));
        } else {
            send(Message.builder(MessageType.READ_INDEX_RESP).to(req.from()).index(index).context(req.context()));
        }
    }

    private void handleTransferLeader(Message m) {
        long transferee = m.from();
        Progress pr = prs.get(transferee);
        if (pr == null || pr.learner) return;
        if (leadTransferee != NONE) {
            if (leadTransferee == transferee) return; // already in progress
            leadTransferee = NONE; // abort the previous one, start this one
        }
        if (transferee == id) return;
        electionElapsed = 0; // the transfer must finish within one election timeout
        leadTransferee = transferee;
        if (pr.match == raftLog.lastIndex()) {
            send(Message.builder(MessageType.TIMEOUT_NOW).to(transferee));
        } else {
            sendAppend(transferee);
        }
    }

    private ProposalResult stepCandidate(Message m) {
        MessageType myVoteResp = state == StateRole.PRE_CANDIDATE ? MessageType.PRE_VOTE_RESP : MessageType.VOTE_RESP;
        switch (m.type()) {
            case PROP -> {
                return ProposalResult.DROPPED_NO_LEADER;
            }
            case APP -> {
                becomeFollower(m.term(), m.from());
                handleAppendEntries(m);
            }
            case HEARTBEAT -> {
                becomeFollower(m.term(), m.from());
                handleHeartbeat(m);
            }
            case SNAP -> {
                becomeFollower(m.term(), m.from());
                handleSnapshot(m);
            }
            case VOTE_RESP, PRE_VOTE_RESP -> {
                if (m.type() != myVoteResp) break;
                switch (poll(m.from(), m.type(), !m.reject())) {
                    case WON -> {
                        if (state == StateRole.PRE_CANDIDATE) {
                            campaign(CampaignType.ELECTION);
                        } else {
                            becomeLeader();
                            bcastAppend();
                        }
                    }
                    case LOST -> becomeFollower(term, NONE);
                    case PENDING -> {}
                }
            }
            default -> {}
        }
        return ProposalResult.ACCEPTED;
    }

    private ProposalResult stepFollower(Message m) {
        switch (m.type()) {
            case PROP -> {
                if (lead == NONE) return ProposalResult.DROPPED_NO_LEADER;
                send(m.toBuilder().to(lead));
                return ProposalResult.FORWARDED;
            }
            case APP -> {
                electionElapsed = 0;
                lead = m.from();
                handleAppendEntries(m);
            }
            case HEARTBEAT -> {
                electionElapsed = 0;
                lead = m.from();
                handleHeartbeat(m);
            }
            case SNAP -> {
                electionElapsed = 0;
                lead = m.from();
                handleSnapshot(m);
            }
            case TRANSFER_LEADER -> {
                if (lead != NONE) send(m.toBuilder().to(lead).term(0));
            }
            case TIMEOUT_NOW -> {
                // Only the leader sends this; campaign at once and skip pre-vote (the leader asked).
                if (promotable()) hup(CampaignType.TRANSFER);
            }
            case READ_INDEX -> {
                if (lead != NONE) send(m.toBuilder().to(lead));
            }
            case READ_INDEX_RESP -> readStates.add(new ReadState(m.index(), m.context()));
            default -> {}
        }
        return ProposalResult.ACCEPTED;
    }

    private void handleAppendEntries(Message m) {
        if (m.index() < raftLog.committed) {
            send(Message.builder(MessageType.APP_RESP).to(m.from()).index(raftLog.committed));
            return;
        }
        long lastNew = raftLog.maybeAppend(m.index(), m.logTerm(), m.commit(), m.entries());
        if (lastNew >= 0) {
            send(Message.builder(MessageType.APP_RESP).to(m.from()).index(lastNew));
            return;
        }
        // Mismatch: hint the leader at the highest index that could still match, and its term here.
        long hintIndex = Math.min(m.index(), raftLog.lastIndex());
        hintIndex = raftLog.findConflictByTerm(hintIndex, m.logTerm());
        long hintTerm = raftLog.term(hintIndex);
        send(Message.builder(MessageType.APP_RESP).to(m.from()).index(m.index()).reject(true)
                .rejectHint(hintIndex).logTerm(hintTerm));
    }

    private void handleHeartbeat(Message m) {
        raftLog.commitTo(Math.min(m.commit(), raftLog.lastIndex()));
        send(Message.builder(MessageType.HEARTBEAT_RESP).to(m.from()).context(m.context()).index(m.index()));
    }

    private void handleSnapshot(Message m) {
        Snapshot s = m.snapshot();
        if (s != null && restore(s)) {
            send(Message.builder(MessageType.APP_RESP).to(m.from()).index(raftLog.lastIndex()));
        } else {
            send(Message.builder(MessageType.APP_RESP).to(m.from()).index(raftLog.committed));
        }
    }

    /** Installs a snapshot from the leader; false if it is stale or we already have its entries. */
    private boolean restore(Snapshot s) {
        if (s.index() <= raftLog.committed) return false;
        if (state != StateRole.FOLLOWER) throw Util.violated("restore snapshot in state " + state);
        if (raftLog.matchTerm(s.index(), s.term())) {
            // We have the entries: just fast-forward commit.
            raftLog.commitTo(s.index());
            return false;
        }
        raftLog.restore(s);
        prs.clear();
        voters.clear();
        learners.clear();
        for (long v : s.confState().voters()) addProgress(v, false);
        for (long l : s.confState().learners()) addProgress(l, true);
        isLearner = learners.contains(id);
        long last = raftLog.lastIndex();
        for (Progress pr : prs.values()) pr.next = last + 1;
        return true;
    }

    // ---------------------------------------------------------------- membership

    private void addProgress(long nodeId, boolean learner) {
        Progress pr = new Progress(raftLog.lastIndex() + 1, maxInflight, maxInflightBytes, learner);
        pr.recentActive = true; // give a new node a full election timeout before CheckQuorum counts it
        prs.put(nodeId, pr);
        if (learner) learners.add(nodeId);
        else voters.add(nodeId);
    }

    /** Applies a committed membership change; returns the new membership. */
    ConfState applyConfChange(ConfChange cc) {
        long nodeId = cc.nodeId();
        switch (cc.type()) {
            case ADD_NODE -> {
                Progress pr = prs.get(nodeId);
                if (pr == null) {
                    addProgress(nodeId, false);
                } else if (pr.learner) {
                    pr.learner = false;
                    learners.remove(nodeId);
                    voters.add(nodeId);
                }
                if (nodeId == id) isLearner = false;
            }
            case ADD_LEARNER_NODE -> {
                // Demoting a voter to learner is not supported (as in etcd); the change is a no-op.
                if (!prs.containsKey(nodeId)) {
                    addProgress(nodeId, true);
                    if (nodeId == id) isLearner = true;
                }
            }
            case REMOVE_NODE -> removeNode(nodeId);
            case UPDATE_NODE -> {}
        }
        return confState();
    }

    private void removeNode(long nodeId) {
        if (prs.remove(nodeId) == null) return;
        voters.remove(nodeId);
        learners.remove(nodeId);
        if (nodeId == id) {
            // We are no longer a member: step down so that the rest of the cluster elects a leader.
            if (state != StateRole.FOLLOWER) becomeFollower(term, NONE);
            return;
        }
        if (voters.isEmpty()) return;
        if (state == StateRole.LEADER) {
            // The quorum shrank: some entries may be committed now.
            if (maybeCommit()) bcastAppend();
            if (leadTransferee == nodeId) leadTransferee = NONE;
        }
    }

    // ---------------------------------------------------------------- application feedback

    /** The application persisted entries up to (index, term): the leader counts itself now. */
    void onStable(long index, long t) {
        raftLog.stableTo(index, t);
        if (state == StateRole.LEADER) {
            Progress self = prs.get(id);
            if (self != null && self.maybeUpdate(stableLastIndex()) && maybeCommit()) bcastAppend();
        }
    }

    void reportSnapshot(long to, boolean failed) {
        step(Message.builder(MessageType.SNAP_STATUS).from(to).reject(failed).build());
    }

    void reportUnreachable(long to) {
        step(Message.builder(MessageType.UNREACHABLE).from(to).build());
    }

    Map<Long, ProgressView> progressView() {
        TreeMap<Long, ProgressView> out = new TreeMap<>();
        for (Map.Entry<Long, Progress> e : prs.entrySet()) {
            Progress p = e.getValue();
            out.put(e.getKey(), new ProgressView(p.state, p.match, p.next, p.learner, p.recentActive,
                    p.inflights.count(), p.pendingSnapshot));
        }
        return out;
    }
}
