package io.quorumlab.raft;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * An in-memory cluster of RawNodes for tests: durable {@link MemoryLogStorage} per node, a message
 * pool between them, partitions, restarts, and a checksum state machine that the safety checks read.
 * Deterministic: every choice is made by the caller (or by a seeded random in the randomized test).
 */
final class RaftCluster {

    /** One node: its durable storage survives {@link #restart}; everything else is volatile. */
    final class Node {
        final long id;
        final MemoryLogStorage storage;
        RawNode raw;
        /** Applied state: index of the last applied entry and a hash chained over every applied entry. */
        long appliedIndex;
        long appliedHash;
        ConfState confState = ConfState.EMPTY;
        final List<ReadState> readStates = new ArrayList<>();
        final List<String> appliedData = new ArrayList<>();
        boolean down;
        long seed;
        long recordedCommit;

        Node(long id, MemoryLogStorage storage, long seed) {
            this.id = id;
            this.storage = storage;
            this.seed = seed;
            start();
        }

        void start() {
            Snapshot snap = storage.snapshot();
            appliedIndex = snap.index();
            restoreState(this, snap);
            Config c = configurer.apply(Config.defaults(id, storage, new SplittableRandom(seed)))
                    .withApplied(snap.index());
            raw = new RawNode(c);
            down = false;
        }

        Raft raft() {
            return rawRaft(raw);
        }
    }

    final TreeMap<Long, Node> nodes = new TreeMap<>();
    /** Messages sent and not yet delivered, in send order. */
    final List<Message> pool = new ArrayList<>();
    /** Pairs (from, to) whose messages are dropped. */
    private final Set<Long> cut = new HashSet<>();
    private UnaryOperator<Config> configurer = c -> c;
    /** Every entry applied anywhere: index -> chained hash after applying it. State-machine safety. */
    final TreeMap<Long, Long> appliedHashAt = new TreeMap<>();
    /** Every commit any node has acknowledged: index -> term (leader completeness). */
    final TreeMap<Long, Long> committedTerms = new TreeMap<>();
    /** index -> lowest term in which some node knew the entry was committed. */
    final TreeMap<Long, Long> committedInTerm = new TreeMap<>();
    /** term -> leader seen in that term (election safety). */
    final TreeMap<Long, Long> leaderOfTerm = new TreeMap<>();
    final StringBuilder log = new StringBuilder();
    boolean logging;

