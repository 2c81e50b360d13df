package io.quorumlab.cli;

import io.quorumlab.bench.compare.CompareRunner;
import io.quorumlab.bench.load.Driver;
import io.quorumlab.bench.load.KubeParameters;
import io.quorumlab.bench.load.KubeWorkload;
import io.quorumlab.bench.load.KvWorkloads;
import io.quorumlab.bench.load.LeaseKeepaliveWorkload;
import io.quorumlab.bench.load.LoadConfig;
import io.quorumlab.bench.load.Progress;
import io.quorumlab.bench.load.WatchWorkload;
import io.quorumlab.bench.load.Workload;
import io.quorumlab.bench.report.CompareReport;
import io.quorumlab.bench.report.RunResult;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * {@code quorumlab bench ...}: etcd benchmark's workloads (same names and flags) plus {@code kube} against any
 * etcd v3 endpoints, quorumlab vs etcd side by side ({@code compare}), and the JMH suites ({@code jmh}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmark etcd v3 endpoints (quorumlab or etcd).",
        subcommands = {BenchCommand.Put.class, BenchCommand.Range.class, BenchCommand.TxnPut.class, BenchCommand.TxnMixed.class,
                BenchCommand.Watch.class, BenchCommand.WatchLatency.class, BenchCommand.LeaseKeepalive.class, BenchCommand.Kube.class,
                BenchCommand.Compare.class, BenchCommand.Jmh.class})
final class BenchCommand implements Runnable {
    static final double DEFAULT_SECONDS = 10;

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /** etcd benchmark's global flags, plus the run's length, open loop and outputs. */
    static final class Common {
        @Option(names = "--endpoints", defaultValue = "127.0.0.1:2379", split = ",", description = "gRPC endpoints (host:port, http:// or https://)")
        List<String> endpoints;
        @Option(names = "--clients", defaultValue = "1", description = "concurrent request loops")
        int clients;
        @Option(names = "--conns", defaultValue = "1", description = "gRPC connections the clients share")
        int conns;
        @Option(names = "--total", description = "requests to send (instead of --duration)")
        Long total;
        @Option(names = "--duration", description = "seconds to run (default " + DEFAULT_SECONDS + " when --total is not given)")
        Double seconds;
        @Option(names = "--rate", description = "open loop: requests per second of all clients together, latency measured from each "
                + "request's due time (coordinated-omission corrected); 0 or absent: closed loop")
        Double rate;
        @Option(names = "--cacert", description = "verify the servers' certificates with this CA bundle (turns TLS on)")
        Path cacert;
        @Option(names = "--cert", description = "client certificate (PEM)")
        Path cert;
        @Option(names = "--key", description = "client certificate's key (PEM, PKCS#8)")
        Path key;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;
        @Option(names = "--histogram-out", description = "write an HdrHistogram log (one interval histogram per series per second, ms)")
        Path histogramOut;
        @Option(names = "--seed", defaultValue = "1", description = "seed for keys and values")
        long seed;
        @Option(names = "--no-progress", description = "no progress bar on stderr")
        boolean noProgress;

        LoadConfig config(long defaultTotal, double defaultRate) {
            if (!"text".equals(output) && !"json".equals(output)) throw new IllegalArgumentException("--output must be text or json");
            LoadConfig.Tls tls = cacert == null && cert == null && key == null ? null : new LoadConfig.Tls(cacert, cert, key);
            long totalOps = total != null ? total : 0;
            long duration = seconds != null ? (long) (seconds * 1e9) : 0;
            if (total != null && total <= 0) throw new IllegalArgumentException("--total must be positive");
            if (seconds != null && !(seconds > 0)) throw new IllegalArgumentException("--duration must be positive");
            if (totalOps == 0 && duration == 0) {
                if (defaultTotal > 0) totalOps = defaultTotal;
                else duration = (long) (DEFAULT_SECONDS * 1e9);
            }
            return new LoadConfig(endpoints, clients, conns, totalOps, duration, rate != null ? rate : defaultRate, tls, histogramOut, seed);
        }
    }

    /** Runs a workload with the common flags; prints the table (or JSON); exit 0, or 2 when requests failed. */
    abstract static class LoadCommand implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        abstract Workload workload();

        long defaultTotal() {
            return 0;
        }

        double defaultRate() {
            return 0;
        }

