package io.quorumlab.raft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/**
 * The Raft paper's rules, figure by figure (Figure 2, §5.2 election, §5.3 replication, §5.4.1
 * election restriction, §5.4.2 commitment by counting), checked against one node driven with
 * crafted messages through {@link RawNode}, and against small in-memory clusters where a rule is
 * about a conversation (log repair, election safety).
 *
 * <p>Conventions: node 1 is the node under test; terms and indexes are written "term/index".
 * {@link Peer} and {@link Net} below are shared with {@link RaftFeatureTest}.
 */
class RaftPaperTest {

    // =================================================================================== harness

    /** Knobs for one node; defaults are etcd's paper-test setting: no PreVote, no CheckQuorum. */
    static final class Opts {
        int electionTicks = 10;
        int heartbeatTicks = 1;
        long maxMsgBytes = 1 << 20;
        int maxInflight = 256;
        long maxInflightBytes = 0;
        long maxUncommittedBytes = 1L << 30;
        long maxApplyBytes = 64L << 20;
        int maxPendingReads = 4096;
        boolean checkQuorum;
        boolean preVote;
        ReadOnlyOption readOnly = ReadOnlyOption.SAFE;
        /** Null: a seeded generator; otherwise every randomized election timeout is electionTicks + fixedJitter. */
        Integer fixedJitter;
        long seed = 1;
        long applied;

        Opts checkQuorum(boolean v) { checkQuorum = v; return this; }
        Opts preVote(boolean v) { preVote = v; return this; }
        Opts readOnly(ReadOnlyOption v) { readOnly = v; return this; }
        Opts jitter(int v) { fixedJitter = v; return this; }
        Opts seed(long v) { seed = v; return this; }

        Config config(long id, LogStorage storage) {
            RandomGenerator random = fixedJitter == null ? new java.util.SplittableRandom(seed * 1_000_003L + id) : new FixedRandom(fixedJitter);
            return new Config(id, electionTicks, heartbeatTicks, storage, applied, maxMsgBytes, maxInflight,
                    maxInflightBytes, maxUncommittedBytes, maxApplyBytes, maxPendingReads, checkQuorum, preVote,
                    readOnly, random);
        }
    }

    /** A "random" source that always yields the same jitter, so election timeouts are exact. */
    static final class FixedRandom implements RandomGenerator {
        private final int jitter;

        FixedRandom(int jitter) {
            this.jitter = jitter;
        }

        @Override
        public long nextLong() {
            return jitter;
        }

        @Override
        public int nextInt(int bound) {
            return Math.min(jitter, bound - 1);
        }
    }

    /**
     * One node with durable in-memory storage. {@link #drain()} plays the application: persist the
     * Ready's snapshot, entries and hard state, apply committed entries (and conf changes), advance,
     * and hand back the messages to send.
     */
    static final class Peer {
        final long id;
        final MemoryLogStorage storage;
        final Opts opts;
        RawNode node;
        final List<Entry> applied = new ArrayList<>();
        final List<ReadState> reads = new ArrayList<>();
        final List<Ready> readies = new ArrayList<>();
        boolean applyConfChanges = true;

        Peer(long id, MemoryLogStorage storage, Opts opts) {
            this.id = id;
            this.storage = storage;
            this.opts = opts;
            this.node = new RawNode(opts.config(id, storage));
        }

        List<Message> drain() {
            List<Message> out = new ArrayList<>();
            for (int guard = 0; node.hasReady(); guard++) {
                if (guard > 1000) fail("node " + id + " never runs out of Ready");
                Ready rd = node.ready();
                readies.add(rd);
                if (rd.snapshot() != null) storage.applySnapshot(rd.snapshot());
                storage.append(rd.entries());
                if (rd.hardState() != null) storage.setHardState(rd.hardState());
                out.addAll(rd.messages());
                reads.addAll(rd.readStates());
                for (Entry e : rd.committedEntries()) {
                    applied.add(e);
                    if (e.type() == EntryType.CONF_CHANGE && applyConfChanges) {
                        storage.setConfState(node.applyConfChange(ConfChange.decode(e.data())));
                    }
                }
                node.advance(rd);
            }
            return out;
        }

        /** Restarts from storage only (volatile state is lost), as after a crash. */
        void restart() {
            opts.applied = applied.isEmpty() ? 0 : applied.get(applied.size() - 1).index();
            opts.applied = Math.max(opts.applied, storage.snapshot().index());
            node = new RawNode(opts.config(id, storage));
            opts.applied = 0;
        }

        List<Entry> log() {
            long first = storage.firstIndex();
            long last = storage.lastIndex();
            return last < first ? List.of() : storage.entries(first, last + 1, Long.MAX_VALUE);
        }

        Status status() {
            return node.status();
        }

        long term() {
            return node.status().hardState().term();
        }

        long commit() {
            return node.status().hardState().commit();
        }

        StateRole role() {
            return node.role();
        }
    }

    /** A tiny synchronous network between peers: partitions, drop rules and a trace of delivered messages. */
    static final class Net {
        final TreeMap<Long, Peer> peers = new TreeMap<>();
        final Set<Long> isolated = new HashSet<>();
        Predicate<Message> drop = m -> false;
        /** Applied to every message about to be delivered; null drops it. */
        java.util.function.UnaryOperator<Message> rewrite = m -> m;
        final List<Message> delivered = new ArrayList<>();
        final ArrayDeque<Message> inFlight = new ArrayDeque<>();

        Net(Opts opts, long... ids) {
            for (long id : ids) add(new Peer(id, MemoryLogStorage.withVoters(ids), opts));
        }

        Net() {}

        Peer add(Peer p) {
            peers.put(p.id, p);
            return p;
        }

