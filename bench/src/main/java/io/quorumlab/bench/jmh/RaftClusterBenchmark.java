package io.quorumlab.bench.jmh;

import io.quorumlab.raft.Config;
import io.quorumlab.raft.Entry;
import io.quorumlab.raft.MemoryLogStorage;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.ProposalResult;
import io.quorumlab.raft.RawNode;
import io.quorumlab.raft.Ready;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A 3-node Raft cluster in one thread, no I/O: the leader proposes a batch of 128-byte entries,
 * messages move between nodes until the batch is committed on the leader. Measures Raft's own cost
 * per committed entry (score = entries/s). Run: {@code quorumlab bench jmh RaftClusterBenchmark -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RaftClusterBenchmark {
    static final int BATCH = 1000;

    @Param({"128"})
    int entryBytes;

    private RawNode[] nodes;
    private MemoryLogStorage[] storages;
    private final List<Message> inflight = new ArrayList<>();
    private final List<Message> next = new ArrayList<>();
    private List<byte[]> batch;
    private long committed;

    @Setup(Level.Trial)
    public void setup() {
        nodes = new RawNode[3];
        storages = new MemoryLogStorage[3];
        for (int i = 0; i < 3; i++) {
            storages[i] = MemoryLogStorage.bootstrap(1, 2, 3);
            nodes[i] = new RawNode(Config.defaults(i + 1, storages[i], new SplittableRandom(i)));
        }
        batch = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) batch.add(new byte[entryBytes]);
        pump(); // apply the bootstrap membership
        nodes[0].campaign();
        pump();
        if (nodes[0].leader() != 1) throw new IllegalStateException("node 1 did not become leader");
    }

    /** Runs every node's Ready loop and delivers messages until the cluster is quiet. */
    private void pump() {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (int i = 0; i < 3; i++) {
                RawNode n = nodes[i];
                while (n.hasReady()) {
                    moved = true;
                    Ready rd = n.ready();
                    MemoryLogStorage s = storages[i];
                    if (rd.snapshot() != null) s.applySnapshot(rd.snapshot());
                    s.append(rd.entries());
                    if (rd.hardState() != null) s.setHardState(rd.hardState());
                    inflight.addAll(rd.messages());
                    for (Entry e : rd.committedEntries()) {
                        if (e.type() == io.quorumlab.raft.EntryType.CONF_CHANGE) {
                            n.applyConfChange(io.quorumlab.raft.ConfChange.decode(e.data()));
                        } else if (i == 0) {
                            committed++;
                        }
                    }
                    n.advance(rd);
                }
            }
            if (!inflight.isEmpty()) {
                moved = true;
                next.addAll(inflight);
                inflight.clear();
                for (Message m : next) nodes[(int) m.to() - 1].step(m);
                next.clear();
            }
        }
        // Keep memory bounded: compact everything applied on every node.
        for (int i = 0; i < 3; i++) {
            long applied = nodes[i].status().applied();
            if (applied - storages[i].firstIndex() > 100_000) {
                storages[i].createSnapshot(applied, null, new byte[0]);
                storages[i].compact(applied);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long proposeAndCommitBatch() {
        long before = committed;
        ProposalResult r = nodes[0].proposeBatch(batch);
        if (r != ProposalResult.ACCEPTED) throw new IllegalStateException("proposal " + r);
        pump();
        if (committed - before != BATCH) throw new IllegalStateException("committed " + (committed - before));
        return committed;
    }
}
