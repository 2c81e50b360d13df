package io.quorumlab.cli;

import io.quorumlab.bench.compare.ProcessCluster;
import io.quorumlab.bench.load.LoadGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quorumlab bench ...}: load against any etcd v3 endpoints, and quorumlab vs etcd side by side. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmark etcd v3 endpoints (quorumlab or etcd).",
        subcommands = {BenchCommand.Put.class, BenchCommand.Range.class, BenchCommand.Compare.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    abstract static class LoadOptions implements Callable<Integer> {
        @Option(names = "--endpoints", defaultValue = "127.0.0.1:2379", split = ",")
        List<String> endpoints;
        @Option(names = "--clients", defaultValue = "1")
        int clients;
        @Option(names = "--conns", defaultValue = "1")
        int conns;
        @Option(names = "--duration", defaultValue = "10", description = "seconds")
        double seconds;
        @Option(names = "--key-space-size", defaultValue = "10000")
        int keySpace;
        @Option(names = "--key-size", defaultValue = "16")
        int keySize;
        @Option(names = "--val-size", defaultValue = "256")
        int valSize;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;

        abstract LoadGenerator.Op op();

        @Override
        public Integer call() throws Exception {
            LoadGenerator.Result r = LoadGenerator.run(new LoadGenerator.Spec(endpoints, op(), clients, conns,
                    (long) (seconds * 1e9), keySpace, keySize, valSize, 1), "json".equals(output) ? null : p -> progress(p, seconds));
            if (!"json".equals(output)) System.out.println();
            System.out.print("json".equals(output) ? r.json() + "\n" : r.table());
            return r.errors().isEmpty() ? 0 : 2;
        }
    }

    static void progress(long elapsedNanos, double totalSeconds) {
        int width = 40;
        double f = Math.min(1, elapsedNanos / (totalSeconds * 1e9));
        int n = (int) (f * width);
        System.err.print("\r[" + "#".repeat(n) + " ".repeat(width - n) + "] " + (int) (f * 100) + "%");
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Closed-loop puts of random keys.")
    static final class Put extends LoadOptions {
        @Override
        LoadGenerator.Op op() {
            return LoadGenerator.Op.PUT;
        }
    }

    @Command(name = "range", mixinStandardHelpOptions = true, description = "Closed-loop point ranges.")
    static final class Range extends LoadOptions {
        @Option(names = "--consistency", defaultValue = "l", description = "l (linearizable) | s (serializable)")
        String consistency;

        @Override
        LoadGenerator.Op op() {
            return "s".equals(consistency) ? LoadGenerator.Op.RANGE_SERIALIZABLE : LoadGenerator.Op.RANGE_LINEARIZABLE;
        }
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "Start a 3-member etcd and a 3-member quorumlab cluster in turn, run the same workloads, print both.")
    static final class Compare implements Callable<Integer> {
        @Option(names = "--etcd-binary", defaultValue = "etcd")
        String etcd;
        @Option(names = "--duration", defaultValue = "10", description = "seconds per workload")
        double seconds;
        @Option(names = "--warmup", defaultValue = "5", description = "seconds of unmeasured load per workload first (the JVM compiles its hot paths)")
        double warmup;
        @Option(names = "--repeat", defaultValue = "1", description = "alternate the two clusters this many times; medians are quoted")
        int repeat;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;

        record Workload(String name, LoadGenerator.Op op, int clients, int conns) {}

        static final List<Workload> WORKLOADS = List.of(
                new Workload("put, 1 client", LoadGenerator.Op.PUT, 1, 1),
                new Workload("put, 100 clients / 10 conns", LoadGenerator.Op.PUT, 100, 10),
                new Workload("range l, 100 clients", LoadGenerator.Op.RANGE_LINEARIZABLE, 100, 10),
                new Workload("range s, 100 clients", LoadGenerator.Op.RANGE_SERIALIZABLE, 100, 10));

        @Override
        public Integer call() throws Exception {
            String jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            Map<String, List<String>> systems = new LinkedHashMap<>();
            systems.put("etcd", List.of(etcd));
            systems.put("quorumlab", List.of("java", "-XX:+UseG1GC", "-Xmx1g", "-jar", jar, "server"));
            Map<String, Map<String, List<LoadGenerator.Result>>> results = new LinkedHashMap<>();
            Map<String, List<Long>> rss = new LinkedHashMap<>();
            Path base = Files.createTempDirectory("quorumlab-compare-");
            try {
                for (int round = 0; round < repeat; round++) {
                    for (var sys : systems.entrySet()) {
                        Path dir = base.resolve(sys.getKey() + "-" + round);
                        System.err.println("== " + sys.getKey() + " (round " + (round + 1) + "/" + repeat + ")");
                        try (ProcessCluster c = ProcessCluster.start(sys.getValue(), 3, dir, sys.getKey())) {
                            if (warmup > 0) {
                                // A JIT compiles what runs often: give every system the same high-concurrency warm-up
                                // first, or a 1-client workload measures an interpreter (etcd is compiled ahead of time).
                                for (LoadGenerator.Op op : List.of(LoadGenerator.Op.PUT, LoadGenerator.Op.RANGE_LINEARIZABLE)) {
                                    LoadGenerator.run(new LoadGenerator.Spec(c.endpoints(), op, 64, 8, (long) (warmup * 1e9), 100_000,
                                            16, 256, 98), null);
                                }
                            }
                            for (Workload w : WORKLOADS) {
                                if (warmup > 0) {
                                    LoadGenerator.run(new LoadGenerator.Spec(c.endpoints(), w.op(), w.clients(), w.conns(),
                                            (long) (warmup * 1e9), 100_000, 16, 256, 99), null);
                                }
                                LoadGenerator.Result r = LoadGenerator.run(new LoadGenerator.Spec(c.endpoints(), w.op(), w.clients(),
                                        w.conns(), (long) (seconds * 1e9), 100_000, 16, 256, round + 1), p -> progress(p, seconds));
                                System.err.printf(Locale.ROOT, "%n   %-30s %10.0f ops/s  p99 %.2f ms%n", w.name(), r.qps(), r.p99Ms());
                                results.computeIfAbsent(sys.getKey(), k -> new LinkedHashMap<>())
                                        .computeIfAbsent(w.name(), k -> new ArrayList<>()).add(r);
                            }
                            rss.computeIfAbsent(sys.getKey(), k -> new ArrayList<>()).add(
                                    c.residentBytes().stream().mapToLong(Long::longValue).max().orElse(0));
                        }
                    }
                }
            } finally {
                deleteRecursively(base);
            }
            print(results, rss);
            return 0;
        }

        private void print(Map<String, Map<String, List<LoadGenerator.Result>>> results, Map<String, List<Long>> rss) {
            StringBuilder json = new StringBuilder("{\"workloads\": [");
            System.out.printf(Locale.ROOT, "%-30s %14s %14s %7s %12s %12s%n", "workload (median of " + repeat + ")", "etcd ops/s",
                    "quorumlab ops/s", "ratio", "etcd p99 ms", "ql p99 ms");
            boolean first = true;
            for (Workload w : WORKLOADS) {
                LoadGenerator.Result e = median(results.get("etcd").get(w.name()));
                LoadGenerator.Result q = median(results.get("quorumlab").get(w.name()));
                System.out.printf(Locale.ROOT, "%-30s %14.0f %14.0f %7.2f %12.2f %12.2f%n", w.name(), e.qps(), q.qps(),
                        q.qps() / Math.max(1e-9, e.qps()), e.p99Ms(), q.p99Ms());
                json.append(first ? "" : ", ").append(String.format(Locale.ROOT,
                        "{\"name\": \"%s\", \"etcd\": %s, \"quorumlab\": %s}", w.name(), e.json(), q.json()));
                first = false;
            }
            long etcdRss = rss.get("etcd").stream().sorted().toList().get(repeat / 2);
            long qlRss = rss.get("quorumlab").stream().sorted().toList().get(repeat / 2);
            System.out.printf(Locale.ROOT, "%-30s %14s %14s %7.2f%n", "max member RSS after load", human(etcdRss), human(qlRss),
                    (double) qlRss / Math.max(1, etcdRss));
            json.append(String.format(Locale.ROOT, "], \"rssBytes\": {\"etcd\": %d, \"quorumlab\": %d}}", etcdRss, qlRss));
            if ("json".equals(output)) System.out.println(json);
        }

        private static LoadGenerator.Result median(List<LoadGenerator.Result> rs) {
            List<LoadGenerator.Result> sorted = new ArrayList<>(rs);
            sorted.sort(Comparator.comparingDouble(LoadGenerator.Result::qps));
            return sorted.get(sorted.size() / 2);
        }

        private static String human(long bytes) {
            return String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
        }

        private static void deleteRecursively(Path dir) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            } catch (java.io.IOException e) {
                System.err.println("could not remove " + dir + ": " + e.getMessage());
            }
        }
    }
}