        Peer get(long id) {
            return peers.get(id);
        }

        /** Collects every Ready, then delivers one round of messages. Returns whether anything happened. */
        boolean round() {
            boolean any = false;
            for (Peer p : peers.values()) {
                List<Message> ms = p.drain();
                any |= !ms.isEmpty();
                inFlight.addAll(ms);
            }
            List<Message> batch = new ArrayList<>(inFlight);
            inFlight.clear();
            for (Message m : batch) {
                any = true;
                deliver(m);
            }
            return any;
        }

        void deliver(Message m) {
            if (isolated.contains(m.from()) || isolated.contains(m.to()) || drop.test(m)) return;
            m = rewrite.apply(m);
            if (m == null) return;
            Peer p = peers.get(m.to());
            if (p == null) return;
            delivered.add(m);
            p.node.step(m);
        }

        void stabilize() {
            for (int i = 0; i < 10_000; i++) {
                if (!round()) return;
            }
            fail("network did not quiesce");
        }

        void campaign(long id) {
            peers.get(id).node.campaign();
            stabilize();
        }

        void tick(long id, int n) {
            for (int i = 0; i < n; i++) peers.get(id).node.tick();
        }

        /** Ticks every peer (isolated ones too: a partition stops messages, not clocks) once per round. */
        void tickAll(int rounds) {
            for (int i = 0; i < rounds; i++) {
                for (Peer p : peers.values()) p.node.tick();
                stabilize();
            }
        }

        Set<Long> leaders() {
            Set<Long> out = new TreeSet<>();
            for (Peer p : peers.values()) if (p.role() == StateRole.LEADER) out.add(p.id);
            return out;
        }

        List<Message> deliveredOf(MessageType t) {
            List<Message> out = new ArrayList<>();
            for (Message m : delivered) if (m.type() == t) out.add(m);
            return out;
        }
    }

    // ----------------------------------------------------------------------------- small helpers

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static long[] ids(long... ids) {
        return ids;
    }