        @Override
        public Integer call() throws Exception {
            LoadConfig cfg;
            Workload w;
            try {
                cfg = common.config(defaultTotal(), defaultRate());
                w = workload();
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
            RunResult r;
            try {
                r = Driver.run(w, cfg, common.noProgress ? null : new ProgressBar(System.err));
            } catch (StatusRuntimeException e) {
                System.err.println("\nerror: setting up " + w.name() + ": " + e.getStatus());
                return 1;
            }
            if (!common.noProgress) System.err.println();
            System.out.print("json".equals(common.output) ? r.json() + "\n" : r.table());
            return r.errors().isEmpty() ? 0 : 2;
        }
    }

    /** A one-line live progress bar (stderr): done/total or elapsed/duration, rate, errors. */
    static final class ProgressBar implements Consumer<Progress> {
        static final int WIDTH = 30;
        private final PrintStream out;

        ProgressBar(PrintStream out) {
            this.out = out;
        }

        @Override
        public void accept(Progress p) {
            out.print("\r" + render(p));
            out.flush();
        }

        static String render(Progress p) {
            double f = p.fraction();
            int n = (int) Math.round(f * WIDTH);
            String what = p.total() > 0 ? p.done() + "/" + p.total() : String.format(Locale.ROOT, "%.0f/%.0f s", p.elapsedNanos() / 1e9,
                    p.durationNanos() / 1e9);
            double rate = p.elapsedNanos() > 0 ? p.done() / (p.elapsedNanos() / 1e9) : 0;
            // Open loop behind schedule: requests already due at the end are still sent, and charged their wait.
            String late = p.durationNanos() > 0 && p.elapsedNanos() > p.durationNanos() ? " (finishing requests already due)" : "";
            return String.format(Locale.ROOT, "%s [%s%s] %3d%% %s  %.0f/s  errors %d%s ", p.workload(), "#".repeat(n), " ".repeat(WIDTH - n),
                    (int) (f * 100), what, rate, p.errors(), late);
        }
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Puts of keys from a key space (etcd benchmark put).")
    static final class Put extends LoadCommand {
        @Option(names = "--key-size", defaultValue = "16") int keySize;
        @Option(names = "--val-size", defaultValue = "256") int valSize;
        @Option(names = "--key-space-size", defaultValue = "10000") int keySpace;
        @Option(names = "--sequential-keys") boolean sequential;

        @Override
        Workload workload() {
            return KvWorkloads.put(keySize, valSize, keySpace, sequential);
        }
    }

    @Command(name = "range", mixinStandardHelpOptions = true,
            description = "Ranges of key [end-range], or point ranges of random keys of put's key space (etcd benchmark range).")
    static final class Range extends LoadCommand {
        @Parameters(arity = "0..2", description = "key [end-range]")
        List<String> keys = new ArrayList<>();
        @Option(names = "--consistency", defaultValue = "l", description = "l (linearizable) | s (serializable)") String consistency;
        @Option(names = "--limit", defaultValue = "0", description = "most keys per range (0: no limit)") long limit;
        @Option(names = "--key-size", defaultValue = "16") int keySize;
        @Option(names = "--key-space-size", defaultValue = "10000") int keySpace;

        @Override
        Workload workload() {
            return KvWorkloads.range(keys.isEmpty() ? null : keys.get(0), keys.size() > 1 ? keys.get(1) : null, consistency, limit,
                    keySize, keySpace);
        }
    }

    @Command(name = "txn-put", mixinStandardHelpOptions = true, description = "Txns of --txn-ops puts (etcd benchmark txn-put).")
    static final class TxnPut extends LoadCommand {
        @Option(names = "--key-size", defaultValue = "8") int keySize;
        @Option(names = "--val-size", defaultValue = "8") int valSize;
        @Option(names = "--key-space-size", defaultValue = "1") int keySpace;
        @Option(names = "--txn-ops", defaultValue = "1", description = "puts per txn") int txnOps;

        @Override
        Workload workload() {
            return KvWorkloads.txnPut(keySize, valSize, keySpace, txnOps);
        }
    }

    @Command(name = "txn-mixed", mixinStandardHelpOptions = true,
            description = "Txns that read (a ranged get) or write (a put), --rw-ratio reads per write (etcd benchmark txn-mixed).")
    static final class TxnMixed extends LoadCommand {
        @Option(names = "--key-size", defaultValue = "8") int keySize;
        @Option(names = "--val-size", defaultValue = "8") int valSize;
        @Option(names = "--key-space-size", defaultValue = "1") int keySpace;
        @Option(names = "--end-key", description = "reads range from bench/ to this key (default: all bench/ keys)") String endKey;
        @Option(names = "--limit", defaultValue = "1000", description = "read range limit") long limit;
        @Option(names = "--consistency", defaultValue = "l", description = "l | s") String consistency;
        @Option(names = "--rw-ratio", defaultValue = "1", description = "read/write ops ratio") double rwRatio;

