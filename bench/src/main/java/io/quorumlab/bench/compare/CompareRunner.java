package io.quorumlab.bench.compare;

import io.quorumlab.bench.load.Driver;
import io.quorumlab.bench.load.LoadConfig;
import io.quorumlab.bench.load.LoadGenerator;
import io.quorumlab.bench.load.Progress;
import io.quorumlab.bench.load.Workload;
import io.quorumlab.bench.report.CompareReport;
import io.quorumlab.bench.report.RunResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Side-by-side runs: a fresh 3-member etcd cluster and a fresh 3-member quorumlab cluster on 127.0.0.1,
 * alternating for {@code repeat} rounds; in each, the same warm-up, then every case for {@code seconds}.
 */
public final class CompareRunner {
    /** A workload with its concurrency; {@code workload} makes a fresh instance per run. */
    public record Case(String name, Supplier<Workload> workload, int clients, int conns) {}

    /**
     * @param members members per cluster (3 in the issue; tests may use 1)
     * @param warmupSeconds unmeasured load before each case (a JIT compiles only what runs)
     * @param clusterWarmupSeconds unmeasured load on a fresh cluster before its first case (half puts, half
     *     linearizable ranges, 64 clients): a JVM member's JIT needs a minute or more of load to finish compiling
     */
    public record Options(List<String> etcdCommand, List<String> quorumlabCommand, int members, double seconds, double warmupSeconds,
                          double clusterWarmupSeconds,
                          int repeat, List<Case> cases) {
        public Options {
            if (repeat <= 0 || seconds <= 0 || warmupSeconds < 0 || clusterWarmupSeconds < 0 || members <= 0 || cases.isEmpty()) {
                throw new IllegalArgumentException("compare needs --repeat >= 1, --duration > 0, --warmup >= 0, --cluster-warmup >= 0 and a workload");
            }
        }
    }

    /** The default cases: the put/range set of docs/performance.md's runs. */
    public static Map<String, Case> knownCases() {
        Map<String, Case> m = new LinkedHashMap<>();
        m.put("put-1", new Case("put, 1 client", () -> LoadGenerator.workload(LoadGenerator.Op.PUT, 16, 256, 100_000), 1, 1));
        m.put("put-100", new Case("put, 100 clients / 10 conns", () -> LoadGenerator.workload(LoadGenerator.Op.PUT, 16, 256, 100_000), 100, 10));
        m.put("put-1000", new Case("put, 1000 clients / 100 conns", () -> LoadGenerator.workload(LoadGenerator.Op.PUT, 16, 256, 100_000), 1000, 100));
        m.put("range-l-1", new Case("range l, 1 client", () -> LoadGenerator.workload(LoadGenerator.Op.RANGE_LINEARIZABLE, 16, 256, 100_000), 1, 1));
        m.put("range-s-1", new Case("range s, 1 client", () -> LoadGenerator.workload(LoadGenerator.Op.RANGE_SERIALIZABLE, 16, 256, 100_000), 1, 1));
        m.put("range-l", new Case("range l, 100 clients", () -> LoadGenerator.workload(LoadGenerator.Op.RANGE_LINEARIZABLE, 16, 256, 100_000), 100, 10));
        m.put("range-s", new Case("range s, 100 clients", () -> LoadGenerator.workload(LoadGenerator.Op.RANGE_SERIALIZABLE, 16, 256, 100_000), 100, 10));
        m.put("txn-put", new Case("txn-put 4 ops, 100 clients", () -> io.quorumlab.bench.load.KvWorkloads.txnPut(16, 256, 100_000, 4), 100, 10));
        m.put("txn-mixed", new Case("txn-mixed rw 1, 100 clients", () -> io.quorumlab.bench.load.KvWorkloads.txnMixed(16, 256, 1000, null, 10, "l", 1), 100, 10));
        m.put("lease-keepalive", new Case("lease-keepalive, 100 clients", io.quorumlab.bench.load.LeaseKeepaliveWorkload::new, 100, 10));
        m.put("kube", new Case("kube, 16 clients", io.quorumlab.bench.load.KubeWorkload::defaults, 16, 4));
        return m;
    }

    /** Issue 5's acceptance set. */
    public static final List<String> DEFAULT_CASES = List.of("put-1", "put-100", "put-1000", "range-l-1", "range-l", "range-s-1", "range-s");

    private CompareRunner() {}

    public static CompareReport run(Options o, Consumer<String> log, Consumer<Progress> progress) throws IOException, InterruptedException {
        Map<String, List<String>> systems = new LinkedHashMap<>();
        systems.put(CompareReport.BASELINE, o.etcdCommand());
        systems.put(CompareReport.CANDIDATE, o.quorumlabCommand());
        CompareReport report = new CompareReport(o.repeat(), Instant.now().toString());
        Path base = Files.createTempDirectory("quorumlab-compare-");
        try {
            for (int round = 0; round < o.repeat(); round++) {
                for (var sys : systems.entrySet()) {
                    log.accept("== " + sys.getKey() + " (round " + (round + 1) + "/" + o.repeat() + ")");
                    try (ProcessCluster c = ProcessCluster.start(sys.getValue(), o.members(), base.resolve(sys.getKey() + "-" + round), sys.getKey())) {
                        if (o.clusterWarmupSeconds() > 0) {
                            // Every system gets the same high-concurrency warm-up, or a 1-client case measures an interpreter.
                            for (LoadGenerator.Op op : List.of(LoadGenerator.Op.PUT, LoadGenerator.Op.RANGE_LINEARIZABLE)) {
                                Driver.run(LoadGenerator.workload(op, 16, 256, 100_000), config(c.endpoints(), 64, 8, o.clusterWarmupSeconds() / 2, 98), null);
                            }
                        }
                        for (Case k : o.cases()) {
                            if (o.warmupSeconds() > 0) {
                                Driver.run(k.workload().get(), config(c.endpoints(), k.clients(), k.conns(), o.warmupSeconds(), 99), null);
                            }
                            ProcessCluster.CpuTime before = c.cpuTime();
                            RunResult r = Driver.run(k.workload().get(), config(c.endpoints(), k.clients(), k.conns(), o.seconds(), round + 1), progress);
                            ProcessCluster.CpuTime used = c.cpuTime().minus(before);
                            long ops = r.primary().ok() + r.primary().errorCount();
                            double usPerOp = ops > 0 ? used.memberNanos() / 1e3 / ops : Double.NaN;
                            log.accept(String.format(Locale.ROOT, "   %-30s %10.0f ops/s  p99 %.2f ms  CPU %.0f us/op, JIT %.1f s%s", k.name(),
                                    r.primary().qps(), r.primary().p99Ms(), usPerOp, used.compilerNanos() / 1e9,
                                    r.errors().isEmpty() ? "" : "  errors " + r.errors()));
                            report.add(k.name(), sys.getKey(), r);
                            report.addCpu(k.name(), sys.getKey(), usPerOp, used.compilerNanos() / 1e9);
                        }
                        report.addRss(sys.getKey(), c.residentBytes().stream().mapToLong(Long::longValue).max().orElse(0));
                    }
                }
            }
        } finally {
            deleteRecursively(base);
        }
        return report;
    }

    private static LoadConfig config(List<String> endpoints, int clients, int conns, double seconds, long seed) {
        return new LoadConfig(endpoints, clients, conns, 0, (long) (seconds * 1e9), 0, null, null, seed);
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("could not remove " + dir + ": " + e.getMessage());
        }
    }
}