    static Raft rawRaft(RawNode n) {
        try {
            var f = RawNode.class.getDeclaredField("raft");
            f.setAccessible(true);
            return (Raft) f.get(n);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    void configure(UnaryOperator<Config> c) {
        this.configurer = c;
    }

    Node add(long id, MemoryLogStorage storage, long seed) {
        Node n = new Node(id, storage, seed);
        nodes.put(id, n);
        return n;
    }

    /** A fresh cluster of voters 1..n, bootstrapped as etcd does (conf-change entries at term 1). */
    static RaftCluster ofVoters(int n, UnaryOperator<Config> configurer, long seed) {
        RaftCluster c = new RaftCluster();
        c.configure(configurer);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = i + 1;
        for (long id : ids) c.add(id, MemoryLogStorage.bootstrap(ids), seed * 31 + id);
        return c;
    }

    Node node(long id) {
        Node n = nodes.get(id);
        if (n == null) throw new IllegalArgumentException("no node " + id);
        return n;
    }

    // ------------------------------------------------------------------ the Ready loop

    /** Handles one Ready of node {@code id} the way a member does; returns it (or null if none). */
    Ready processReady(long id) {
        Node n = node(id);
        if (n.down || !n.raw.hasReady()) return null;
        Ready rd = n.raw.ready();
        if (rd.snapshot() != null) {
            n.storage.applySnapshot(rd.snapshot());
            n.appliedIndex = rd.snapshot().index();
            restoreState(n, rd.snapshot());
            checkAppliedHash(n);
        }
        n.storage.append(rd.entries());
        if (rd.hardState() != null) n.storage.setHardState(rd.hardState());
        for (Message m : rd.messages()) send(m);
        for (Entry e : rd.committedEntries()) apply(n, e);
        n.readStates.addAll(rd.readStates());
        if (rd.hardState() != null) {
            long commit = rd.hardState().commit();
            for (long k = Math.max(n.recordedCommit + 1, n.storage.firstIndex()); k <= commit; k++) {
                long t = n.storage.term(k);
                committedInTerm.merge(k, rd.hardState().term(), Math::min);
                Long prev = committedTerms.putIfAbsent(k, t);
                if (prev != null && prev != t) {
                    throw new AssertionError("state machine safety: index " + k + " committed with term "
                            + prev + " and " + t + " (node " + id + ")");
                }
            }
            n.recordedCommit = Math.max(n.recordedCommit, commit);
        }
        n.raw.advance(rd);
        if (n.raw.role() == StateRole.LEADER) checkLeader(n);
        return rd;
    }

    /** The state machine restored from a snapshot: its hash chain and the data applied so far. */
    private static void restoreState(Node n, Snapshot snap) {
        n.confState = snap.confState();
        n.appliedData.clear();
        if (snap.data().length < 8) {
            n.appliedHash = 0;
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(snap.data());
        n.appliedHash = b.getLong();
        String rest = new String(snap.data(), 8, snap.data().length - 8, java.nio.charset.StandardCharsets.UTF_8);
        if (!rest.isEmpty()) n.appliedData.addAll(List.of(rest.split("\n")));
    }

    private void apply(Node n, Entry e) {
        if (e.index() <= n.appliedIndex) {
            throw new AssertionError("node " + n.id + " applied index " + e.index() + " twice (applied " + n.appliedIndex + ")");
        }
        if (e.index() != n.appliedIndex + 1) {
            throw new AssertionError("node " + n.id + " skipped from " + n.appliedIndex + " to " + e.index());
        }
        if (e.type() == EntryType.CONF_CHANGE) {
            n.confState = n.raw.applyConfChange(ConfChange.decode(e.data()));
        } else if (e.data().length > 0) {
            n.appliedData.add(new String(e.data()));
        }
        n.appliedIndex = e.index();
        n.appliedHash = n.appliedHash * 1_000_003L + e.term() * 31 + Arrays.hashCode(e.data()) + e.type().ordinal();
        checkAppliedHash(n);
    }

    private void checkAppliedHash(Node n) {
        Long prev = appliedHashAt.putIfAbsent(n.appliedIndex, n.appliedHash);
        if (prev != null && prev != n.appliedHash) {
            throw new AssertionError("state machine safety: node " + n.id + " state at index " + n.appliedIndex
                    + " differs from another node's");
        }
    }

    /** Election safety and leader completeness, checked whenever a node is leader. */
    private void checkLeader(Node n) {
        Raft r = n.raft();
        Long prev = leaderOfTerm.putIfAbsent(r.term, n.id);
        if (prev != null && prev != n.id) {
            throw new AssertionError("election safety: term " + r.term + " has leaders " + prev + " and " + n.id);
        }
        long first = r.raftLog.firstIndex();
        for (Map.Entry<Long, Long> c : committedTerms.tailMap(first, true).entrySet()) {
            // Only entries committed before this leader's term must be in its log (Raft §5.4.3).
            if (committedInTerm.get(c.getKey()) >= r.term) continue;
            long t = r.raftLog.term(c.getKey());
            if (t != c.getValue()) {
                throw new AssertionError("leader completeness: leader " + n.id + " of term " + r.term + " has term " + t
                        + " at committed index " + c.getKey() + " (committed with term " + c.getValue() + ")");
            }
        }
    }

    /** Log matching: if two logs hold an entry with the same index and term, they agree up to it. */
    void checkLogMatching() {
        List<Node> live = new ArrayList<>(nodes.values());
        for (int i = 0; i < live.size(); i++) {
            for (int j = i + 1; j < live.size(); j++) {
                RaftLog a = live.get(i).raft().raftLog, b = live.get(j).raft().raftLog;
                long lo = Math.max(a.firstIndex(), b.firstIndex());
                long hi = Math.min(a.lastIndex(), b.lastIndex());
                long top = -1;
                for (long k = hi; k >= lo; k--) {
                    if (a.term(k) == b.term(k)) {
                        top = k;
                        break;
                    }
                }
                for (long k = lo; k <= top; k++) {
                    Entry ea = a.slice(k, k + 1, Long.MAX_VALUE).get(0);
                    Entry eb = b.slice(k, k + 1, Long.MAX_VALUE).get(0);
                    if (!ea.equals(eb)) {
                        throw new AssertionError("log matching: nodes " + live.get(i).id + " and " + live.get(j).id
                                + " agree at " + top + " but differ at " + k + ": " + ea + " vs " + eb);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ network

    void send(Message m) {
        if (logging) log.append("  send ").append(m).append('\n');
        pool.add(m);
    }

    boolean isCut(long from, long to) {
        return cut.contains(from * 1_000_000 + to);
    }

    void cut(long from, long to) {
        cut.add(from * 1_000_000 + to);
    }

    /** Splits the cluster: nodes in {@code group} can talk only among themselves. */
    void partition(Set<Long> group) {
        for (long a : nodes.keySet()) {
            for (long b : nodes.keySet()) {
                if (group.contains(a) != group.contains(b)) cut(a, b);
            }
        }
    }

    void isolate(long id) {
        partition(Set.of(id));
    }

    void heal() {
        cut.clear();
    }

    /** Delivers one message (dropping it if its link is cut or either end is down). */
    void deliver(Message m) {
        Node to = nodes.get(m.to());
        Node from = nodes.get(m.from());
        if (to == null || to.down || (from != null && from.down) || isCut(m.from(), m.to())) {
            drop(m);
            return;
        }
        to.raw.step(m);
        // Like a real transport, the sender learns how its snapshot stream ended.
        if (m.type() == MessageType.SNAP && from != null && !from.down) from.raw.reportSnapshot(m.to(), false);
    }

    /** A message lost in the network; a lost snapshot stream is reported to its sender. */
    void drop(Message m) {
        Node from = nodes.get(m.from());
        if (m.type() == MessageType.SNAP && from != null && !from.down) from.raw.reportSnapshot(m.to(), true);
    }

    /** Delivers every pooled message addressed to {@code id} (or all, if id is 0); returns how many. */
    int deliverAll(long id) {
        List<Message> batch = new ArrayList<>();
        for (var it = pool.iterator(); it.hasNext(); ) {
            Message m = it.next();
            if (id == 0 || m.to() == id) {
                batch.add(m);
                it.remove();
            }
        }
        for (Message m : batch) deliver(m);
        return batch.size();
    }

    /** Runs Ready loops and deliveries until nothing moves. */
    void stabilize() {
        for (int round = 0; round < 10_000; round++) {
            boolean moved = false;
            for (long id : nodes.keySet()) {
                while (processReady(id) != null) moved = true;
            }
            if (deliverAll(0) > 0) moved = true;
            if (!moved) return;
        }
        throw new AssertionError("cluster did not stabilize in 10000 rounds");
    }

    void tick(long id, int n) {
        Node node = node(id);
        if (node.down) return;
        for (int i = 0; i < n; i++) node.raw.tick();
    }

    /** Crash: volatile state is lost, storage (everything persisted through Ready) survives. */
    void crash(long id) {
        Node n = node(id);
        n.down = true;
        for (var it = pool.iterator(); it.hasNext(); ) {
            Message m = it.next();
            if (m.to() == id || m.from() == id) {
                it.remove();
                drop(m);
            }
        }
    }

    void restart(long id) {
        Node n = node(id);
        n.seed = n.seed * 7 + 1;
        n.start();
    }

    /** Takes a snapshot of node {@code id}'s applied state and compacts its log up to it. */
    void compact(long id) {
        Node n = node(id);
        if (n.appliedIndex <= n.storage.snapshot().index()) return;
        byte[] payload = String.join("\n", n.appliedData).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] data = ByteBuffer.allocate(8 + payload.length).putLong(n.appliedHash).put(payload).array();
        n.storage.createSnapshot(n.appliedIndex, n.confState, data);
        n.storage.compact(n.appliedIndex);
    }

    long leader() {
        long lead = 0;
        long bestTerm = -1;
        for (Node n : nodes.values()) {
            if (!n.down && n.raw.role() == StateRole.LEADER && n.raft().term > bestTerm) {
                lead = n.id;
                bestTerm = n.raft().term;
            }
        }
        return lead;
    }
}