        @Override
        Workload workload() {
            return KvWorkloads.txnMixed(keySize, valSize, keySpace, endKey, limit, consistency, rwRatio);
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true,
            description = "--streams x --watch-per-stream watchers over --watched-key-total keys, then --put-total puts to them "
                    + "(etcd benchmark watch). Series: put, watch-create, event (put due time to event).")
    static final class Watch extends LoadCommand {
        @Option(names = "--streams", defaultValue = "10") int streams;
        @Option(names = "--watch-per-stream", defaultValue = "100") int perStream;
        @Option(names = "--watched-key-total", defaultValue = "1") int watchedKeys;
        @Option(names = "--put-total", defaultValue = "1000", description = "puts (the run's --total unless --total/--duration is given)") long putTotal;
        @Option(names = "--put-rate", defaultValue = "0", description = "puts per second, open loop (0: closed loop)") double putRate;
        @Option(names = "--key-size", defaultValue = "32") int keySize;
        @Option(names = "--key-space-size", defaultValue = "1") int keySpace;
        @Option(names = "--sequential-keys") boolean sequential;

        @Override
        long defaultTotal() {
            return putTotal;
        }

        @Override
        double defaultRate() {
            return putRate;
        }

        @Override
        Workload workload() {
            return WatchWorkload.watch(streams, perStream, watchedKeys, keySize, keySpace, sequential);
        }
    }

    @Command(name = "watch-latency", mixinStandardHelpOptions = true,
            description = "--streams x --watchers-per-stream watchers on one key; --put-total puts at --put-rate; put and event latency "
                    + "(etcd benchmark watch-latency).")
    static final class WatchLatency extends LoadCommand {
        @Option(names = "--streams", defaultValue = "10") int streams;
        @Option(names = {"--watchers-per-stream", "--watch-per-stream"}, defaultValue = "10") int perStream;
        @Option(names = "--prevkv", description = "watchers ask for prev_kv") boolean prevKv;
        @Option(names = "--put-total", defaultValue = "1000") long putTotal;
        @Option(names = "--put-rate", defaultValue = "100", description = "puts per second, open loop") double putRate;
        @Option(names = "--key-size", defaultValue = "32") int keySize;
        @Option(names = "--val-size", defaultValue = "32") int valSize;

        @Override
        long defaultTotal() {
            return putTotal;
        }

        @Override
        double defaultRate() {
            return putRate;
        }

        @Override
        Workload workload() {
            return WatchWorkload.watchLatency(streams, perStream, prevKv, keySize, valSize);
        }
    }

    @Command(name = "lease-keepalive", mixinStandardHelpOptions = true,
            description = "Each client grants a lease, then keeps it alive once per request (etcd benchmark lease-keepalive).")
    static final class LeaseKeepalive extends LoadCommand {
        @Override
        Workload workload() {
            return new LeaseKeepaliveWorkload();
        }
    }

    @Command(name = "kube", mixinStandardHelpOptions = true,
            description = {"A kube-apiserver's etcd traffic, the simulator's client model (chaos ApiServerModel, KUBE.md): gets, paginated "
                    + "lists, GuaranteedUpdate (get, then Txn on mod_revision, retried on conflict), creates (Txn mod_revision==0), deletes, "
                    + "prefix watches; UNAVAILABLE retried with the simulator's backoff.",
                    "The simulator's API server sends etcd about ${sim-rate} calls/s at the daily average: --rate ${sim-rate} reproduces one."})
    static final class Kube extends LoadCommand {
        static {
            System.setProperty("sim-rate", String.format(Locale.ROOT, "%.0f", KubeParameters.fromSimulator().etcdCallsPerSecond()));
        }

        @Option(names = "--objects", description = "objects under /registry/pods/default/ (default: the simulator's)") Integer objects;
        @Option(names = "--val-size", description = "object bytes (default: the simulator's)") Integer valSize;
        @Option(names = "--page-size", defaultValue = "500", description = "list page size (client-go pager's default)") int pageSize;
        @Option(names = "--list-fraction", defaultValue = "0.05", description = "share of reads that are lists") double listFraction;
        @Option(names = "--delete-fraction", defaultValue = "0.05", description = "share of writes that are deletes") double deleteFraction;
        @Option(names = "--watches", defaultValue = "8", description = "watch streams on the prefix") int watches;

