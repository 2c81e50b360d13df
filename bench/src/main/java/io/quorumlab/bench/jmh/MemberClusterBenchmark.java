package io.quorumlab.bench.jmh;

import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.member.Member;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Three real members in one JVM: the full server (WAL with fdatasync, LMDB, the Netty peer transport
 * on 127.0.0.1, the member and apply loops), proposals entering at the leader's {@link Member#propose}
 * as the gRPC layer's do. Measures the member's cost without a client or gRPC in front:
 * {@code put1} is one proposal at a time (latency-bound: score = puts/s of one client),
 * {@code put64} keeps 64 proposals in flight (batching). Run:
 * {@code quorumlab bench jmh MemberClusterBenchmark} (add {@code -prof stack} to see where threads spend time).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class MemberClusterBenchmark {
    private static final byte[] VALUE = new byte[256];

    private Path dir;
    private final List<EtcdServer> servers = new ArrayList<>();
    private Member leader;
    private long seq;

    @Setup(Level.Trial)
    public void start() throws Exception {
        dir = Files.createTempDirectory("member-bench");
        io.quorumlab.bench.InProcessCluster.start(dir, 3, servers);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (leader == null) {
            for (EtcdServer s : servers) if (s.member().leaderId() == s.member().memberId()) leader = s.member();
            if (System.nanoTime() > deadline) throw new IllegalStateException("no leader within 30 s");
            Thread.sleep(20);
        }
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        for (EtcdServer s : servers) s.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private CompletableFuture<Response> put() {
        // 10,000 distinct keys, like the load generator's default key space.
        return leader.propose(PutRequest.of(("key-" + (seq++ % 10_000)).getBytes(), VALUE));
    }

    @Benchmark
    public Response put1() throws Exception {
        return put().get(10, TimeUnit.SECONDS);
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public void put64() throws Exception {
        List<CompletableFuture<Response>> fs = new ArrayList<>(64);
        for (int i = 0; i < 64; i++) fs.add(put());
        for (CompletableFuture<Response> f : fs) f.get(10, TimeUnit.SECONDS);
    }
}
