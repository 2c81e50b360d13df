package io.quorumlab.chaos.sim;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.member.Member;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * One kube-apiserver in front of etcd (KUBE.md). Clients' API requests arrive as a Poisson process
 * whose rate follows the workload's daily curve and deployment bursts. Most reads are served from
 * the watch cache; the rest, and every write, become etcd calls: GuaranteedUpdate is a linearizable
 * get followed by a Txn comparing mod_revision, creates compare mod_revision == 0. Every API request
 * (retries included: a client's retry is a new request) appends to the audit log and the server log
 * on this API server's node disk. A request that fails with Unavailable (no leader, timeout, leader
 * changed) is retried with exponential backoff — the feedback loop of the cascade.
 */
final class ApiServerModel {
    static final int MAX_ATTEMPTS = 6;
    static final long FIRST_BACKOFF_NANOS = 100_000_000L;
    static final int OBJECTS = 2000;

    private final Sim sim;
    private final String node;
    private final Disk disk;
    private final Supplier<Member> etcd;
    private final long extraRttNanos;
    private final SimNetwork net;
    private final Workload load;
    private final java.util.function.DoubleSupplier burstFactor;
    private final SplittableRandom random;
    private final Histogram latency;
    /** The same latencies for the current sampling interval (the cluster resets it). */
    private final Histogram intervalLatency;
    /** Called when the chosen etcd member refused the connection (the client library picks another endpoint). */
    private final Runnable endpointFailed;
    private final long[] modRevision = new long[OBJECTS];
    private boolean stopped;
    /** Until this virtual time the API server is down with its node (stacked node failure). */
    private long downUntil;

    long requests;
    long attempts;
    long failed;
    long etcdCalls;
    /** API requests that needed etcd (each may take several attempts). */
    long etcdRequests;
    /** etcd writes sent and not yet answered (the freeze detector reads it). */
    int inflightWrites;

    ApiServerModel(Sim sim, String node, Disk disk, Supplier<Member> etcd, long extraRttNanos, SimNetwork net,
                   Workload load, java.util.function.DoubleSupplier burstFactor, Histogram latency, Histogram intervalLatency,
                   Runnable endpointFailed) {
        this.sim = sim;
        this.node = node;
        this.disk = disk;
        this.etcd = etcd;
        this.extraRttNanos = extraRttNanos;
        this.net = net;
        this.load = load;
        this.burstFactor = burstFactor;
        this.random = sim.split();
        this.latency = latency;
        this.intervalLatency = intervalLatency;
        this.endpointFailed = endpointFailed;
    }

    String node() {
        return node;
    }

    Disk nodeDisk() {
        return disk;
    }

    void start() {
        scheduleNext();
        sim.after(COMPACT_INTERVAL_NANOS, this::compactRound);
    }

    /** kube-apiserver's --etcd-compaction-interval default. */
    static final long COMPACT_INTERVAL_NANOS = 5 * 60_000_000_000L;
    private static final byte[] COMPACT_KEY = Bytes.of("compact_rev_key");
    /** The version of compact_rev_key this API server last saw (its "t" in KUBE.md). */
    private long compactKeyVersion;
    /** The revision this API server wrote at its last successful round: compacted at the next one. */
    private long compactPrev;
    long compactions;

    /**
     * kube-apiserver's compactor, run by every API server: {@code If(version(compact_rev_key) == t)
     * Then(Put(compact_rev_key, rev)) Else(Range(compact_rev_key))}; the one that wins the round
     * compacts to the revision it wrote at its previous win, so history stays about one interval
     * deep; the losers learn the key's version and try again next interval.
     */
    private void compactRound() {
        if (stopped) return;
        sim.after(COMPACT_INTERVAL_NANOS, this::compactRound);
        Member m = etcd.get();
        if (sim.now() < downUntil || m == null || m.isStopped()) return;
        Compare c = Compare.number(COMPACT_KEY, Compare.Target.VERSION, Compare.Result.EQUAL, compactKeyVersion);
        TxnRequest t = new TxnRequest(List.of(c),
                List.of(new PutRequest(COMPACT_KEY, Bytes.of(Long.toString(m.store().currentRevision())), 0, false, false, false)),
                List.of(RangeRequest.key(COMPACT_KEY)));
        m.propose(t).whenComplete((resp, err) -> {
            if (err != null || !(resp instanceof TxnResponse tr)) return; // try again next interval, as kube does
            if (tr.succeeded()) {
                compactKeyVersion++;
                long prev = compactPrev;
                compactPrev = tr.header().revision();
                if (prev > 0 && !m.isStopped()) {
                    m.propose(new io.quorumlab.mvcc.api.CompactionRequest(prev, false)).whenComplete((r, e) -> {
                        if (e == null) compactions++;
                    });
                }
            } else if (!tr.responses().isEmpty() && tr.responses().get(0) instanceof RangeResponse r && !r.kvs().isEmpty()) {
                compactKeyVersion = r.kvs().get(0).version();
            }
        });
    }

    void stop() {
        stopped = true;
    }

    /** The node is down: this API server takes no requests until {@code untilNanos} (clients go elsewhere). */
    void downUntil(long untilNanos) {
        downUntil = Math.max(downUntil, untilNanos);
    }