        @Override
        Workload workload() {
            KubeParameters p = KubeParameters.fromSimulator();
            return new KubeWorkload(p, objects != null ? objects : p.objects(), pageSize, listFraction, deleteFraction, watches,
                    valSize != null ? valSize : p.valueBytes());
        }
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "Start a 3-member etcd and a 3-member quorumlab cluster in turn, run the same workloads, print both side by side.")
    static final class Compare implements Callable<Integer> {
        @Option(names = "--etcd-binary", defaultValue = "etcd")
        String etcd;
        @Option(names = "--duration", defaultValue = "10", description = "seconds per workload")
        double seconds;
        @Option(names = "--warmup", defaultValue = "5", description = "seconds of unmeasured load per workload first (the JVM compiles its hot paths)")
        double warmup;
        @Option(names = "--cluster-warmup", defaultValue = "60", description = "seconds of unmeasured load (puts, then linearizable ranges, 64 clients) on each fresh cluster before its first workload: a JVM member's JIT compiles for a minute or more under load")
        double clusterWarmup;
        @Option(names = "--repeat", defaultValue = "1", description = "alternate the two clusters this many times; min/median/max are shown")
        int repeat;
        @Option(names = "--workloads", split = ",", description = "cases to run, of: ${COMPLETION-CANDIDATES} (default put-1,put-100,put-1000,range-l-1,range-l,range-s-1,range-s)",
                completionCandidates = CaseNames.class)
        List<String> workloads = new ArrayList<>(CompareRunner.DEFAULT_CASES);
        @Option(names = "--members", defaultValue = "3", description = "members per cluster")
        int members;
        @Option(names = "--output", defaultValue = "text", description = "text | json (the side-by-side table goes to stderr with json)")
        String output;
        @Option(names = "--report", description = "write a self-contained HTML report here")
        Path report;

        static final class CaseNames extends ArrayList<String> {
            CaseNames() {
                super(CompareRunner.knownCases().keySet());
            }
        }

        @Override
        public Integer call() throws Exception {
            Map<String, CompareRunner.Case> known = CompareRunner.knownCases();
            List<CompareRunner.Case> cases = new ArrayList<>();
            for (String w : workloads) {
                CompareRunner.Case c = known.get(w);
                if (c == null) {
                    System.err.println("error: unknown workload " + w + "; known: " + known.keySet());
                    return 1;
                }
                cases.add(c);
            }
            if (!"text".equals(output) && !"json".equals(output)) {
                System.err.println("error: --output must be text or json");
                return 1;
            }
            List<String> quorumlab = compareServerCommand();
            CompareRunner.Options o;
            try {
                o = new CompareRunner.Options(List.of(etcd), quorumlab, members, seconds, warmup, clusterWarmup, repeat, cases);
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
            ProgressBar bar = new ProgressBar(System.err);
            CompareReport r = CompareRunner.run(o, line -> System.err.println(line.startsWith("   ") ? "\r" + line : line), bar);
            boolean json = "json".equals(output);
            (json ? System.err : System.out).print(r.table());
            if (json) System.out.println(r.json());
            if (report != null) {
                Files.writeString(report, r.html());
                System.err.println("HTML report: " + report.toAbsolutePath());
            }
            return 0;
        }
    }

    @Command(name = "jmh", description = {"Run the JMH suites (RaftClusterBenchmark, WalBenchmark, MvccBenchmark) from this jar: "
            + "quorumlab bench jmh [regex] [JMH options], e.g. -l to list, -wi 3 -i 5 -f 1 -prof gc.",
            "Results go to docs/performance.md with date, machine and command."})
    static final class Jmh implements Callable<Integer> {
        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (Jmh.class.getClassLoader().getResource("META-INF/BenchmarkList") == null) {
                System.err.println("error: no META-INF/BenchmarkList on the class path (build the bench module with its JMH annotation processor)");
                return 1;
            }
            org.openjdk.jmh.Main.main(args.toArray(new String[0]));
            return 0;
        }
    }

    /**
     * How {@code bench compare} starts a quorumlab member: with the same JVM options as
     * {@code ./quorumlab server} and {@code cluster up} (server-jvm.options), so that the comparison
     * measures what users run.
     */
    static List<String> compareServerCommand() {
        return ServerJvm.serverCommand();
    }
}
