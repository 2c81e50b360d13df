package io.quorumlab.raft;

import static io.quorumlab.raft.RaftPaperTest.ackAll;
import static io.quorumlab.raft.RaftPaperTest.app;
import static io.quorumlab.raft.RaftPaperTest.appResp;
import static io.quorumlab.raft.RaftPaperTest.bytes;
import static io.quorumlab.raft.RaftPaperTest.elect;
import static io.quorumlab.raft.RaftPaperTest.heartbeat;
import static io.quorumlab.raft.RaftPaperTest.ids;
import static io.quorumlab.raft.RaftPaperTest.indexesOf;
import static io.quorumlab.raft.RaftPaperTest.msg;
import static io.quorumlab.raft.RaftPaperTest.ofType;
import static io.quorumlab.raft.RaftPaperTest.peer;
import static io.quorumlab.raft.RaftPaperTest.peerWithLog;
import static io.quorumlab.raft.RaftPaperTest.termsOf;
import static io.quorumlab.raft.RaftPaperTest.vote;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.raft.RaftPaperTest.Net;
import io.quorumlab.raft.RaftPaperTest.Opts;
import io.quorumlab.raft.RaftPaperTest.Peer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * Features beyond the paper's core: CheckQuorum and PreVote (thesis §4.2.3, §9.6), ReadIndex
 * (thesis §6.4), leadership transfer (thesis §3.10), single-server membership changes (thesis §4.1,
 * with learners), snapshots (§7), and the explicit bounds: uncommitted log, in-flight window,
 * message size, committed bytes per Ready, fast log backtracking.
 */
class RaftFeatureTest {

    private static ConfState conf(long[] voters, long... learners) {
        Set<Long> v = new java.util.TreeSet<>();
        for (long id : voters) v.add(id);
        Set<Long> l = new java.util.TreeSet<>();
        for (long id : learners) l.add(id);
        return new ConfState(v, l);
    }

    private static Peer peerWithConf(long id, Opts o, ConfState cs) {
        MemoryLogStorage s = new MemoryLogStorage();
        s.setConfState(cs);
        return new Peer(id, s, o);
    }

    private static Message heartbeatResp(long from, long to, long term, byte[] ctx) {
        return msg(MessageType.HEARTBEAT_RESP, from, to, term).context(ctx).build();
    }

    private static ProgressView progress(Peer leader, long id) {
        return leader.status().progress().get(id);
    }

    // ================================================================ CheckQuorum (thesis §6.2)

    @Test
    void checkQuorumLeaderStepsDownWhenNoQuorumWasActiveForAnElectionTimeout() {
        Peer p = peer(1, new Opts().checkQuorum(true), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3); // both followers were active in this first round
        for (int i = 0; i < 10; i++) p.node.tick();
        assertEquals(StateRole.LEADER, p.role(), "quorum was active in the first round");
        for (int i = 0; i < 10; i++) p.node.tick();
        assertEquals(StateRole.FOLLOWER, p.role(), "nobody answered for a whole election timeout");
        assertEquals(1, p.term(), "stepping down does not change the term");
        assertEquals(0, p.node.leader());
    }

    @Test
    void checkQuorumLeaderStaysWhileAQuorumAnswers() {
        Peer p = peer(1, new Opts().checkQuorum(true), ids(1, 2, 3));
        elect(p);
        for (int i = 0; i < 100; i++) {
            p.node.tick();
            p.node.step(heartbeatResp(2, 1, 1, new byte[0]));
            p.drain();
        }
        assertEquals(StateRole.LEADER, p.role());
    }

    /** Thesis §4.2.3: a follower that heard from its leader within the election timeout ignores RequestVote. */
    @Test
    void followerInLeaseIgnoresVotesOfHigherTermUntilTheLeaseExpires() {
        Peer p = peer(1, new Opts().checkQuorum(true).jitter(9), ids(1, 2, 3));
        p.node.step(heartbeat(2, 1, 1, 0));
        p.drain();
        p.node.step(vote(3, 1, 2, 5, 1));
        assertTrue(p.drain().isEmpty(), "vote request ignored, not even rejected");
        assertEquals(1, p.term(), "and the term is not bumped");
        assertEquals(2, p.node.leader());
        for (int i = 0; i < 9; i++) p.node.tick();
        p.node.step(vote(3, 1, 2, 5, 1));
        assertTrue(p.drain().isEmpty(), "still within the lease after 9 ticks");
        p.node.tick();
        p.node.step(vote(3, 1, 2, 5, 1));
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertEquals(1, resp.size());
        assertFalse(resp.get(0).reject(), "lease expired: the vote is granted");
        assertEquals(2, p.term());
    }

    @Test
    void followerInLeaseIgnoresPreVotesToo() {
        Peer p = peer(1, new Opts().checkQuorum(true).preVote(true).jitter(9), ids(1, 2, 3));
        p.node.step(heartbeat(2, 1, 1, 0));
        p.drain();
        p.node.step(msg(MessageType.PRE_VOTE, 3, 1, 2).index(5).logTerm(1).build());
        assertTrue(p.drain().isEmpty());
        for (int i = 0; i < 10; i++) p.node.tick();
        p.node.step(msg(MessageType.PRE_VOTE, 3, 1, 2).index(5).logTerm(1).build());
        List<Message> resp = ofType(p.drain(), MessageType.PRE_VOTE_RESP);
        assertEquals(1, resp.size());
        assertFalse(resp.get(0).reject());
        assertEquals(1, p.term(), "a pre-vote never changes the voter's term");
    }

