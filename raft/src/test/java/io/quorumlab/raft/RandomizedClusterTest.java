package io.quorumlab.raft;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Random interleavings of everything the network and the operator can do to 3-, 5- and 7-node
 * clusters, with Raft's safety properties checked after every step and liveness once faults heal.
 * Seeds: {@code -Draft.random.seeds=N} runs N (default 1000); {@code -Draft.seed=S -Draft.nodes=K}
 * replays one. A failure prints the seed and the command that replays it.
 */
class RandomizedClusterTest {
    private static final int STEPS = 1500;

    @TestFactory
    Stream<DynamicTest> randomizedClusters() {
        String one = System.getProperty("raft.seed");
        if (one != null) {
            int nodes = Integer.getInteger("raft.nodes", 3);
            long seed = Long.parseLong(one);
            return Stream.of(DynamicTest.dynamicTest("seed " + seed + " nodes " + nodes, () -> runSeed(seed, nodes)));
        }
        int seeds = Integer.getInteger("raft.random.seeds", 1000);
        int[] sizes = {3, 5, 7};
        return LongStream.range(0, seeds).mapToObj(seed -> {
            int nodes = sizes[(int) (seed % sizes.length)];
            return DynamicTest.dynamicTest("seed " + seed + " nodes " + nodes, () -> runSeed(seed, nodes));
        });
    }

    static void runSeed(long seed, int nodes) {
        try {
            new Run(seed, nodes).execute();
        } catch (Throwable t) {
            throw new AssertionError("randomized cluster failed: seed=" + seed + " nodes=" + nodes + "\n  replay: mvn -pl raft test "
                    + "-Dtest=RandomizedClusterTest -Draft.seed=" + seed + " -Draft.nodes=" + nodes + "\n  cause: " + t, t);
        }
    }

    private static final class Run {
        final long seed;
        final int size;
        final SplittableRandom rnd;
        final RaftCluster c;
        final boolean safeReads;
        final List<Long> spares = new ArrayList<>();
        final Set<Long> removed = new HashSet<>();
        /** read context -> highest commit acknowledged anywhere when the read was issued. */
        final Map<String, Long> readIssuedAt = new HashMap<>();
        int proposals;
        int reads;
        int readsChecked;
        int confChanges;

        Run(long seed, int size) {
            this.seed = seed;
            this.size = size;
            this.rnd = new SplittableRandom(seed);
            boolean checkQuorum = rnd.nextBoolean();
            boolean preVote = rnd.nextBoolean();
            ReadOnlyOption readOpt = checkQuorum && rnd.nextInt(4) == 0 ? ReadOnlyOption.LEASE_BASED : ReadOnlyOption.SAFE;
            // Lease reads trust bounded clock drift, which random ticking does not give: only safe reads are checked.
            this.safeReads = readOpt == ReadOnlyOption.SAFE;
            long maxMsg = rnd.nextBoolean() ? 1 << 20 : 100;
            int inflight = 1 + rnd.nextInt(8);
            long inflightBytes = rnd.nextBoolean() ? 0 : 300;
            long uncommitted = rnd.nextBoolean() ? 1L << 30 : 200;
            this.c = RaftCluster.ofVoters(size, cfg -> cfg.withFlags(checkQuorum, preVote, readOpt)
                    .withLimits(maxMsg, inflight, inflightBytes, uncommitted), seed);
            for (int i = 1; i <= 2; i++) {
                long id = size + i;
                spares.add(id);
                c.add(id, new MemoryLogStorage(), seed * 131 + id);
            }
        }

        void execute() {
            for (int step = 0; step < STEPS; step++) {
                randomStep();
                if (step % 25 == 0) c.checkLogMatching();
                checkReads();
            }
            c.checkLogMatching();
            liveness();
            c.checkLogMatching();
            checkReads();
            if (Boolean.getBoolean("raft.verbose")) {
                System.out.printf("seed=%d nodes=%d terms-with-leader=%d committed=%d reads-checked=%d confchanges=%d removed=%s%n",
                        seed, size, c.leaderOfTerm.size(), highestCommit(), readsChecked, confChanges, removed);
            }
        }

        long randomNode() {
            List<Long> ids = new ArrayList<>(c.nodes.keySet());
            return ids.get(rnd.nextInt(ids.size()));
        }

        long highestCommit() {
            return c.committedTerms.isEmpty() ? 0 : c.committedTerms.lastKey();
        }