    /** Entries 1..n with the given terms and no data. */
    static List<Entry> logOfTerms(long... terms) {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < terms.length; i++) out.add(Entry.normal(terms[i], i + 1, null));
        return out;
    }

    static long[] termsOf(List<Entry> es) {
        long[] out = new long[es.size()];
        for (int i = 0; i < es.size(); i++) out[i] = es.get(i).term();
        return out;
    }

    static long[] indexesOf(List<Entry> es) {
        long[] out = new long[es.size()];
        for (int i = 0; i < es.size(); i++) out[i] = es.get(i).index();
        return out;
    }

    static Peer peer(long id, Opts o, long[] voters) {
        return new Peer(id, MemoryLogStorage.withVoters(voters), o);
    }

    /** A peer whose durable state already holds a log (terms of entries 1..n) and a hard state. */
    static Peer peerWithLog(long id, Opts o, long[] voters, long[] logTerms, HardState hs) {
        MemoryLogStorage s = MemoryLogStorage.withVoters(voters);
        s.append(logOfTerms(logTerms));
        s.setHardState(hs);
        return new Peer(id, s, o);
    }

    static Message.Builder msg(MessageType t, long from, long to, long term) {
        return Message.builder(t).from(from).to(to).term(term);
    }

    static Message app(long from, long to, long term, long prevIndex, long prevTerm, long commit, List<Entry> es) {
        return msg(MessageType.APP, from, to, term).index(prevIndex).logTerm(prevTerm).commit(commit).entries(es).build();
    }

    static Message appResp(long from, long to, long term, long index) {
        return msg(MessageType.APP_RESP, from, to, term).index(index).build();
    }

    static Message heartbeat(long from, long to, long term, long commit) {
        return msg(MessageType.HEARTBEAT, from, to, term).commit(commit).build();
    }

    static Message vote(long from, long to, long term, long lastIndex, long lastTerm) {
        return msg(MessageType.VOTE, from, to, term).index(lastIndex).logTerm(lastTerm).build();
    }

    static Message voteResp(long from, long to, long term, boolean reject) {
        return msg(MessageType.VOTE_RESP, from, to, term).reject(reject).build();
    }

    static List<Message> ofType(Collection<Message> ms, MessageType t) {
        List<Message> out = new ArrayList<>();
        for (Message m : ms) if (m.type() == t) out.add(m);
        return out;
    }

    static List<Message> ofType(Collection<Message> ms, MessageType t, long to) {
        List<Message> out = new ArrayList<>();
        for (Message m : ms) if (m.type() == t && m.to() == to) out.add(m);
        return out;
    }

    /** Makes {@code p} leader by answering its (pre-)vote requests with grants from every other voter. */
    static void elect(Peer p) {
        p.node.campaign();
        for (int i = 0; i < 4 && p.role() != StateRole.LEADER; i++) {
            for (Message m : p.drain()) {
                if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
                    p.node.step(msg(m.type().voteResponse(), m.to(), p.id, m.term()).build());
                }
            }
        }
        assertEquals(StateRole.LEADER, p.role(), "node " + p.id + " should have won its election");
        p.drain();
    }

    /** Acknowledges the leader's whole log from each follower, so they are all in REPLICATE and it commits. */
    static void ackAll(Peer leader, long... followers) {
        long last = leader.status().lastIndex();
        for (long f : followers) leader.node.step(appResp(f, leader.id, leader.term(), last));
        leader.drain();
    }

    // ============================================================ Figure 2: rules for all servers

    /** "If RPC request or response contains term T > currentTerm: set currentTerm = T, convert to follower." */
    @Test
    void anyMessageWithHigherTermTurnsEveryRoleIntoFollowerOfThatTerm() {
        for (StateRole start : new StateRole[] {StateRole.FOLLOWER, StateRole.CANDIDATE, StateRole.LEADER}) {
            for (MessageType t : new MessageType[] {MessageType.APP, MessageType.HEARTBEAT, MessageType.VOTE,
                    MessageType.APP_RESP, MessageType.HEARTBEAT_RESP}) {
                Peer p = peer(1, new Opts(), ids(1, 2, 3));
                if (start == StateRole.CANDIDATE) p.node.campaign();
                if (start == StateRole.LEADER) elect(p);
                p.drain();
                Message.Builder m = msg(t, 2, 1, 5);
                if (t == MessageType.APP) m.index(0).logTerm(0);
                p.node.step(m.build());
                String what = start + " receiving " + t;
                assertEquals(StateRole.FOLLOWER, p.role(), what);
                assertEquals(5, p.term(), what);
                // Only a message a leader sends names the leader.
                long expectLead = t == MessageType.APP || t == MessageType.HEARTBEAT ? 2 : 0;
                assertEquals(expectLead, p.node.leader(), what);
            }
        }
    }

    /** Requests with a stale term are not acted upon (no vote, no append, no term change). */
    @Test
    void messagesWithStaleTermAreIgnored() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2}, new HardState(2, 0, 0));
        p.node.step(app(2, 1, 1, 2, 2, 2, logOfTerms(1, 2, 1).subList(2, 3)));
        p.node.step(vote(3, 1, 1, 10, 1));
        p.node.step(heartbeat(2, 1, 1, 2));
        List<Message> out = p.drain();
        assertTrue(out.isEmpty(), "no answer to stale messages without PreVote/CheckQuorum: " + out);
        assertEquals(2, p.term());
        assertEquals(0, p.commit());
        assertEquals(2, p.status().lastIndex());
        assertEquals(0, p.status().hardState().vote());
    }

    // ======================================================================== Figure 2: followers

    @Test
    void nodeStartsAsFollowerOfNoOne() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        assertEquals(StateRole.FOLLOWER, p.role());
        assertEquals(0, p.node.leader());
        assertEquals(0, p.term());
    }

    /**
     * §5.2: a follower that hears nothing for an election timeout becomes a candidate: it increments
     * its term, votes for itself and asks every other server for its vote, naming its last log entry.
     */
    @Test
    void followerCampaignsAfterElectionTimeout() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 1, 2}, new HardState(2, 0, 0));
        int ticks = 0;
        while (p.role() == StateRole.FOLLOWER) {
            p.node.tick();
            ticks++;
            assertTrue(ticks < 20, "no election after 2x the election timeout");
        }
        assertTrue(ticks >= 10, "campaigned before the election timeout: " + ticks);
        assertEquals(StateRole.CANDIDATE, p.role());
        List<Message> out = p.drain();
        assertEquals(new HardState(3, 1, 0), p.storage.hardState(), "term and self-vote are persisted");
        assertTrue(p.readies.stream().anyMatch(Ready::mustSync), "a new term and vote must be fsynced");
        List<Message> votes = ofType(out, MessageType.VOTE);
        assertEquals(2, votes.size());
        for (Message v : votes) {
            assertEquals(3, v.term());
            assertEquals(3, v.index(), "last log index");
            assertEquals(2, v.logTerm(), "last log term");
        }
        assertEquals(Set.of(2L, 3L), Set.of(votes.get(0).to(), votes.get(1).to()));
    }

    /** §5.2: election timeouts are chosen randomly from [T, 2T) so that split votes are rare. */
    @Test
    void electionTimeoutIsRandomizedBetweenOneAndTwoTimeouts() {
        Set<Integer> seen = new TreeSet<>();
        for (long seed = 1; seed <= 40; seed++) {
            Peer p = peer(1, new Opts().seed(seed), ids(1, 2, 3));
            int ticks = 0;
            while (p.role() == StateRole.FOLLOWER && ticks < 100) {
                p.node.tick();
                ticks++;
            }
            assertTrue(ticks >= 10 && ticks < 20, "seed " + seed + ": campaigned after " + ticks + " ticks");
            seen.add(ticks);
        }
        assertTrue(seen.size() >= 3, "timeouts are not randomized: " + seen);
    }

    /** A follower keeps following while it hears heartbeats (it never times out). */
    @Test
    void followerHearingHeartbeatsNeverCampaigns() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        for (int i = 0; i < 200; i++) {
            p.node.tick();
            p.node.step(heartbeat(2, 1, 1, 0));
            p.drain();
        }
        assertEquals(StateRole.FOLLOWER, p.role());
        assertEquals(2, p.node.leader());
        assertEquals(1, p.term());
    }

    /** Figure 2 RequestVote: vote for at most one candidate per term (first come first served), and repeat it. */
    @Test
    void followerVotesForAtMostOneCandidatePerTerm() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.step(vote(2, 1, 1, 0, 0));
        p.node.step(vote(3, 1, 1, 0, 0));
        p.node.step(vote(2, 1, 1, 0, 0));
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertEquals(3, resp.size());
        assertEquals(2, resp.get(0).to());
        assertFalse(resp.get(0).reject(), "first candidate gets the vote");
        assertEquals(3, resp.get(1).to());
        assertTrue(resp.get(1).reject(), "second candidate of the same term is refused");
        assertFalse(resp.get(2).reject(), "a repeated request from the voted-for candidate is granted again");
        assertEquals(2, p.storage.hardState().vote(), "the vote is persisted");
        assertEquals(1, p.storage.hardState().term());
    }

    /** The vote survives a restart: the node still refuses a second candidate in the same term. */
    @Test
    void voteIsDurableAcrossRestart() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.step(vote(2, 1, 1, 0, 0));
        p.drain();
        p.restart();
        p.node.step(vote(3, 1, 1, 0, 0));
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertEquals(1, resp.size());
        assertTrue(resp.get(0).reject());
    }

    /**
     * §5.4.1 election restriction: grant only if the candidate's log is at least as up to date as ours
     * (later last term wins; same last term, longer-or-equal log wins).
     */
    @Test
    void voteIsGrantedOnlyToCandidatesWithLogsAtLeastAsUpToDate() {
        // our log: 1/1 2/2
        long[][] cases = { // candidate lastTerm, lastIndex, expect reject (1) or grant (0)
            {1, 1, 1}, {1, 2, 1}, {1, 3, 1},
            {2, 1, 1}, {2, 2, 0}, {2, 3, 0},
            {3, 1, 0}, {3, 2, 0}, {3, 3, 0},
        };
        for (long[] c : cases) {
            Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2}, new HardState(2, 0, 0));
            p.node.step(vote(2, 1, 3, c[1], c[0]));
            List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
            assertEquals(1, resp.size());
            String what = "candidate last " + c[0] + "/" + c[1];
            assertEquals(c[2] == 1, resp.get(0).reject(), what);
            assertEquals(3, resp.get(0).term(), what);
            assertEquals(c[2] == 1 ? 0 : 2, p.storage.hardState().vote(), what);
        }
    }

    /**
     * Figure 2 AppendEntries receiver rule 2: reply false if the log has no entry at prevLogIndex
     * whose term matches prevLogTerm; otherwise accept (and report the last new index).
     */
    @Test
    void followerChecksPrevIndexAndTermOfAppend() {
        // our log: 1/1 2/2, committed 1
        long[][] cases = { // prevTerm, prevIndex, expect index, reject(1), rejectHint, hintTerm
            {0, 0, 1, 0, 0, 0}, // below commit: answered with the commit index
            {1, 1, 1, 0, 0, 0},
            {2, 2, 2, 0, 0, 0},
            {1, 2, 2, 1, 1, 1}, // term mismatch at 2: hint at the last entry with term <= 1
            {3, 3, 3, 1, 2, 2}, // beyond our log: hint at our last entry
        };
        for (long[] c : cases) {
            Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2}, new HardState(2, 0, 1));
            p.node.step(app(2, 1, 2, c[1], c[0], 1, List.of()));
            List<Message> resp = ofType(p.drain(), MessageType.APP_RESP);
            String what = "prev " + c[0] + "/" + c[1];
            assertEquals(1, resp.size(), what);
            Message r = resp.get(0);
            assertEquals(c[2], r.index(), what);
            assertEquals(c[3] == 1, r.reject(), what);
            if (r.reject()) {
                assertEquals(c[4], r.rejectHint(), what);
                assertEquals(c[5], r.logTerm(), what);
            }
            assertEquals(2, r.term(), what);
        }
    }

    /**
     * AppendEntries rules 3 and 4: delete an existing entry that conflicts with a new one (same index,
     * different term) and all that follow it; append any new entries not already in the log; entries
     * already present are left alone.
     */
    @Test
    void followerTruncatesConflictingSuffixAndAppendsNewEntries() {
        record Case(long prevIndex, long prevTerm, List<Entry> ents, long[] expectTerms) {}
        List<Case> cases = List.of(
                new Case(2, 2, List.of(Entry.normal(3, 3, null)), new long[] {1, 2, 3}),
                new Case(1, 1, List.of(Entry.normal(3, 2, null), Entry.normal(4, 3, null)), new long[] {1, 3, 4}),
                new Case(0, 0, List.of(Entry.normal(1, 1, null)), new long[] {1, 2}),
                new Case(0, 0, List.of(Entry.normal(3, 1, null)), new long[] {3}),
                new Case(1, 1, List.of(), new long[] {1, 2}));
        for (Case c : cases) {
            Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2}, new HardState(2, 0, 0));
            p.node.step(app(2, 1, 4, c.prevIndex, c.prevTerm, 0, c.ents));
            List<Message> resp = ofType(p.drain(), MessageType.APP_RESP);
            assertFalse(resp.get(0).reject());
            assertArrayEquals(c.expectTerms, termsOf(p.log()), "case " + c);
            assertEquals(c.prevIndex + c.ents.size(), resp.get(0).index(), "acks the last index it was sent");
        }
    }

    /** AppendEntries rule 5: commitIndex = min(leaderCommit, index of last new entry). */
    @Test
    void followerCommitIsMinOfLeaderCommitAndLastNewEntry() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        List<Entry> three = List.of(Entry.normal(1, 1, bytes("a")), Entry.normal(1, 2, bytes("b")),
                Entry.normal(1, 3, bytes("c")));
        p.node.step(app(2, 1, 1, 0, 0, 1, three));
        p.drain();
        assertEquals(1, p.commit());
        assertArrayEquals(new long[] {1}, indexesOf(p.applied));

        // The leader knows 3 is committed, but this message only vouches for entries up to 2: the
        // follower's entry 3 might still be one the leader would overwrite.
        p.node.step(app(2, 1, 1, 1, 1, 3, three.subList(1, 2)));
        p.drain();
        assertEquals(2, p.commit(), "commit is bounded by the last entry this append covers");

        p.node.step(app(2, 1, 1, 2, 1, 3, three.subList(2, 3)));
        p.drain();
        assertEquals(3, p.commit());
        assertArrayEquals(new long[] {1, 2, 3}, indexesOf(p.applied), "applied in log order, each once");
    }

    /**
     * §5.5: RPCs are idempotent. A duplicated or delayed (reordered) AppendEntries that is a prefix of
     * what the follower already has must not truncate the newer entries after it.
     */
    @Test
    void duplicateAndReorderedAppendsAreIdempotentAndNeverTruncate() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        Message older = app(2, 1, 1, 0, 0, 0, List.of(Entry.normal(1, 1, bytes("a"))));
        Message newer = app(2, 1, 1, 0, 0, 0, List.of(Entry.normal(1, 1, bytes("a")), Entry.normal(1, 2, bytes("b")),
                Entry.normal(1, 3, bytes("c"))));
        p.node.step(newer);
        p.drain();
        p.node.step(older);
        p.node.step(newer);
        p.node.step(older);
        List<Message> resp = ofType(p.drain(), MessageType.APP_RESP);
        assertArrayEquals(new long[] {1, 1, 1}, termsOf(p.log()));
        assertEquals(List.of(1L, 3L, 1L), resp.stream().map(Message::index).toList(),
                "each answer acknowledges what that message covered");
        assertTrue(resp.stream().noneMatch(Message::reject));
    }

    /** A heartbeat's commit never moves the follower's commit past its own log. */
    @Test
    void heartbeatCommitIsBoundedByFollowersLog() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 0));
        p.node.step(heartbeat(2, 1, 1, 5));
        List<Message> out = p.drain();
        assertEquals(2, p.commit());
        assertEquals(1, ofType(out, MessageType.HEARTBEAT_RESP).size());
    }

    // ======================================================================= Figure 2: candidates

    /** §5.2: a candidate wins with votes from a majority of the full cluster; loses to a majority of refusals. */
    @Test
    void candidateOutcomeDependsOnMajorityOfVotes() {
        record Case(int size, Map<Long, Boolean> votes, StateRole expect) {}
        List<Case> cases = List.of(
                new Case(1, Map.of(), StateRole.LEADER),
                new Case(3, Map.of(2L, true, 3L, true), StateRole.LEADER),
                new Case(3, Map.of(2L, true), StateRole.LEADER),
                new Case(5, Map.of(2L, true, 3L, true, 4L, true, 5L, true), StateRole.LEADER),
                new Case(5, Map.of(2L, true, 3L, true), StateRole.LEADER),
                new Case(3, Map.of(), StateRole.CANDIDATE),
                new Case(3, Map.of(2L, false), StateRole.CANDIDATE),
                new Case(5, Map.of(2L, true), StateRole.CANDIDATE),
                new Case(5, Map.of(2L, true, 3L, false, 4L, false), StateRole.CANDIDATE),
                new Case(3, Map.of(2L, false, 3L, false), StateRole.FOLLOWER),
                new Case(5, Map.of(2L, false, 3L, false, 4L, false), StateRole.FOLLOWER),
                new Case(5, Map.of(2L, true, 3L, false, 4L, false, 5L, false), StateRole.FOLLOWER));
        for (Case c : cases) {
            long[] voters = new long[c.size];
            for (int i = 0; i < c.size; i++) voters[i] = i + 1;
            Peer p = peer(1, new Opts(), voters);
            p.node.campaign();
            p.drain();
            for (Map.Entry<Long, Boolean> v : new TreeMap<>(c.votes).entrySet()) {
                p.node.step(voteResp(v.getKey(), 1, 1, !v.getValue()));
            }
            p.drain();
            assertEquals(c.expect, p.role(), "case " + c);
            assertEquals(1, p.term(), "case " + c);
        }
    }

    /** Duplicate grants from one voter count once. */
    @Test
    void duplicateVoteGrantsCountOnce() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3, 4, 5));
        p.node.campaign();
        p.drain();
        for (int i = 0; i < 5; i++) p.node.step(voteResp(2, 1, 1, false));
        assertEquals(StateRole.CANDIDATE, p.role());
    }

    /** §5.2: a candidate that hears AppendEntries (or a heartbeat) from a leader of its term becomes its follower. */
    @Test
    void candidateFallsBackToFollowerOnAppendFromLeaderOfSameTerm() {
        for (Message m : List.of(app(2, 1, 1, 0, 0, 0, List.of()), heartbeat(2, 1, 1, 0))) {
            Peer p = peer(1, new Opts(), ids(1, 2, 3));
            p.node.campaign();
            p.drain();
            p.node.step(m);
            assertEquals(StateRole.FOLLOWER, p.role(), m.toString());
            assertEquals(2, p.node.leader());
            assertEquals(1, p.term());
            assertEquals(1, p.status().hardState().vote(), "its vote of this term is kept");
        }
    }

    /** §5.2: a candidate whose election times out (split vote) starts a new election in the next term. */
    @Test
    void candidateStartsNewElectionWhenItsElectionTimesOut() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.campaign();
        p.drain();
        assertEquals(1, p.term());
        for (int i = 0; i < 20 && p.term() == 1; i++) p.node.tick();
        assertEquals(StateRole.CANDIDATE, p.role());
        assertEquals(2, p.term());
        assertEquals(2, ofType(p.drain(), MessageType.VOTE).size());
    }

    /** A candidate refuses to vote for another candidate of its term (it voted for itself). */
    @Test
    void candidateRejectsOtherCandidatesOfItsTerm() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.campaign();
        p.drain();
        p.node.step(vote(2, 1, 1, 0, 0));
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertTrue(resp.get(0).reject());
        assertEquals(StateRole.CANDIDATE, p.role());
    }

    // ========================================================================= Figure 2: leaders

    /** Upon election: send initial empty AppendEntries to each server (an empty entry of the new term). */
    @Test
    void newLeaderAppendsEmptyEntryOfItsTermAndSendsItToEveryone() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 0));
        p.node.campaign();
        p.drain();
        p.node.step(voteResp(2, 1, 2, false));
        List<Message> out = p.drain();
        assertEquals(StateRole.LEADER, p.role());
        assertEquals(1, p.node.leader());
        List<Message> apps = ofType(out, MessageType.APP);
        assertEquals(2, apps.size());
        for (Message a : apps) {
            assertEquals(2, a.term());
            assertEquals(2, a.index(), "prev index is the old last index");
            assertEquals(1, a.logTerm());
            assertEquals(1, a.entries().size());
            Entry e = a.entries().get(0);
            assertEquals(3, e.index());
            assertEquals(2, e.term());
            assertEquals(0, e.data().length);
        }
        assertArrayEquals(new long[] {1, 1, 2}, termsOf(p.log()), "the empty entry is persisted");
    }

    /** "Repeat during idle periods to prevent election timeouts": a heartbeat every heartbeat timeout. */
    @Test
    void leaderSendsHeartbeatsEveryHeartbeatTimeout() {
        Opts o = new Opts();
        o.heartbeatTicks = 2;
        Peer p = peer(1, o, ids(1, 2, 3));
        elect(p);
        p.node.tick();
        assertTrue(ofType(p.drain(), MessageType.HEARTBEAT).isEmpty());
        p.node.tick();
        List<Message> hbs = ofType(p.drain(), MessageType.HEARTBEAT);
        assertEquals(2, hbs.size());
        for (Message h : hbs) {
            assertEquals(1, h.term());
            assertEquals(0, h.commit(), "followers that acknowledged nothing are told commit 0");
        }
        for (int i = 0; i < 100; i++) p.node.tick();
        assertEquals(StateRole.LEADER, p.role(), "without CheckQuorum a leader never steps down by itself");
    }

    /**
     * "If command received from client: append entry to local log"; then AppendEntries to followers
     * carrying the previous index/term and the leader's commit.
     */
    @Test
    void leaderAppendsProposalAndReplicatesIt() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        assertEquals(1, p.commit());
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(bytes("x")));
        List<Message> apps = ofType(p.drain(), MessageType.APP);
        assertEquals(2, apps.size());
        for (Message a : apps) {
            assertEquals(1, a.index());
            assertEquals(1, a.logTerm());
            assertEquals(1, a.commit());
            assertEquals(List.of(new Entry(1, 2, EntryType.NORMAL, bytes("x"))), a.entries());
        }
        assertEquals(2, p.status().lastIndex());
        assertEquals(1, p.commit(), "not committed before a majority has it");
    }

    /**
     * §5.3: an entry is committed once the leader has replicated it on a majority; the leader then
     * applies it and tells followers the new commit index.
     */
    @Test
    void leaderCommitsWhenAMajorityHasTheEntry() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        p.node.propose(bytes("x"));
        p.drain();
        p.node.step(appResp(2, 1, 1, 2));
        List<Message> out = p.drain();
        assertEquals(2, p.commit());
        assertArrayEquals(bytes("x"), p.applied.get(p.applied.size() - 1).data());
        assertEquals(2, p.applied.get(p.applied.size() - 1).index());
        // The commit index reaches the followers with the next append.
        for (Message a : ofType(out, MessageType.APP)) assertEquals(2, a.commit());
        assertFalse(ofType(out, MessageType.APP).isEmpty());
    }

    /** Commitment needs a majority of the whole cluster, whatever its size. */
    @Test
    void leaderCommitsOnlyWithAcknowledgementsFromAMajority() {
        record Case(int size, Set<Long> acks, boolean committed) {}
        List<Case> cases = List.of(
                new Case(1, Set.of(), true),
                new Case(3, Set.of(), false),
                new Case(3, Set.of(2L), true),
                new Case(3, Set.of(2L, 3L), true),
                new Case(5, Set.of(), false),
                new Case(5, Set.of(2L), false),
                new Case(5, Set.of(2L, 3L), true),
                new Case(5, Set.of(2L, 3L, 4L, 5L), true),
                new Case(4, Set.of(2L), false),
                new Case(4, Set.of(2L, 3L), true));
        for (Case c : cases) {
            long[] voters = new long[c.size];
            for (int i = 0; i < c.size; i++) voters[i] = i + 1;
            Peer p = peer(1, new Opts(), voters);
            elect(p);
            for (long a : new TreeSet<>(c.acks)) p.node.step(appResp(a, 1, 1, 1));
            p.drain();
            assertEquals(c.committed ? 1 : 0, p.commit(), "case " + c);
        }
    }

    /**
     * §5.3/§5.4.2: when an entry of the current term commits, every preceding entry commits with it,
     * including entries of earlier terms (Leader Completeness).
     */
    @Test
    void committingAnEntryOfTheCurrentTermCommitsAllPrecedingEntries() {
        long[][] logs = {{}, {2}, {1, 1}, {1, 2}, {1, 1, 2, 2, 3}};
        for (long[] terms : logs) {
            long lastTerm = terms.length == 0 ? 0 : terms[terms.length - 1];
            Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), terms, new HardState(Math.max(lastTerm, 3), 0, 0));
            elect(p);
            p.node.propose(bytes("x"));
            p.drain();
            long last = p.status().lastIndex();
            assertEquals(terms.length + 2, last);
            p.node.step(appResp(2, 1, p.term(), last));
            p.drain();
            assertEquals(last, p.commit(), "log " + java.util.Arrays.toString(terms));
            assertEquals(last, p.applied.size());
            assertArrayEquals(indexesOf(p.log()), indexesOf(p.applied));
        }
    }

    /**
     * §5.4.2 (Figure 8): a leader never commits an entry of a previous term by counting replicas, even
     * when a majority stores it; it is committed only indirectly, once an entry of the leader's own
     * term (here the empty entry) is on a majority.
     */
    @Test
    void leaderDoesNotCommitPreviousTermEntryByCountingReplicas() {
        // S1 holds 1/1 2/2 (2/2 replicated nowhere else yet), becomes leader of term 3.
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2}, new HardState(2, 0, 1));
        elect(p);
        assertEquals(3, p.term());
        assertEquals(3, p.status().lastIndex());
        // S2 now stores 2/2 too: a majority (S1, S2) holds the term-2 entry, but not the term-3 one.
        p.node.step(appResp(2, 1, 3, 2));
        p.drain();
        assertEquals(1, p.commit(), "2/2 of an earlier term must not be committed by counting replicas");
        assertTrue(p.applied.stream().noneMatch(e -> e.index() == 2));
        // Once the term-3 empty entry reaches a majority, both commit.
        p.node.step(appResp(2, 1, 3, 3));
        p.drain();
        assertEquals(3, p.commit());
        assertArrayEquals(new long[] {1, 2, 3}, indexesOf(p.applied));
    }

    /**
     * Figure 8 played out across a cluster. Term 2: S1 led and wrote 2/2 to S2 only; term 3: S5 led
     * and wrote 3/2 to itself only. Term 4: S1 leads again and re-replicates 2/2 to S3, so a majority
     * (S1, S2, S3) stores 2/2, but its own term-4 entry reaches nobody. 2/2 must not be committed:
     * if S1 now crashes, S5 (last term 3) can win term 5 and overwrite index 2 everywhere.
     */
    @Test
    void figure8EntryOfOldTermStoredOnMajorityIsNotCommittedAndMayBeOverwritten() {
        Opts o = new Opts();
        o.maxMsgBytes = 1; // one entry per append, so 2/2 and the term-4 entry travel separately
        long[] five = ids(1, 2, 3, 4, 5);
        Net net = new Net();
        net.add(peerWithLog(1, o, five, new long[] {1, 2}, new HardState(3, 0, 1)));
        net.add(peerWithLog(2, o, five, new long[] {1, 2}, new HardState(3, 0, 1)));
        net.add(peerWithLog(3, o, five, new long[] {1}, new HardState(3, 0, 1)));
        net.add(peerWithLog(4, o, five, new long[] {1}, new HardState(3, 0, 1)));
        net.add(peerWithLog(5, o, five, new long[] {1, 3}, new HardState(3, 0, 1)));
        net.isolated.add(5L);
        net.isolated.add(4L); // S4 is slow: S1 wins with S2 and S3
        boolean[] term4EntryDropped = {false};
        // Term-4 entries are lost on the way (the append itself, with its prev index, still arrives).
        net.rewrite = m -> {
            if (m.type() != MessageType.APP || m.entries().stream().noneMatch(e -> e.term() == 4)) return m;
            term4EntryDropped[0] = true;
            return m.toBuilder().entries(List.of()).build();
        };
        net.campaign(1);
        Peer s1 = net.get(1);
        assertEquals(StateRole.LEADER, s1.role());
        assertEquals(4, s1.term());
        assertTrue(term4EntryDropped[0]);
        assertArrayEquals(new long[] {1, 2}, termsOf(net.get(3).log()), "S3 now stores 2/2");
        assertEquals(1, s1.commit(), "2/2 is on a majority but of an old term: it must not be committed");
        for (Peer q : net.peers.values()) assertEquals(1, q.commit(), "node " + q.id);

        // S1 crashes; S5 comes back and wins term 5 with S2, S3, S4 (its last term 3 beats their 2).
        net.isolated.clear();
        net.isolated.add(1L);
        net.rewrite = m -> m;
        net.campaign(5);
        if (net.get(5).role() != StateRole.LEADER) net.campaign(5);
        assertEquals(StateRole.LEADER, net.get(5).role());
        for (long id : ids(2, 3, 4, 5)) {
            assertArrayEquals(new long[] {1, 3, 5}, termsOf(net.get(id).log()), "node " + id);
        }
        for (Peer q : net.peers.values()) {
            for (Entry e : q.applied) {
                assertFalse(e.index() == 2 && e.term() == 2, "node " + q.id + " applied 2/2, which was later overwritten");
            }
        }
    }

    /**
     * Figure 7 / §5.3: whatever the follower's log looks like (missing entries, extra uncommitted
     * entries, both), the leader finds the point where they agree and makes the follower's log
     * identical to its own.
     */
    @Test
    void leaderMakesEveryFigure7FollowerLogIdenticalToItsOwn() {
        long[] leaderLog = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
        long[][] followers = {
            {1, 1, 1, 4, 4, 5, 5, 6, 6},          // (a) missing one
            {1, 1, 1, 4},                         // (b) missing many
            {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},    // (c) one extra uncommitted
            {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, // (d) extra entries of a later term
            {1, 1, 1, 4, 4, 4, 4},                // (e) missing and extra
            {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},    // (f) extra entries of old terms
            {},                                   // empty
        };
        for (long[] f : followers) {
            Opts o = new Opts();
            Net net = new Net();
            net.add(peerWithLog(1, o, ids(1, 2, 3), leaderLog, new HardState(7, 0, 0)));
            net.add(peerWithLog(2, o, ids(1, 2, 3), f, new HardState(7, 0, 0)));
            net.add(peerWithLog(3, o, ids(1, 2, 3), new long[] {}, new HardState(7, 0, 0)));
            net.campaign(1);
            String what = "follower log " + java.util.Arrays.toString(f);
            assertEquals(StateRole.LEADER, net.get(1).role(), what);
            long[] expect = java.util.Arrays.copyOf(leaderLog, leaderLog.length + 1);
            expect[leaderLog.length] = 8;
            assertArrayEquals(expect, termsOf(net.get(1).log()), what);
            assertArrayEquals(expect, termsOf(net.get(2).log()), what);
            assertArrayEquals(expect, termsOf(net.get(3).log()), what);
            assertEquals(11, net.get(2).commit(), what);
        }
    }

    /** §5.4.1 in a cluster: a node missing committed entries cannot become leader. */
    @Test
    void nodeWithStaleLogCannotWinAnElection() {
        Opts o = new Opts();
        Net net = new Net();
        net.add(peerWithLog(1, o, ids(1, 2, 3), new long[] {1}, new HardState(1, 0, 1)));
        net.add(peerWithLog(2, o, ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 2)));
        net.add(peerWithLog(3, o, ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 2)));
        net.campaign(1);
        assertNotEquals(StateRole.LEADER, net.get(1).role());
        assertTrue(net.leaders().isEmpty());
        net.campaign(2);
        assertEquals(Set.of(2L), net.leaders());
        assertArrayEquals(new long[] {1, 1, 3}, termsOf(net.get(1).log()), "the stale node catches up");
    }

    /** §5.5: a crashed follower restarts from its durable state only, and catches up without losing anything. */
    @Test
    void crashedFollowerRestartsFromStorageAndCatchesUp() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.propose(bytes("before"));
        net.stabilize();
        Peer f = net.get(3);
        HardState durable = f.storage.hardState();
        f.restart();
        assertEquals(durable, f.status().hardState());
        assertEquals(StateRole.FOLLOWER, f.role());
        assertEquals(0, f.node.leader(), "volatile state is gone");
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("while down"));
        net.stabilize();
        net.isolated.clear();
        net.tickAll(2);
        assertArrayEquals(termsOf(net.get(1).log()), termsOf(f.log()));
        assertEquals(net.get(1).commit(), f.commit());
        assertArrayEquals(bytes("while down"), f.applied.get(f.applied.size() - 1).data());
    }

    /** A crashed leader restarts as a follower of the same term and does not vote again in that term. */
    @Test
    void crashedLeaderRestartsAsFollowerOfTheSameTerm() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.stabilize();
        Peer l = net.get(1);
        l.restart();
        assertEquals(StateRole.FOLLOWER, l.role());
        assertEquals(1, l.term());
        assertEquals(1, l.status().hardState().vote());
        l.node.step(vote(2, 1, 1, 5, 1));
        assertTrue(ofType(l.drain(), MessageType.VOTE_RESP).get(0).reject());
        for (int i = 0; i < 60 && net.leaders().isEmpty(); i++) net.tickAll(1);
        assertEquals(1, net.leaders().size());
        long lead = net.leaders().iterator().next();
        assertTrue(net.get(lead).term() >= 2);
    }

    /** §5.2 Election Safety: at most one leader per term, even when everyone campaigns at once. */
    @Test
    void atMostOneLeaderPerTermWhenEveryoneCampaignsAtOnce() {
        for (long seed = 1; seed <= 5; seed++) {
            Net net = new Net(new Opts().seed(seed), 1, 2, 3, 4, 5);
            for (Peer p : net.peers.values()) p.node.campaign();
            net.stabilize();
            Map<Long, Long> leaderOfTerm = new TreeMap<>();
            for (int round = 0; round < 60 && net.leaders().isEmpty(); round++) {
                for (Peer p : net.peers.values()) {
                    if (p.role() == StateRole.LEADER) {
                        Long prev = leaderOfTerm.put(p.term(), p.id);
                        assertTrue(prev == null || prev == p.id, "two leaders in term " + p.term());
                    }
                }
                net.tickAll(1);
            }
            assertEquals(1, net.leaders().size(), "seed " + seed + ": one leader eventually");
            long lead = net.leaders().iterator().next();
            for (Peer p : net.peers.values()) {
                assertEquals(net.get(lead).term(), p.term());
                assertEquals(lead, p.node.leader(), "seed " + seed + " node " + p.id);
            }
        }
    }

    /** §5.3 Log Matching + State Machine Safety: proposals end up applied in the same order everywhere. */
    @Test
    void proposalsAreAppliedInTheSameOrderOnEveryNode() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        for (int i = 0; i < 20; i++) {
            long target = 1 + (i % 3); // followers forward to the leader
            assertFalse(net.get(target).node.propose(bytes("v" + i)).dropped());
            if (i % 4 == 0) net.stabilize();
        }
        net.stabilize();
        List<String> expect = null;
        for (Peer p : net.peers.values()) {
            List<String> got = new ArrayList<>();
            for (Entry e : p.applied) if (e.data().length > 0) got.add(new String(e.data(), StandardCharsets.UTF_8));
            assertEquals(20, got.size(), "node " + p.id);
            if (expect == null) expect = got;
            assertEquals(expect, got, "node " + p.id);
        }
    }

    /** A deposed leader that rejoins learns the new term from the first reply and steps down. */
    @Test
    void deposedLeaderRejoinsAsFollowerAndLosesItsUncommittedEntry() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.isolated.add(1L);
        net.campaign(2);
        assertEquals(StateRole.LEADER, net.get(2).role());
        assertEquals(StateRole.LEADER, net.get(1).role(), "isolated old leader does not know yet");
        assertEquals(ProposalResult.ACCEPTED, net.get(1).node.propose(bytes("lost")));
        net.isolated.clear();
        net.tickAll(1);
        net.stabilize();
        assertEquals(Set.of(2L), net.leaders());
        assertEquals(2, net.get(1).term());
        assertEquals(2, net.get(1).node.leader());
        for (Entry e : net.get(1).log()) {
            assertFalse(new String(e.data(), StandardCharsets.UTF_8).equals("lost"), "uncommitted entry of the deposed leader is overwritten");
        }
    }
}