    private void scheduleNext() {
        // A weighted request stands for load.requestWeight() real ones: it arrives that much less often.
        double rate = Math.max(0.01 / load.requestWeight(),
                load.apiRequestsPerSecond() * load.daily(sim.now()) * burstFactor.getAsDouble() / load.requestWeight());
        long gap = (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
        sim.after(Math.max(gap, 1000), () -> {
            if (stopped) return;
            if (sim.now() >= downUntil) newRequest();
            scheduleNext();
        });
    }

    private void newRequest() {
        requests += load.requestWeight();
        long start = sim.now();
        // Only some API requests reach etcd: the watch cache serves most reads.
        double etcdShare = load.etcdCallsPerApiRequest();
        if (etcdShare <= 0) etcdShare = 0;
        boolean callsEtcd = random.nextDouble() < etcdShare;
        if (!callsEtcd) {
            audit();
            record(200_000 + net.sampleLatency());
            return;
        }
        int obj = random.nextInt(OBJECTS);
        double r = random.nextDouble();
        Op op = r < load.writeFraction() ? (r < load.writeFraction() * 0.05 ? Op.CREATE : Op.UPDATE) : Op.GET;
        etcdRequests += load.requestWeight();
        attempt(op, obj, start, 1);
    }

    private enum Op { GET, UPDATE, CREATE }

    private static byte[] key(int obj) {
        return Bytes.of("/registry/pods/default/pod-" + obj);
    }

    private void attempt(Op op, int obj, long start, int n) {
        attempts += load.requestWeight();
        audit();
        long oneWay = net.sampleLatency() / 4 + extraRttNanos / 2;
        sim.after(oneWay, () -> {
            Member m = etcd.get();
            if (m == null || m.isStopped()) {
                // Connection refused: the client library fails over after a dial timeout-ish delay.
                endpointFailed.run();
                sim.after(1_000_000_000L, () -> onResult(op, obj, start, n, new EtcdException(io.quorumlab.server.EtcdError.STOPPED)));
                return;
            }
            etcdCalls += load.requestWeight();
            boolean write = op != Op.GET;
            if (write) inflightWrites++;
            CompletableFuture<?> f = switch (op) {
                case GET -> m.readBarrier().thenApply(v -> m.store().range(RangeRequest.key(key(obj))));
                case UPDATE -> m.propose(update(obj));
                case CREATE -> m.propose(PutRequest.of(key(obj), value()));
            };
            f.whenComplete((resp, err) -> {
                if (write) inflightWrites--;
                long back = sim.clock() + oneWay;
                sim.at(back, () -> {
                    if (resp instanceof TxnResponse t) learnRevision(obj, t);
                    if (resp instanceof RangeResponse rr && !rr.kvs().isEmpty()) modRevision[obj] = rr.kvs().get(0).modRevision();
                    if (resp instanceof Response rs && op == Op.CREATE) modRevision[obj] = rs.header().revision();
                    onResult(op, obj, start, n, unwrap(err));
                });
            });
        });
    }

    private Request update(int obj) {
        byte[] k = key(obj);
        Compare c = Compare.number(k, Compare.Target.MOD, Compare.Result.EQUAL, modRevision[obj]);
        List<RequestOp> then = List.of(new PutRequest(k, value(), 0, false, false, false));
        List<RequestOp> otherwise = List.of(RangeRequest.key(k));
        return new TxnRequest(List.of(c), then, otherwise);
    }

    private void learnRevision(int obj, TxnResponse t) {
        if (t.succeeded()) {
            modRevision[obj] = t.header().revision();
        } else if (!t.responses().isEmpty() && t.responses().get(0) instanceof RangeResponse r && !r.kvs().isEmpty()) {
            // GuaranteedUpdate's conflict path: learn the current revision and try again next time.
            modRevision[obj] = r.kvs().get(0).modRevision();
        }
    }

    /** One object's value; a weighted request's other bytes are charged on the device (SimRuntime), not carried. */
    private byte[] value() {
        return new byte[load.valueBytes()];
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) t = t.getCause();
        return t;
    }

    private void onResult(Op op, int obj, long start, int n, Throwable err) {
        if (err == null) {
            record(sim.now() - start);
            return;
        }
        boolean retryable = err instanceof EtcdException;
        if (retryable && n < MAX_ATTEMPTS) {
            long backoff = FIRST_BACKOFF_NANOS << (n - 1);
            long jitter = (long) (random.nextDouble() * backoff * 0.2);
            sim.after(backoff + jitter, () -> {
                if (!stopped) attempt(op, obj, start, n + 1);
            });
            return;
        }
        failed += load.requestWeight();
        record(sim.now() - start);
    }

    private void record(long nanos) {
        long v = Math.min(nanos, latency.getHighestTrackableValue());
        latency.recordValueWithCount(v, load.requestWeight());
        intervalLatency.recordValueWithCount(Math.min(v, intervalLatency.getHighestTrackableValue()), load.requestWeight());
    }

    private void audit() {
        disk.write("apiserver-" + node, (long) load.auditBytesPerRequest() * load.requestWeight());
    }
}