        void randomStep() {
            int r = rnd.nextInt(1000);
            if (r < 300) {
                // Time passes for everyone, with drift: some nodes miss a tick.
                for (RaftCluster.Node n : c.nodes.values()) if (rnd.nextInt(10) != 0) c.tick(n.id, 1);
            } else if (r < 500) {
                for (long id : c.nodes.keySet()) if (rnd.nextInt(4) != 0) c.processReady(id);
            } else if (r < 700) {
                int k = 1 + rnd.nextInt(c.pool.size() / 2 + 1);
                for (int i = 0; i < k && !c.pool.isEmpty(); i++) c.deliver(c.pool.remove(rnd.nextInt(c.pool.size())));
            } else if (r < 730) {
                if (!c.pool.isEmpty()) c.drop(c.pool.remove(rnd.nextInt(c.pool.size())));
            } else if (r < 750) {
                if (!c.pool.isEmpty()) c.pool.add(c.pool.get(rnd.nextInt(c.pool.size())));
            } else if (r < 850) {
                RaftCluster.Node n = c.node(randomNode());
                if (!n.down) n.raw.propose(("v" + (proposals++)).getBytes(StandardCharsets.UTF_8));
            } else if (r < 865) {
                Set<Long> group = new HashSet<>();
                for (long id : c.nodes.keySet()) if (rnd.nextBoolean()) group.add(id);
                c.heal();
                c.partition(group);
            } else if (r < 885) {
                c.heal();
            } else if (r < 895) {
                long id = randomNode();
                if (!c.node(id).down) c.crash(id);
            } else if (r < 915) {
                for (RaftCluster.Node n : c.nodes.values()) {
                    if (n.down && rnd.nextBoolean()) c.restart(n.id);
                }
            } else if (r < 945) {
                confChange();
            } else if (r < 960) {
                long lead = c.leader();
                if (lead != 0) c.node(lead).raw.transferLeadership(randomNode());
            } else if (r < 990) {
                RaftCluster.Node n = c.node(randomNode());
                if (!n.down) {
                    String ctx = "r" + (reads++);
                    readIssuedAt.put(ctx, highestCommit());
                    n.raw.readIndex(ctx.getBytes(StandardCharsets.UTF_8));
                }
            } else {
                RaftCluster.Node n = c.node(randomNode());
                if (!n.down) c.compact(n.id);
            }
        }

        void confChange() {
            long lead = c.leader();
            if (lead == 0) return;
            RaftCluster.Node leader = c.node(lead);
            ConfState cs = leader.raw.status().confState();
            int k = rnd.nextInt(3);
            ConfChange cc = null;
            if (k == 0) {
                for (long s : spares) {
                    if (!cs.contains(s) && !removed.contains(s)) {
                        cc = ConfChange.of(rnd.nextBoolean() ? ConfChangeType.ADD_LEARNER_NODE : ConfChangeType.ADD_NODE, s);
                        break;
                    }
                }
            } else if (k == 1) {
                if (!cs.learners().isEmpty()) cc = ConfChange.of(ConfChangeType.ADD_NODE, cs.learners().iterator().next());
            } else if (cs.voters().size() > 3) {
                List<Long> vs = new ArrayList<>(cs.voters());
                cc = ConfChange.of(ConfChangeType.REMOVE_NODE, vs.get(rnd.nextInt(vs.size())));
            }
            if (cc == null) return;
            boolean accepted = !leader.raw.proposeConfChange(cc).dropped();
            if (accepted) confChanges++;
            if (accepted && cc.type() == ConfChangeType.REMOVE_NODE) {
                // Ids are never reused: once proposed, the node may be gone for good.
                removed.add(cc.nodeId());
            }
        }

        void checkReads() {
            if (!safeReads) {
                for (RaftCluster.Node n : c.nodes.values()) n.readStates.clear();
                return;
            }
            for (RaftCluster.Node n : c.nodes.values()) {
                for (ReadState rs : n.readStates) {
                    String ctx = new String(rs.context(), StandardCharsets.UTF_8);
                    Long issued = readIssuedAt.get(ctx);
                    if (issued == null) throw new AssertionError("read state for unknown context " + ctx);
                    readsChecked++;
                    if (rs.index() < issued) {
                        throw new AssertionError("linearizable read " + ctx + " on node " + n.id + " got index " + rs.index()
                                + " but index " + issued + " was committed before it was issued");
                    }
                }
                n.readStates.clear();
            }
        }

        /** Heal everything; the current members must elect a leader and commit a new entry everywhere. */
        void liveness() {
            c.heal();
            for (RaftCluster.Node n : c.nodes.values()) if (n.down) c.restart(n.id);
            for (int round = 0; round < 400; round++) {
                settle();
                ConfState members = currentMembers();
                // Nodes outside the membership may never learn they were removed; keep them out of the way.
                for (RaftCluster.Node n : c.nodes.values()) {
                    if (!members.contains(n.id) && !n.down && (removed.contains(n.id) || !spares.contains(n.id))) c.crash(n.id);
                }
                long lead = c.leader();
                if (lead != 0 && members.voters().contains(lead)) {
                    byte[] marker = ("live-" + seed).getBytes(StandardCharsets.UTF_8);
                    RaftCluster.Node leader = c.node(lead);
                    if (!leader.appliedData.contains("live-" + seed) && !leader.raw.propose(marker).dropped()) {
                        settle();
                    }
                    boolean all = true;
                    for (long v : members.voters()) {
                        if (!c.node(v).appliedData.contains("live-" + seed)) all = false;
                    }
                    if (all) return;
                }
                for (RaftCluster.Node n : c.nodes.values()) c.tick(n.id, 1);
            }
            StringBuilder sb = new StringBuilder("no progress after healing: leader=" + c.leader());
            for (RaftCluster.Node n : c.nodes.values()) sb.append("\n  ").append(n.id).append(": ").append(n.raw.status());
            throw new AssertionError(sb.toString());
        }

        void settle() {
            for (int i = 0; i < 50; i++) {
                boolean moved = false;
                for (long id : c.nodes.keySet()) while (c.processReady(id) != null) moved = true;
                if (c.deliverAll(0) > 0) moved = true;
                if (!moved) return;
            }
        }

        ConfState currentMembers() {
            RaftCluster.Node best = null;
            for (RaftCluster.Node n : c.nodes.values()) {
                if (best == null || n.appliedIndex > best.appliedIndex) best = n;
            }
            return best.confState;
        }
    }
}