    @Test
    void withoutCheckQuorumAFollowerGrantsHigherTermVoteDespiteLiveLeader() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.step(heartbeat(2, 1, 1, 0));
        p.node.step(vote(3, 1, 2, 5, 1));
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertFalse(resp.get(0).reject());
        assertEquals(2, p.term());
    }

    /** A vote of a leadership transfer (context CampaignTransfer) is honoured even inside the lease. */
    @Test
    void transferVoteIsGrantedEvenInsideTheLease() {
        Peer p = peer(1, new Opts().checkQuorum(true).preVote(true), ids(1, 2, 3));
        p.node.step(heartbeat(2, 1, 1, 0));
        p.drain();
        p.node.step(msg(MessageType.VOTE, 3, 1, 2).index(0).logTerm(0).context(Raft.CAMPAIGN_TRANSFER).build());
        List<Message> resp = ofType(p.drain(), MessageType.VOTE_RESP);
        assertEquals(1, resp.size());
        assertFalse(resp.get(0).reject());
        assertEquals(2, p.term());
        assertEquals(3, p.status().hardState().vote());
    }

    /**
     * With CheckQuorum or PreVote a node with a higher term answers a stale leader's append, so the
     * stale leader learns the term and steps down (nobody else would ever raise its term).
     */
    @Test
    void staleLeaderIsToldTheNewTermAndStepsDown() {
        for (Opts o : List.of(new Opts().checkQuorum(true), new Opts().preVote(true))) {
            Peer f = peerWithLog(2, o, ids(1, 2, 3), new long[] {1}, new HardState(3, 0, 1));
            f.node.step(app(1, 2, 1, 1, 1, 1, List.of()));
            f.node.step(heartbeat(1, 2, 1, 1));
            List<Message> resp = ofType(f.drain(), MessageType.APP_RESP);
            assertEquals(2, resp.size());
            for (Message r : resp) {
                assertEquals(3, r.term());
                assertEquals(1, r.to());
            }
            Peer oldLeader = peer(1, o, ids(1, 2, 3));
            elect(oldLeader);
            oldLeader.node.step(resp.get(0).toBuilder().to(1).build());
            assertEquals(StateRole.FOLLOWER, oldLeader.role());
            assertEquals(3, oldLeader.term());
        }
    }

    @Test
    void partitionedLeaderStepsDownAndTheMajorityElectsANewOne() {
        Net net = new Net(new Opts().checkQuorum(true).preVote(true), 1, 2, 3);
        net.campaign(1);
        assertEquals(Set.of(1L), net.leaders());
        net.isolated.add(1L);
        net.tickAll(45);
        assertFalse(net.get(1).role() == StateRole.LEADER, "isolated leader steps down by CheckQuorum");
        assertEquals(1, net.get(1).term(), "and, with PreVote, its term does not run away");
        Set<Long> leaders = net.leaders();
        assertEquals(1, leaders.size());
        assertTrue(leaders.contains(2L) || leaders.contains(3L));
        net.isolated.clear();
        net.tickAll(3);
        assertEquals(leaders, net.leaders(), "the healed node follows the new leader");
        assertEquals(net.get(leaders.iterator().next()).term(), net.get(1).term());
    }

    // ================================================================= PreVote (thesis §9.6)

    @Test
    void preCandidateKeepsItsTermAndAsksForVotesOfTheNextTerm() {
        Peer p = peerWithLog(1, new Opts().preVote(true), ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 0));
        p.node.campaign();
        assertEquals(StateRole.PRE_CANDIDATE, p.role());
        List<Message> out = p.drain();
        assertEquals(new HardState(1, 0, 0), p.storage.hardState(), "no term bump, no self-vote persisted");
        List<Message> pre = ofType(out, MessageType.PRE_VOTE);
        assertEquals(2, pre.size());
        for (Message m : pre) {
            assertEquals(2, m.term(), "asks for the term it would have");
            assertEquals(2, m.index());
            assertEquals(1, m.logTerm());
        }
        assertTrue(ofType(out, MessageType.VOTE).isEmpty());
    }

    @Test
    void preVoteGrantCarriesTheRequestedTermAndChangesNothingAtTheVoter() {
        Peer p = peer(1, new Opts().preVote(true), ids(1, 2, 3));
        p.node.step(heartbeat(2, 1, 1, 0));
        p.drain();
        p.node.step(msg(MessageType.PRE_VOTE, 3, 1, 2).index(0).logTerm(0).build());
        List<Message> resp = ofType(p.drain(), MessageType.PRE_VOTE_RESP);
        assertEquals(1, resp.size());
        assertFalse(resp.get(0).reject());
        assertEquals(2, resp.get(0).term());
        assertEquals(1, p.term());
        assertEquals(0, p.status().hardState().vote());
        assertEquals(2, p.node.leader(), "still following its leader");
    }

    @Test
    void preVoteIsRefusedToCandidateWithStaleLog() {
        Peer p = peerWithLog(1, new Opts().preVote(true), ids(1, 2, 3), new long[] {1, 1, 2}, new HardState(2, 0, 0));
        p.node.step(msg(MessageType.PRE_VOTE, 3, 1, 3).index(5).logTerm(1).build());
        List<Message> resp = ofType(p.drain(), MessageType.PRE_VOTE_RESP);
        assertTrue(resp.get(0).reject());
        assertEquals(2, p.term());
    }

    @Test
    void preCandidateBecomesCandidateOnMajorityOfPreVotesAndFollowerOnMajorityOfRefusals() {
        Peer p = peer(1, new Opts().preVote(true), ids(1, 2, 3));
        p.node.campaign();
        p.drain();
        p.node.step(msg(MessageType.PRE_VOTE_RESP, 2, 1, 1).build());
        assertEquals(StateRole.CANDIDATE, p.role());
        assertEquals(1, p.term());
        List<Message> votes = ofType(p.drain(), MessageType.VOTE);
        assertEquals(2, votes.size());
        assertEquals(1, p.storage.hardState().vote());

        // Refusals from voters of our own term: counted, and a majority of them ends the pre-election.
        Peer q = peerWithLog(1, new Opts().preVote(true), ids(1, 2, 3), new long[] {1}, new HardState(1, 0, 0));
        q.node.campaign();
        q.drain();
        q.node.step(msg(MessageType.PRE_VOTE_RESP, 2, 1, 1).reject(true).build());
        assertEquals(StateRole.PRE_CANDIDATE, q.role());
        q.node.step(msg(MessageType.PRE_VOTE_RESP, 3, 1, 1).reject(true).build());
        assertEquals(StateRole.FOLLOWER, q.role());
        assertEquals(1, q.term(), "a failed pre-election leaves the term alone");

        // A refusal from a voter with a higher term makes us follow at that term at once.
        Peer r = peer(1, new Opts().preVote(true), ids(1, 2, 3));
        r.node.campaign();
        r.drain();
        r.node.step(msg(MessageType.PRE_VOTE_RESP, 2, 1, 4).reject(true).build());
        assertEquals(StateRole.FOLLOWER, r.role());
        assertEquals(4, r.term());
    }

    @Test
    void preCandidateDropsProposalsAndFollowsLeaderOfItsTerm() {
        Peer p = peerWithLog(1, new Opts().preVote(true), ids(1, 2, 3), new long[] {1}, new HardState(1, 0, 0));
        p.node.campaign();
        assertEquals(ProposalResult.DROPPED_NO_LEADER, p.node.propose(bytes("x")));
        p.node.step(heartbeat(2, 1, 1, 0));
        assertEquals(StateRole.FOLLOWER, p.role());
        assertEquals(2, p.node.leader());
    }

    /** The point of PreVote: a node that was partitioned away does not depose a healthy leader when it returns. */
    @Test
    void rejoiningPartitionedNodeDoesNotDisruptTheLeaderWithPreVote() {
        Net net = new Net(new Opts().preVote(true), 1, 2, 3);
        net.campaign(1);
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("while 3 was away"));
        net.stabilize();
        for (int i = 0; i < 100; i++) {
            net.get(3).node.tick();
            net.stabilize();
        }
        assertEquals(1, net.get(3).term(), "pre-elections never raise the isolated node's term");
        net.isolated.clear();
        net.get(3).node.campaign();
        net.stabilize();
        assertEquals(Set.of(1L), net.leaders());
        assertEquals(1, net.get(1).term(), "the leader was not deposed");
        net.tickAll(2);
        assertEquals(1, net.get(3).node.leader());
        assertEquals(net.get(1).commit(), net.get(3).commit());
    }

    // ========================================================== ReadIndex (thesis §6.4)

    @Test
    void safeReadIndexIsAnsweredWithCommitIndexAfterAHeartbeatQuorum() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        p.node.readIndex(bytes("r1"));
        List<Message> hbs = ofType(p.drain(), MessageType.HEARTBEAT);
        assertEquals(2, hbs.size());
        for (Message h : hbs) assertArrayEquals(bytes("r1"), h.context());
        assertTrue(p.reads.isEmpty(), "leadership not confirmed yet");
        p.node.propose(bytes("later")); // committed index at request time is what counts
        p.drain();
        p.node.step(heartbeatResp(2, 1, 1, bytes("r1")));
        p.drain();
        assertEquals(1, p.reads.size());
        assertEquals(1, p.reads.get(0).index());
        assertArrayEquals(bytes("r1"), p.reads.get(0).context());
    }

    @Test
    void readIndexWaitsUntilTheLeaderHasCommittedAnEntryOfItsTerm() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 1}, new HardState(1, 0, 1));
        elect(p);
        p.node.readIndex(bytes("r"));
        List<Message> out = p.drain();
        assertTrue(out.stream().noneMatch(m -> Arrays.equals(m.context(), bytes("r"))),
                "commit index 1 may be stale until the term-2 entry commits: " + out);
        p.node.step(appResp(2, 1, 2, 3));
        out = p.drain();
        assertEquals(3, p.commit());
        List<Message> hbs = ofType(out, MessageType.HEARTBEAT);
        assertFalse(hbs.isEmpty());
        assertTrue(hbs.stream().allMatch(m -> Arrays.equals(m.context(), bytes("r"))));
        p.node.step(heartbeatResp(3, 1, 2, bytes("r")));
        p.drain();
        assertEquals(1, p.reads.size());
        assertEquals(3, p.reads.get(0).index());
    }

    @Test
    void readIndexOfFollowerIsForwardedAndAnswered() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        net.get(2).node.readIndex(bytes("f"));
        net.stabilize();
        assertEquals(1, net.deliveredOf(MessageType.READ_INDEX).size());
        assertEquals(1, net.deliveredOf(MessageType.READ_INDEX_RESP).size());
        assertEquals(1, net.get(2).reads.size());
        assertEquals(2, net.get(2).reads.get(0).index());
        assertArrayEquals(bytes("f"), net.get(2).reads.get(0).context());
        assertTrue(net.get(1).reads.isEmpty());
    }

    @Test
    void singleVoterAnswersReadIndexAtOnce() {
        Peer p = peer(1, new Opts(), ids(1));
        elect(p);
        p.node.readIndex(bytes("solo"));
        List<Message> out = p.drain();
        assertTrue(out.isEmpty());
        assertEquals(1, p.reads.size());
        assertEquals(1, p.reads.get(0).index());
    }

    @Test
    void leaseBasedReadIndexIsAnsweredWithoutAHeartbeatRound() {
        Peer p = peer(1, new Opts().checkQuorum(true).readOnly(ReadOnlyOption.LEASE_BASED), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        // The lease is dated by a heartbeat round a quorum acknowledged (thesis §6.4.1).
        p.node.tick();
        for (Message hb : ofType(p.drain(), MessageType.HEARTBEAT)) {
            p.node.step(msg(MessageType.HEARTBEAT_RESP, hb.to(), 1, hb.term()).index(hb.index()).build());
        }
        p.drain();
        p.node.readIndex(bytes("lease"));
        List<Message> out = p.drain();
        assertTrue(ofType(out, MessageType.HEARTBEAT).isEmpty());
        assertEquals(1, p.reads.size());
        assertEquals(1, p.reads.get(0).index());
        // Without fresh acknowledgements the lease runs out and reads go back to a heartbeat round.
        for (int i = 0; i < 10; i++) {
            p.node.tick();
            p.drain();
        }
        p.node.readIndex(bytes("expired"));
        assertEquals(2, ofType(p.drain(), MessageType.HEARTBEAT).size(), "an expired lease falls back to a safe read");
        assertEquals(1, p.reads.size());
    }

    /**
     * Thesis §6.4.1: a lease must start when the acknowledged heartbeat was sent and end before any
     * follower can time out (one election timeout). Here the lease lasts until the next failed
     * CheckQuorum, up to two election timeouts after the last acknowledgement, so with perfectly
     * synchronised clocks and no message delay, a cut-off leader still serves lease reads after the
     * majority elected a new leader that committed a write: a stale (non-linearizable) read.
     * (etcd's raft shares this CheckQuorum-based lease.)
     */
    @Test
    void leaseReadIsNeverServedByALeaderThatMayAlreadyBeReplaced() {
        Net net = new Net(new Opts().checkQuorum(true).preVote(true).readOnly(ReadOnlyOption.LEASE_BASED), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        net.tickAll(1); // the last heartbeat round that reaches the followers
        net.isolated.add(1L);
        for (int t = 0; t < 40 && net.leaders().stream().noneMatch(x -> x != 1); t++) net.tickAll(1);
        long newLeader = net.leaders().stream().filter(x -> x != 1).findFirst().orElseThrow();
        net.get(newLeader).node.propose(bytes("y"));
        net.stabilize();
        long newCommit = net.get(newLeader).commit();
        net.get(1).node.readIndex(bytes("r"));
        net.stabilize();
        for (ReadState rs : net.get(1).reads) {
            assertTrue(rs.index() >= newCommit, "node 1 (" + net.get(1).role() + ") served a read at " + rs.index()
                    + " after node " + newLeader + " committed " + newCommit);
        }
    }

    @Test
    void learnerAcknowledgementsDoNotConfirmLeadershipForReads() {
        Peer p = peerWithConf(1, new Opts(), conf(ids(1, 2, 3), 4));
        elect(p);
        ackAll(p, 2, 3, 4);
        p.node.readIndex(bytes("r"));
        assertEquals(3, ofType(p.drain(), MessageType.HEARTBEAT).size(), "learners get heartbeats too");
        p.node.step(heartbeatResp(4, 1, 1, bytes("r")));
        p.drain();
        assertTrue(p.reads.isEmpty(), "a learner is not part of any quorum");
        p.node.step(heartbeatResp(3, 1, 1, bytes("r")));
        p.drain();
        assertEquals(1, p.reads.size());
    }

    /**
     * Liveness of safe reads: if the heartbeat round carrying a read's context is lost, the read must
     * still complete: etcd attaches the newest pending context to every periodic heartbeat
     * (bcastHeartbeat uses readOnly.lastPendingRequestCtx) and re-broadcasts when the same context is
     * asked again. Here the leader does neither, so the read is stuck until leadership changes.
     */
    @Test
    void safeReadCompletesAfterItsHeartbeatRoundIsLost() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        p.node.readIndex(bytes("r"));
        p.drain(); // the heartbeats carrying "r" are lost
        for (int round = 0; round < 5 && p.reads.isEmpty(); round++) {
            p.node.tick(); // periodic heartbeat
            p.node.readIndex(bytes("r")); // and the client retries with the same request id
            for (Message m : ofType(p.drain(), MessageType.HEARTBEAT)) {
                p.node.step(heartbeatResp(m.to(), 1, 1, m.context()));
            }
            p.drain();
        }
        assertEquals(1, p.reads.size(), "the read never completed");
        assertArrayEquals(bytes("r"), p.reads.get(0).context());
    }

    @Test
    void pendingReadRequestsAreBounded() {
        Opts o = new Opts();
        o.maxPendingReads = 2;
        Peer p = peer(1, o, ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        for (String ctx : List.of("a", "b", "c")) p.node.readIndex(bytes(ctx));
        List<Message> hbs = ofType(p.drain(), MessageType.HEARTBEAT);
        assertEquals(4, hbs.size(), "two rounds for two admitted reads; the third is refused");
        assertTrue(hbs.stream().noneMatch(m -> Arrays.equals(m.context(), bytes("c"))));
        p.node.step(heartbeatResp(2, 1, 1, bytes("b")));
        p.drain();
        assertEquals(2, p.reads.size(), "confirming the later read confirms the earlier one too");
        assertArrayEquals(bytes("a"), p.reads.get(0).context());
        assertArrayEquals(bytes("b"), p.reads.get(1).context());
    }

    // ============================================================ Leadership transfer (thesis §3.10)

    @Test
    void transferToUpToDateFollowerSendsTimeoutNowAndDropsProposalsMeanwhile() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        p.node.transferLeadership(2);
        List<Message> out = p.drain();
        List<Message> tn = ofType(out, MessageType.TIMEOUT_NOW);
        assertEquals(1, tn.size());
        assertEquals(2, tn.get(0).to());
        assertEquals(1, tn.get(0).term());
        assertEquals(2, p.status().leadTransferee());
        assertEquals(ProposalResult.DROPPED_LEADERSHIP_TRANSFER, p.node.propose(bytes("x")));
        assertEquals(ProposalResult.DROPPED_LEADERSHIP_TRANSFER,
                p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 4)));
        assertEquals(1, p.status().lastIndex(), "nothing was appended");
    }

    @Test
    void transferToLaggingFollowerCatchesItUpFirst() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 3);
        p.node.propose(bytes("x"));
        p.drain();
        p.node.step(appResp(3, 1, 1, 2));
        p.drain();
        p.node.transferLeadership(2);
        assertTrue(ofType(p.drain(), MessageType.TIMEOUT_NOW).isEmpty(), "2 is behind");
        p.node.step(appResp(2, 1, 1, 1));
        List<Message> out = p.drain();
        assertTrue(ofType(out, MessageType.TIMEOUT_NOW).isEmpty(), "2 still lacks index 2");
        assertFalse(ofType(out, MessageType.APP, 2).isEmpty(), "so it is sent the rest");
        p.node.step(appResp(2, 1, 1, 2));
        assertEquals(1, ofType(p.drain(), MessageType.TIMEOUT_NOW, 2).size());
    }

    @Test
    void transferIsAbandonedAfterAnElectionTimeout() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        p.node.transferLeadership(2);
        p.drain(); // TimeoutNow lost
        for (int i = 0; i < 9; i++) p.node.tick();
        assertEquals(2, p.status().leadTransferee());
        p.node.tick();
        assertEquals(0, p.status().leadTransferee());
        assertEquals(StateRole.LEADER, p.role());
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(bytes("x")));
    }

    @Test
    void transferToLearnerOrSelfIsIgnored() {
        Peer p = peerWithConf(1, new Opts(), conf(ids(1, 2, 3), 4));
        elect(p);
        ackAll(p, 2, 3, 4);
        p.node.transferLeadership(4);
        p.node.transferLeadership(1);
        assertTrue(ofType(p.drain(), MessageType.TIMEOUT_NOW).isEmpty());
        assertEquals(0, p.status().leadTransferee());
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(bytes("x")));
    }

    @Test
    void removingTheTransfereeAbortsTheTransfer() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.applyConfChanges = false;
        elect(p);
        ackAll(p, 3);
        ConfChange remove2 = ConfChange.of(ConfChangeType.REMOVE_NODE, 2);
        p.node.proposeConfChange(remove2);
        p.drain();
        p.node.step(appResp(3, 1, 1, 2));
        p.drain();
        p.node.transferLeadership(2); // 2 is behind: the leader tries to catch it up first
        p.drain();
        assertEquals(2, p.status().leadTransferee());
        p.node.applyConfChange(remove2);
        assertEquals(0, p.status().leadTransferee());
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(bytes("x")));
    }

    @Test
    void confChangesThatChangeNothingAreHarmless() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ConfState before = p.status().confState();
        assertEquals(before, p.node.applyConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 2)));
        assertEquals(before, p.node.applyConfChange(ConfChange.of(ConfChangeType.UPDATE_NODE, 3)));
        assertEquals(before, p.node.applyConfChange(ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 3)), "no demotion");
        assertEquals(before, p.node.applyConfChange(ConfChange.of(ConfChangeType.REMOVE_NODE, 9)));
        assertEquals(StateRole.LEADER, p.role());
    }

    @Test
    void timeoutNowMakesFollowerCampaignAtOnceWithoutPreVote() {
        Peer p = peer(2, new Opts().preVote(true).checkQuorum(true), ids(1, 2, 3));
        p.node.step(heartbeat(1, 2, 1, 0));
        p.drain();
        p.node.step(msg(MessageType.TIMEOUT_NOW, 1, 2, 1).build());
        assertEquals(StateRole.CANDIDATE, p.role());
        assertEquals(2, p.term());
        List<Message> votes = ofType(p.drain(), MessageType.VOTE);
        assertEquals(2, votes.size());
        for (Message v : votes) assertArrayEquals(Raft.CAMPAIGN_TRANSFER, v.context());
    }

    @Test
    void learnerIgnoresTimeoutNow() {
        Peer p = peerWithConf(4, new Opts(), conf(ids(1, 2, 3), 4));
        p.node.step(heartbeat(1, 4, 1, 0));
        p.node.step(msg(MessageType.TIMEOUT_NOW, 1, 4, 1).build());
        assertEquals(StateRole.FOLLOWER, p.role());
        assertEquals(1, p.term());
    }

    @Test
    void leadershipTransferHandsLeadershipToTheTargetInACluster() {
        Net net = new Net(new Opts().checkQuorum(true).preVote(true), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.propose(bytes("a"));
        net.stabilize();
        net.get(1).node.transferLeadership(2);
        net.stabilize();
        assertEquals(Set.of(2L), net.leaders());
        assertEquals(2, net.get(1).term());
        assertEquals(2, net.get(1).node.leader());
        // Asked on a follower: forwarded to the leader.
        net.get(3).node.transferLeadership(3);
        net.stabilize();
        assertEquals(Set.of(3L), net.leaders());
        assertEquals(3, net.get(3).term());
        assertFalse(net.get(3).node.propose(bytes("b")).dropped());
        net.stabilize();
        for (Peer q : net.peers.values()) assertEquals(net.get(3).commit(), q.commit());
    }

    // =================================================================== Proposals

    @Test
    void proposalsWithoutALeaderAreDropped() {
        Peer f = peer(1, new Opts(), ids(1, 2, 3));
        assertEquals(ProposalResult.DROPPED_NO_LEADER, f.node.propose(bytes("x")));
        f.node.campaign();
        assertEquals(StateRole.CANDIDATE, f.role());
        assertEquals(ProposalResult.DROPPED_NO_LEADER, f.node.propose(bytes("x")));
        assertEquals(ProposalResult.DROPPED_NO_LEADER,
                f.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 4)));
        assertEquals(0, f.status().lastIndex());
    }

    @Test
    void followerForwardsProposalsToItsLeader() {
        Peer f = peer(1, new Opts(), ids(1, 2, 3));
        f.node.step(heartbeat(2, 1, 1, 0));
        f.drain();
        assertEquals(ProposalResult.FORWARDED, f.node.propose(bytes("x")));
        List<Message> props = ofType(f.drain(), MessageType.PROP);
        assertEquals(1, props.size());
        assertEquals(2, props.get(0).to());
        assertEquals(1, props.get(0).from());
        assertArrayEquals(bytes("x"), props.get(0).entries().get(0).data());
        assertEquals(0, f.status().lastIndex(), "nothing appended locally");
    }

    // ============================================================ Membership (thesis §4.1)

    @Test
    void onlyOneMembershipChangeMayBePendingAtATime() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        assertEquals(ProposalResult.ACCEPTED, p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 4)));
        assertEquals(ProposalResult.DROPPED_CONF_CHANGE_PENDING,
                p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 5)));
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(bytes("normal entries still flow")));
        p.drain();
        assertEquals(ProposalResult.DROPPED_CONF_CHANGE_PENDING,
                p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 5)), "committed is not enough: it must be applied");
        p.node.step(appResp(2, 1, 1, p.status().lastIndex()));
        p.drain();
        assertEquals(Set.of(4L), p.status().confState().learners());
        assertEquals(ProposalResult.ACCEPTED, p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 5)));

        // Two changes in one batch are refused as a whole.
        Peer q = peer(1, new Opts(), ids(1, 2, 3));
        elect(q);
        ackAll(q, 2, 3);
        Entry cc1 = new Entry(0, 0, EntryType.CONF_CHANGE, ConfChange.of(ConfChangeType.ADD_NODE, 4).encode());
        Entry cc2 = new Entry(0, 0, EntryType.CONF_CHANGE, ConfChange.of(ConfChangeType.ADD_NODE, 5).encode());
        assertEquals(ProposalResult.DROPPED_CONF_CHANGE_PENDING,
                q.node.step(Message.builder(MessageType.PROP).from(1).to(1).entries(List.of(cc1, cc2)).build()));
        assertEquals(1, q.status().lastIndex());
    }

    /** A new leader may have uncommitted conf changes in its log: it refuses new ones until it applied its whole log. */
    @Test
    void newLeaderRefusesConfChangesUntilItHasAppliedItsWholeLog() {
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1}, new HardState(1, 0, 0));
        elect(p);
        assertEquals(ProposalResult.DROPPED_CONF_CHANGE_PENDING,
                p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 4)));
        ackAll(p, 2, 3);
        assertEquals(2, p.status().applied());
        assertEquals(ProposalResult.ACCEPTED, p.node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 4)));
    }

    @Test
    void learnerReceivesTheLogButNeverVotesNorCountsTowardsCommit() {
        Opts o = new Opts();
        Net net = new Net(o, 1, 2, 3);
        net.add(new Peer(4, MemoryLogStorage.withVoters(1, 2, 3), o)); // joins knowing the initial membership
        net.campaign(1);
        assertEquals(ProposalResult.ACCEPTED,
                net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 4)));
        net.stabilize();
        net.tickAll(2); // a heartbeat round lets the leader discover and probe the new node
        Peer learner = net.get(4);
        assertArrayEquals(termsOf(net.get(1).log()), termsOf(learner.log()));
        assertEquals(Set.of(4L), net.get(1).status().confState().learners());
        assertEquals(Set.of(4L), learner.status().confState().learners());
        assertEquals(Set.of(1L, 2L, 3L), learner.status().confState().voters());
        assertEquals(net.get(1).commit(), learner.commit());

        for (int i = 0; i < 100; i++) learner.node.tick();
        assertEquals(StateRole.FOLLOWER, learner.role(), "a learner never campaigns");
        assertTrue(ofType(learner.drain(), MessageType.VOTE).isEmpty());
        assertTrue(ofType(learner.drain(), MessageType.PRE_VOTE).isEmpty());

        // With both voters cut off, the learner's ack does not make a majority.
        long before = net.get(1).commit();
        net.isolated.add(2L);
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        assertEquals(net.get(1).status().lastIndex(), learner.status().lastIndex(), "the learner has it");
        assertEquals(before, net.get(1).commit(), "but it is not committed");
    }

    @Test
    void promotedLearnerCountsTowardsTheNewMajority() {
        Opts o = new Opts();
        Net net = new Net(o, 1, 2, 3);
        net.add(new Peer(4, MemoryLogStorage.withVoters(1, 2, 3), o));
        net.campaign(1);
        net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 4));
        net.stabilize();
        net.tickAll(2);
        assertEquals(ProposalResult.ACCEPTED, net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 4)));
        net.stabilize();
        for (Peer q : net.peers.values()) {
            assertEquals(Set.of(1L, 2L, 3L, 4L), q.status().confState().voters(), "node " + q.id);
            assertTrue(q.status().confState().learners().isEmpty());
        }
        // Four voters: 1, 2, 4 are a majority.
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        assertEquals(net.get(1).status().lastIndex(), net.get(1).commit());
        // 1 and 4 alone are not.
        net.isolated.add(2L);
        net.get(1).node.propose(bytes("y"));
        net.stabilize();
        assertEquals(net.get(1).status().lastIndex() - 1, net.get(1).commit());
    }

    @Test
    void removedFollowerNoLongerCountsAndItsResponsesAreIgnored() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.REMOVE_NODE, 3));
        net.stabilize();
        assertEquals(Set.of(1L, 2L), net.get(1).status().confState().voters());
        assertFalse(net.get(1).status().progress().containsKey(3L));
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        assertEquals(net.get(1).status().lastIndex(), net.get(1).commit());
        net.get(1).node.step(appResp(3, 1, 1, 100));
        net.get(1).node.step(heartbeatResp(3, 1, 1, new byte[0]));
        assertEquals(StateRole.LEADER, net.get(1).role());
        assertTrue(net.get(1).drain().isEmpty());
    }

    /** Shrinking the voters can make pending entries committed at once (etcd TestCommitAfterRemoveNode). */
    @Test
    void removingAVoterCommitsEntriesTheSmallerMajorityHolds() {
        Peer p = peer(1, new Opts(), ids(1, 2));
        p.applyConfChanges = false;
        elect(p);
        ackAll(p, 2);
        ConfChange remove2 = ConfChange.of(ConfChangeType.REMOVE_NODE, 2);
        p.node.proposeConfChange(remove2);
        p.drain();
        p.node.step(appResp(2, 1, 1, 2));
        p.drain();
        assertEquals(2, p.commit(), "the removal is committed (2 still acknowledged it)");
        p.node.propose(bytes("x"));
        p.drain();
        assertEquals(2, p.commit(), "x needs node 2 while it is a voter");
        p.node.applyConfChange(remove2);
        p.drain();
        assertEquals(3, p.commit(), "with one voter left, x is committed by the leader alone");
        assertArrayEquals(bytes("x"), p.applied.get(p.applied.size() - 1).data());
    }

    @Test
    void removedLeaderStepsDownAndTheRestElectANewOne() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.REMOVE_NODE, 1));
        net.stabilize();
        assertEquals(StateRole.FOLLOWER, net.get(1).role());
        assertEquals(0, net.get(1).node.leader());
        for (long id : ids(2, 3)) assertEquals(Set.of(2L, 3L), net.get(id).status().confState().voters());
        assertEquals(ProposalResult.DROPPED_NO_LEADER, net.get(1).node.propose(bytes("x")));
        for (int i = 0; i < 60 && net.leaders().isEmpty(); i++) net.tickAll(1);
        Set<Long> leaders = net.leaders();
        assertEquals(1, leaders.size());
        assertFalse(leaders.contains(1L));
        net.tickAll(50);
        assertEquals(StateRole.FOLLOWER, net.get(1).role(), "a removed node never campaigns");
        assertEquals(leaders, net.leaders());
    }

    /** Raft refuses to campaign while a committed conf change is not yet applied (its outcome may forbid it). */
    @Test
    void campaignWaitsForCommittedConfChangeToBeApplied() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        ConfChange cc = ConfChange.of(ConfChangeType.ADD_LEARNER_NODE, 4);
        p.node.step(app(2, 1, 1, 0, 0, 1, List.of(new Entry(1, 1, EntryType.CONF_CHANGE, cc.encode()))));
        Ready rd = p.node.ready();
        assertEquals(1, rd.committedEntries().size());
        p.storage.append(rd.entries());
        p.storage.setHardState(rd.hardState());
        p.node.campaign();
        assertEquals(StateRole.FOLLOWER, p.role(), "the conf change is committed but unapplied");
        p.node.applyConfChange(cc);
        p.node.advance(rd);
        p.node.campaign();
        assertEquals(StateRole.CANDIDATE, p.role());
    }

    /**
     * Thesis §4.2.3: a server removed while partitioned never learns of its removal and keeps
     * campaigning with ever higher terms; with CheckQuorum the members ignore it (they hear from
     * their leader) and the leader keeps its term.
     */
    @Test
    void removedServerThatKeepsCampaigningDoesNotDisruptTheClusterWithCheckQuorum() {
        Net net = new Net(new Opts().checkQuorum(true), 1, 2, 3);
        net.campaign(1);
        net.isolated.add(3L);
        net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.REMOVE_NODE, 3));
        net.stabilize();
        assertEquals(Set.of(1L, 2L), net.get(1).status().confState().voters());
        assertEquals(Set.of(1L, 2L, 3L), net.get(3).status().confState().voters(), "3 did not hear of it");
        net.isolated.clear();
        for (int i = 0; i < 100; i++) net.tickAll(1);
        assertTrue(net.get(3).term() > 1, "the removed server did campaign");
        assertEquals(Set.of(1L), net.leaders());
        assertEquals(1, net.get(1).term());
        assertEquals(1, net.get(2).term());
    }

    /** Bootstrap as etcd does it: committed conf-change entries of term 1; a later member learns them from the log. */
    @Test
    void bootstrappedClusterAppliesItsMembershipFromTheLogAndANewMemberLearnsIt() {
        Opts o = new Opts();
        Net net = new Net();
        for (long id : ids(1, 2, 3)) net.add(new Peer(id, MemoryLogStorage.bootstrap(1, 2, 3), o));
        net.get(1).node.campaign();
        assertEquals(StateRole.FOLLOWER, net.get(1).role(), "membership not applied yet: not promotable");
        net.stabilize();
        for (Peer q : net.peers.values()) assertEquals(Set.of(1L, 2L, 3L), q.status().confState().voters());
        net.campaign(1);
        assertEquals(Set.of(1L), net.leaders());
        Peer joiner = net.add(new Peer(4, new MemoryLogStorage(), o));
        net.get(1).node.proposeConfChange(ConfChange.of(ConfChangeType.ADD_NODE, 4));
        net.stabilize();
        net.tickAll(2);
        assertEquals(Set.of(1L, 2L, 3L, 4L), joiner.status().confState().voters());
        assertArrayEquals(termsOf(net.get(1).log()), termsOf(joiner.log()));
        net.isolated.add(2L);
        net.isolated.add(3L);
        net.get(1).node.propose(bytes("x"));
        net.stabilize();
        assertTrue(net.get(1).commit() < net.get(1).status().lastIndex(), "2 of 4 voters are not a majority");
    }

    // ====================================================================== Snapshots (§7)

    @Test
    void followerInstallsSnapshotFromLeaderAndContinuesFromIt() {
        Peer f = peer(2, new Opts(), ids(1, 2, 3));
        Snapshot snap = new Snapshot(10, 2, conf(ids(1, 2, 3)), bytes("state@10"));
        f.node.step(msg(MessageType.SNAP, 1, 2, 2).snapshot(snap).build());
        List<Message> out = f.drain();
        Ready first = f.readies.get(0);
        assertNotNull(first.snapshot());
        assertEquals(10, first.snapshot().index());
        assertEquals(10, f.storage.snapshot().index());
        assertArrayEquals(bytes("state@10"), f.storage.snapshot().data());
        List<Message> resp = ofType(out, MessageType.APP_RESP);
        assertEquals(1, resp.size());
        assertEquals(10, resp.get(0).index());
        assertFalse(resp.get(0).reject());
        Status st = f.status();
        assertEquals(10, st.hardState().commit());
        assertEquals(10, st.applied());
        assertEquals(10, st.lastIndex());
        assertEquals(1, f.node.leader());

        f.node.step(app(1, 2, 2, 10, 2, 11, List.of(Entry.normal(2, 11, bytes("after")))));
        out = f.drain();
        assertEquals(11, ofType(out, MessageType.APP_RESP).get(0).index());
        assertEquals(11, f.commit());
        assertEquals(11, f.applied.get(f.applied.size() - 1).index());
    }

    @Test
    void snapshotNotNewerThanCommitIsIgnored() {
        Peer f = peerWithLog(2, new Opts(), ids(1, 2, 3), new long[] {1, 1, 1, 1, 1}, new HardState(1, 0, 5));
        f.node.step(msg(MessageType.SNAP, 1, 2, 1).snapshot(new Snapshot(3, 1, conf(ids(1, 2, 3)), null)).build());
        List<Message> out = f.drain();
        assertTrue(f.readies.stream().allMatch(r -> r.snapshot() == null));
        assertEquals(5, ofType(out, MessageType.APP_RESP).get(0).index());
        assertEquals(0, f.storage.snapshot().index());
    }

    @Test
    void snapshotOfEntriesAlreadyInTheLogOnlyAdvancesCommit() {
        Peer f = peerWithLog(2, new Opts(), ids(1, 2, 3), new long[] {1, 1, 1, 1, 1}, new HardState(1, 0, 2));
        f.node.step(msg(MessageType.SNAP, 1, 2, 1).snapshot(new Snapshot(4, 1, conf(ids(1, 2, 3)), null)).build());
        List<Message> out = f.drain();
        assertTrue(f.readies.stream().allMatch(r -> r.snapshot() == null));
        assertEquals(4, f.commit());
        assertEquals(5, f.status().lastIndex(), "the entry after the snapshot is kept");
        assertEquals(4, ofType(out, MessageType.APP_RESP).get(0).index());
    }

    @Test
    void laggingFollowerIsSentASnapshotAfterCompactionAndCatchesUp() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        net.isolated.add(3L);
        for (int i = 0; i < 5; i++) net.get(1).node.propose(bytes("v" + i));
        net.stabilize();
        Peer leader = net.get(1);
        long applied = leader.applied.get(leader.applied.size() - 1).index();
        assertEquals(6, applied);
        leader.storage.createSnapshot(applied, leader.status().confState(), bytes("snap@6"));
        leader.storage.compact(applied);

        net.isolated.clear();
        net.tickAll(1);
        net.stabilize();
        List<Message> snaps = net.deliveredOf(MessageType.SNAP);
        assertEquals(1, snaps.size());
        assertEquals(3, snaps.get(0).to());
        assertEquals(6, snaps.get(0).snapshot().index());
        Peer f = net.get(3);
        assertEquals(6, f.storage.snapshot().index());
        assertArrayEquals(bytes("snap@6"), f.storage.snapshot().data());
        assertEquals(leader.commit(), f.commit());
        assertEquals(leader.status().lastIndex(), f.status().lastIndex());
        ProgressView pv = progress(leader, 3);
        assertEquals(ProgressState.REPLICATE, pv.state());
        assertEquals(leader.status().lastIndex(), pv.match());

        leader.node.propose(bytes("after"));
        net.stabilize();
        assertEquals(leader.status().lastIndex(), f.commit());
        assertArrayEquals(bytes("after"), f.applied.get(f.applied.size() - 1).data());
    }

    /**
     * Log compaction on every node (leader and followers, each at its own applied index) does not
     * disturb replication to followers that are up to date: no snapshot is sent, appends whose
     * previous entry is a follower's compaction point still match, and a compacted follower restarts.
     */
    @Test
    void compactionEverywhereDoesNotDisturbUpToDateFollowersNorRestart() {
        Net net = new Net(new Opts(), 1, 2, 3);
        net.campaign(1);
        for (int i = 0; i < 4; i++) net.get(1).node.propose(bytes("v" + i));
        net.stabilize();
        for (Peer q : net.peers.values()) {
            long applied = q.applied.get(q.applied.size() - 1).index();
            assertEquals(5, applied, "node " + q.id);
            q.storage.createSnapshot(applied, q.status().confState(), bytes("s" + applied));
            q.storage.compact(applied);
        }
        net.get(1).node.propose(bytes("after compaction"));
        net.stabilize();
        assertTrue(net.deliveredOf(MessageType.SNAP).isEmpty());
        for (Peer q : net.peers.values()) assertEquals(6, q.commit(), "node " + q.id);

        Peer f = net.get(2);
        f.restart();
        assertEquals(5, f.storage.snapshot().index());
        assertEquals(6, f.status().lastIndex());
        assertEquals(6, f.status().hardState().commit());
        net.get(1).node.propose(bytes("after restart"));
        net.stabilize();
        net.tickAll(1);
        assertEquals(7, f.commit());
        assertArrayEquals(bytes("after restart"), f.applied.get(f.applied.size() - 1).data());
        assertTrue(net.deliveredOf(MessageType.SNAP).isEmpty());
    }

    @Test
    void failedSnapshotSendFallsBackToProbingAndIsRetried() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 3);
        for (int i = 0; i < 3; i++) p.node.propose(bytes("v" + i));
        p.drain();
        p.node.step(appResp(3, 1, 1, 4));
        p.drain();
        assertEquals(4, p.status().applied());
        p.storage.createSnapshot(4, p.status().confState(), bytes("s"));
        p.storage.compact(4);

        p.node.step(heartbeatResp(2, 1, 1, new byte[0]));
        List<Message> snaps = ofType(p.drain(), MessageType.SNAP, 2);
        assertEquals(1, snaps.size());
        assertEquals(4, snaps.get(0).snapshot().index());
        assertEquals(ProgressState.SNAPSHOT, progress(p, 2).state());
        assertEquals(4, progress(p, 2).pendingSnapshot());
        p.node.propose(bytes("more"));
        assertTrue(ofType(p.drain(), MessageType.APP, 2).isEmpty(), "paused while the snapshot is in flight");

        p.node.reportSnapshot(2, true);
        assertEquals(ProgressState.PROBE, progress(p, 2).state());
        assertEquals(0, progress(p, 2).pendingSnapshot());
        p.node.step(heartbeatResp(2, 1, 1, new byte[0]));
        assertEquals(1, ofType(p.drain(), MessageType.SNAP, 2).size(), "retried after the failure");

        p.node.reportSnapshot(2, false);
        assertEquals(ProgressState.PROBE, progress(p, 2).state());
        assertEquals(5, progress(p, 2).next(), "after a successful send, probe right after the snapshot");
    }

    @Test
    void restartRecoversHardStateSnapshotAndLogFromStorage() {
        MemoryLogStorage s = MemoryLogStorage.withVoters(1, 2, 3);
        s.applySnapshot(new Snapshot(5, 2, conf(ids(1, 2, 3)), bytes("s5")));
        s.append(List.of(Entry.normal(2, 6, bytes("6")), Entry.normal(3, 7, bytes("7")), Entry.normal(3, 8, bytes("8"))));
        s.setHardState(new HardState(3, 2, 7));
        Peer p = new Peer(1, s, new Opts());
        Status st = p.status();
        assertEquals(new HardState(3, 2, 7), st.hardState());
        assertEquals(5, st.applied());
        assertEquals(8, st.lastIndex());
        assertEquals(StateRole.FOLLOWER, p.role());
        assertEquals(Set.of(1L, 2L, 3L), st.confState().voters());
        p.drain();
        Ready rd = p.readies.get(0);
        assertNull(rd.hardState(), "nothing new to persist");
        assertNull(rd.snapshot());
        assertTrue(rd.entries().isEmpty());
        assertArrayEquals(new long[] {6, 7}, indexesOf(p.applied), "committed but unapplied entries are replayed");

        Opts o = new Opts();
        o.applied = 6;
        Peer q = new Peer(1, s, o);
        q.drain();
        assertArrayEquals(new long[] {7}, indexesOf(q.applied), "Config.applied skips what the state machine has");

        // The restarted node's vote of term 3 still binds it.
        q.node.step(vote(3, 1, 3, 8, 3));
        assertTrue(ofType(q.drain(), MessageType.VOTE_RESP).get(0).reject());
    }

    /**
     * A leader counts itself towards a majority only for entries it has persisted. Right after it
     * installed (but has not yet persisted) a snapshot, its durable log is the old storage, whose
     * stale tail must not count: here node 1's storage still holds 20 old entries when it wins.
     */
    @Test
    void leaderDoesNotCountItsOwnUnpersistedLogRightAfterInstallingASnapshot() {
        long[] old = new long[20];
        Arrays.fill(old, 1);
        Peer p = peerWithLog(1, new Opts(), ids(1, 2, 3), old, new HardState(1, 0, 0));
        p.node.step(msg(MessageType.SNAP, 2, 1, 2).snapshot(new Snapshot(10, 2, conf(ids(1, 2, 3)), null)).build());
        // The application has not processed this Ready yet: the snapshot is not durable.
        p.node.campaign();
        if (p.role() == StateRole.FOLLOWER) return; // etcd: not promotable while a snapshot is pending
        p.node.step(RaftPaperTest.voteResp(3, 1, 3, false));
        assertEquals(StateRole.LEADER, p.role());
        assertEquals(11, p.status().lastIndex());
        p.node.step(appResp(3, 1, 3, 11));
        assertTrue(p.commit() <= 10, "entry 11 is durable on node 3 only, yet commit is " + p.commit());
    }

    /** etcd: a node is not promotable while a received snapshot is still pending (raft.promotable). */
    @Test
    void nodeDoesNotCampaignWhileAReceivedSnapshotIsNotYetPersisted() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        p.node.step(msg(MessageType.SNAP, 2, 1, 2).snapshot(new Snapshot(10, 2, conf(ids(1, 2, 3)), null)).build());
        p.node.campaign();
        assertEquals(StateRole.FOLLOWER, p.role());
        p.drain();
        p.node.campaign();
        assertEquals(StateRole.CANDIDATE, p.role(), "once persisted it may campaign");
    }

    // ================================================================== Bounds and flow control

    @Test
    void uncommittedLogIsBoundedAndFreedByCommit() {
        Opts o = new Opts();
        o.maxUncommittedBytes = 100;
        Peer p = peer(1, o, ids(1, 2));
        elect(p);
        ackAll(p, 2);
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(new byte[60]));
        assertEquals(ProposalResult.DROPPED_UNCOMMITTED_LIMIT, p.node.propose(new byte[60]));
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(new byte[40]), "exactly at the limit is fine");
        assertEquals(ProposalResult.DROPPED_UNCOMMITTED_LIMIT, p.node.propose(new byte[1]));
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(new byte[0]), "empty entries are never refused");
        assertEquals(ProposalResult.DROPPED_UNCOMMITTED_LIMIT, p.node.proposeBatch(List.of(new byte[1], new byte[1])));
        long last = p.status().lastIndex();
        assertEquals(4, last);
        p.drain();
        p.node.step(appResp(2, 1, 1, last));
        p.drain();
        assertEquals(last, p.commit());
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(new byte[60]), "commit frees the budget");
        assertEquals(ProposalResult.ACCEPTED, p.node.propose(new byte[40]));

        Peer q = peer(1, o, ids(1, 2));
        elect(q);
        assertEquals(ProposalResult.ACCEPTED, q.node.propose(new byte[500]), "one oversized entry is admitted when nothing is pending");
        assertEquals(ProposalResult.DROPPED_UNCOMMITTED_LIMIT, q.node.propose(new byte[1]));
    }

    @Test
    void inflightWindowIsBoundedByMessageCount() {
        Opts o = new Opts();
        o.maxInflight = 2;
        Peer p = peer(1, o, ids(1, 2));
        elect(p);
        ackAll(p, 2);
        List<Message> apps = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            p.node.propose(bytes("e" + i));
            apps.addAll(ofType(p.drain(), MessageType.APP, 2));
        }
        assertEquals(2, apps.size(), "window of 2 messages");
        assertEquals(2, progress(p, 2).inflight());
        p.node.step(appResp(2, 1, 1, 2));
        List<Message> more = ofType(p.drain(), MessageType.APP, 2);
        assertEquals(1, more.size(), "one slot freed, one message sent");
        assertArrayEquals(new long[] {4, 5, 6}, indexesOf(more.get(0).entries()));
        assertEquals(2, progress(p, 2).inflight());
    }

    @Test
    void inflightWindowIsBoundedByBytes() {
        Opts o = new Opts();
        o.maxInflightBytes = 2 * (10 + Entry.OVERHEAD_BYTES);
        Peer p = peer(1, o, ids(1, 2));
        elect(p);
        ackAll(p, 2);
        int sent = 0;
        for (int i = 0; i < 5; i++) {
            p.node.propose(new byte[10]);
            sent += ofType(p.drain(), MessageType.APP, 2).size();
        }
        assertEquals(2, sent);
    }

    /**
     * If every append in a full window is lost, the leader must still resume (etcd frees a slot on a
     * heartbeat response; newer etcd un-pauses the flow), otherwise the follower never catches up.
     * Regression test: c1105fb stayed paused forever here; 7ce7c08 frees a slot on heartbeat response.
     */
    @Test
    void fullInflightWindowRecoversWhenItsAppendsAreLost() {
        Opts o = new Opts();
        o.maxInflight = 1;
        Net net = new Net(o, 1, 2);
        net.campaign(1);
        boolean[] dropped = {false};
        net.drop = m -> {
            if (!dropped[0] && m.type() == MessageType.APP && !m.entries().isEmpty()) {
                dropped[0] = true;
                return true;
            }
            return false;
        };
        net.get(1).node.propose(bytes("a"));
        net.get(1).node.propose(bytes("b"));
        net.stabilize();
        assertTrue(dropped[0]);
        net.tickAll(5);
        assertEquals(net.get(1).status().lastIndex(), net.get(2).status().lastIndex(), "follower never caught up");
        assertEquals(net.get(1).status().lastIndex(), net.get(1).commit());
    }

    @Test
    void appendMessagesRespectTheMaxMessageSize() {
        Opts o = new Opts();
        o.maxMsgBytes = 150; // two 40-byte entries (64 bytes with overhead) fit, three do not
        Peer p = peer(1, o, ids(1, 2));
        elect(p);
        for (int i = 0; i < 5; i++) p.node.propose(new byte[40]);
        p.node.propose(new byte[500]);
        p.drain();
        p.node.step(appResp(2, 1, 1, 1));
        List<Message> apps = ofType(p.drain(), MessageType.APP, 2);
        List<Long> sentIndexes = new ArrayList<>();
        for (Message m : apps) {
            assertFalse(m.entries().isEmpty());
            if (m.entries().size() > 1) assertTrue(m.entriesBytes() <= 150, "message of " + m.entriesBytes() + " bytes");
            for (Entry e : m.entries()) sentIndexes.add(e.index());
        }
        assertEquals(List.of(2L, 3L, 4L, 5L, 6L, 7L), sentIndexes);
        Message last = apps.get(apps.size() - 1);
        assertEquals(1, last.entries().size(), "an oversized entry travels alone");
        assertEquals(500, last.entries().get(0).data().length);
    }

    @Test
    void committedEntriesPerReadyAreBoundedByBytes() {
        Opts o = new Opts();
        o.maxApplyBytes = 100;
        Peer f = peer(2, o, ids(1, 2, 3));
        List<Entry> es = new ArrayList<>();
        for (int i = 1; i <= 5; i++) es.add(Entry.normal(1, i, new byte[40]));
        f.node.step(app(1, 2, 1, 0, 0, 5, es));
        f.drain();
        int readiesWithEntries = 0;
        for (Ready rd : f.readies) {
            if (rd.committedEntries().isEmpty()) continue;
            readiesWithEntries++;
            assertEquals(1, rd.committedEntries().size(), "64+64 bytes exceed 100");
        }
        assertEquals(5, readiesWithEntries);
        assertArrayEquals(new long[] {1, 2, 3, 4, 5}, indexesOf(f.applied));
    }

    @Test
    void heartbeatsNeverTellAFollowerToCommitBeyondWhatItIsKnownToHold() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2);
        assertEquals(1, p.commit());
        p.node.tick();
        List<Message> hbs = ofType(p.drain(), MessageType.HEARTBEAT);
        for (Message h : hbs) assertEquals(h.to() == 2 ? 1 : 0, h.commit(), "heartbeat to " + h.to());
    }

    @Test
    void unreachableFollowerIsSentBackToProbing() {
        Peer p = peer(1, new Opts(), ids(1, 2, 3));
        elect(p);
        ackAll(p, 2, 3);
        assertEquals(ProgressState.REPLICATE, progress(p, 2).state());
        p.node.reportUnreachable(2);
        assertEquals(ProgressState.PROBE, progress(p, 2).state());
        assertEquals(2, progress(p, 2).next());
    }

    /**
     * Fast backtracking (thesis §5.3 optimisation, etcd's rejectHint/logTerm): one rejection is enough
     * to skip a whole run of conflicting terms, whichever side has the higher terms.
     */
    @Test
    void fastBacktrackingFindsTheDivergencePointInOneRejection() {
        record Case(long[] leader, long leaderTerm, long[] follower, long followerTerm) {}
        List<Case> cases = List.of(
                new Case(new long[] {1, 2, 2, 4, 4, 4, 4}, 4, new long[] {1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}, 4),
                new Case(new long[] {1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}, 5, new long[] {1, 2, 2, 4, 4, 4, 4}, 4),
                new Case(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, new long[] {1}, 1));
        for (Case c : cases) {
            Opts o = new Opts();
            Net net = new Net();
            net.add(peerWithLog(1, o, ids(1, 2, 3), c.leader, new HardState(c.leaderTerm, 0, 1)));
            net.add(peerWithLog(2, o, ids(1, 2, 3), c.follower, new HardState(c.followerTerm, 0, 1)));
            net.add(peerWithLog(3, o, ids(1, 2, 3), new long[] {1}, new HardState(c.leaderTerm, 0, 1)));
            net.campaign(1);
            String what = Arrays.toString(c.leader) + " vs " + Arrays.toString(c.follower);
            assertEquals(StateRole.LEADER, net.get(1).role(), what);
            long rejections = net.deliveredOf(MessageType.APP_RESP).stream().filter(m -> m.from() == 2 && m.reject()).count();
            assertTrue(rejections <= 1, what + ": " + rejections + " rejections");
            assertArrayEquals(termsOf(net.get(1).log()), termsOf(net.get(2).log()), what);
        }
    }

    /** The follower's hint and the leader's next probe for etcd's worked example. */
    @Test
    void rejectionHintNamesTheLastIndexWhoseTermCouldMatch() {
        // follower: 1 2 2 3 3 3 3 3 3 3 3; leader probes at 4/7
        Peer f = peerWithLog(2, new Opts(), ids(1, 2, 3), new long[] {1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}, new HardState(4, 0, 1));
        f.node.step(app(1, 2, 5, 7, 4, 1, List.of(Entry.normal(5, 8, null))));
        Message r = ofType(f.drain(), MessageType.APP_RESP).get(0);
        assertTrue(r.reject());
        assertEquals(7, r.index());
        assertEquals(7, r.rejectHint());
        assertEquals(3, r.logTerm());

        // leader: 1 2 2 4 4 4 4 -> skips its term-4 run and probes at 2/3
        Peer l = peerWithLog(1, new Opts(), ids(1, 2, 3), new long[] {1, 2, 2, 4, 4, 4, 4}, new HardState(4, 0, 1));
        elect(l);
        l.node.step(r.toBuilder().to(1).from(2).term(l.term()).build());
        List<Message> probes = ofType(l.drain(), MessageType.APP, 2);
        assertEquals(1, probes.size());
        assertEquals(3, probes.get(0).index());
        assertEquals(2, probes.get(0).logTerm());
    }
}
