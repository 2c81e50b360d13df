package io.quorumlab.chaos.sim;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.mvcc.WatchStream;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.member.Member;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * One kube-apiserver in front of etcd (KUBE.md). Clients' API requests arrive as a Poisson process
 * whose rate follows the workload's daily curve and deployment bursts. Reads are mostly served from
 * the watch cache; the rest, and every write, become etcd calls, in kube's shapes:
 * <ul>
 * <li><b>list+watch</b>: two informers (pods, events) per API server fill its watch cache with a
 *     paged LIST (limit 500; later pages pinned to the first page's revision) and then WATCH the
 *     prefix from the next revision with prev_kv; a watch that breaks (its member stopped, the client
 *     moved to another member, or the start revision compacted) is followed by a relist;</li>
 * <li><b>GuaranteedUpdate</b>: a Txn {@code If(mod_revision(k) == cached) Then(Put) Else(Range)} with
 *     the revision from the watch cache (a linearizable GET first when the cache has not been filled
 *     yet), retried with the revision the Else branch returns while it conflicts; an object absent from
 *     the cache is created ({@code If(mod_revision(k) == 0)}, as an apply does);</li>
 * <li><b>creates and deletes</b> of pods ({@code If(mod_revision(k) == rev) Then(DeleteRange) Else(Range)});</li>
 * <li><b>lease-backed events</b>: creates under {@code /registry/events/} attached to a lease of one hour
 *     plus a margin, shared by the events of a 60 s window (kube's lease reuse); the leader's lessor
 *     revokes it when it expires and the events are deleted;</li>
 * <li>kube's compactor every 5 minutes (below).</li>
 * </ul>
 * Every API request (retries included: a client's retry is a new request) appends to the audit log and
 * the server log on this API server's node disk. A request that fails with Unavailable (no leader,
 * timeout, leader changed) is retried with exponential backoff — the feedback loop of the cascade.
 * A LIST page asks for keys only: the simulated member's CPU per task is a constant, so copying the
 * values would cost the simulator time and change nothing simulated.
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
        informerTick();
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
        podInformer.close();
        eventInformer.close();
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

    // ---- the request mix (KUBE.md: etcd's Kubernetes traffic writes 90 % update, 5 % delete, 5 % create;
    // here a share of the creates are events, which a busy cluster writes for every pod transition)
    static final double UPDATE_SHARE = 0.70;
    static final double EVENT_SHARE = 0.20;
    static final double CREATE_SHARE = 0.05;
    /** kube's paged LIST. */
    static final int LIST_PAGE = 500;
    /** How often an informer takes what its watch delivered (the watch cache's processing, batched). */
    static final long INFORMER_TICK_NANOS = 1_000_000_000L;
    /** --event-ttl (1 h) plus a margin: the TTL of the leases events are attached to. */
    static final long EVENT_LEASE_TTL_SECONDS = 3600 + 60;
    /** kube reuses an events lease for the objects of this window (--lease-reuse-duration-seconds). */
    static final long LEASE_REUSE_NANOS = 60_000_000_000L;
    /** GuaranteedUpdate's conflict loop, bounded here (kube loops while the precondition holds). */
    static final int MAX_CONFLICT_ROUNDS = 8;
    static final byte[] PODS = Bytes.of("/registry/pods/default/");
    static final byte[] EVENTS = Bytes.of("/registry/events/default/");
    private static final byte[] POD_NAME = Bytes.of("/registry/pods/default/pod-");

    /** The watch cache's view of each pod: its mod_revision (0: absent) and the revision that view is from. */
    private final long[] seenAt = new long[OBJECTS];
    private boolean podsListed;
    private int eventSeq;
    private long leaseId;
    private long leaseGrantedAt;
    private CompletableFuture<Long> leaseGrant;
    private final Informer podInformer = new Informer(PODS, true);
    private final Informer eventInformer = new Informer(EVENTS, false);

    long lists;
    long listPages;
    long watchEvents;
    long conflicts;
    long leaseGrants;

    private void newRequest() {
        requests += load.requestWeight();
        long start = sim.now();
        // Only some API requests reach etcd: the watch cache serves most reads.
        double etcdShare = load.etcdCallsPerApiRequest();
        if (etcdShare <= 0) etcdShare = 0;
        boolean callsEtcd = random.nextDouble() < etcdShare;
        if (!callsEtcd) {
            fromCache();
            return;
        }
        int obj = random.nextInt(OBJECTS);
        Op op = Op.GET;
        if (random.nextDouble() < load.writeFraction()) {
            double r = random.nextDouble();
            op = r < UPDATE_SHARE ? Op.UPDATE : r < UPDATE_SHARE + EVENT_SHARE ? Op.EVENT
                    : r < UPDATE_SHARE + EVENT_SHARE + CREATE_SHARE ? Op.CREATE : Op.DELETE;
        }
        if (op == Op.DELETE && podsListed && modRevision[obj] == 0) {
            fromCache(); // not found, answered from the watch cache
            return;
        }
        if (op == Op.EVENT) obj = eventSeq++;
        etcdRequests += load.requestWeight();
        attempt(op, obj, start, 1);
    }

    private void fromCache() {
        audit();
        record(200_000 + net.sampleLatency());
    }

    private enum Op { GET, UPDATE, CREATE, DELETE, EVENT }

    private static byte[] key(int obj) {
        return Bytes.of("/registry/pods/default/pod-" + obj);
    }

    private byte[] eventKey(int seq) {
        return Bytes.of("/registry/events/default/ev-" + node + "-" + seq);
    }

    /** The pod a key names, or -1. */
    private static int podOf(byte[] key) {
        if (key.length <= POD_NAME.length || !java.util.Arrays.equals(key, 0, POD_NAME.length, POD_NAME, 0, POD_NAME.length)) return -1;
        int v = 0;
        for (int i = POD_NAME.length; i < key.length; i++) {
            int d = key[i] - '0';
            if (d < 0 || d > 9 || v > OBJECTS) return -1;
            v = v * 10 + d;
        }
        return v < OBJECTS ? v : -1;
    }

    /** What the cache knows of a pod, unless it already knows something newer. */
    private void cache(int obj, long modRev, long atRev) {
        if (obj < 0 || atRev < seenAt[obj]) return;
        modRevision[obj] = modRev;
        seenAt[obj] = atRev;
    }

    private long oneWay() {
        return net.sampleLatency() / 4 + extraRttNanos / 2;
    }

    private void attempt(Op op, int obj, long start, int n) {
        attempts += load.requestWeight();
        audit();
        long oneWay = oneWay();
        sim.after(oneWay, () -> call(op, obj, start, n, oneWay, 0));
    }

    /** One etcd call of a request (a GuaranteedUpdate takes several when it conflicts). */
    private void call(Op op, int obj, long start, int n, long oneWay, int round) {
        Member m = etcd.get();
        if (m == null || m.isStopped()) {
            // Connection refused: the client library fails over after a dial timeout-ish delay.
            endpointFailed.run();
            sim.after(1_000_000_000L, () -> onResult(op, obj, start, n, new EtcdException(io.quorumlab.server.EtcdError.STOPPED)));
            return;
        }
        if (op == Op.EVENT && !leaseUsable()) {
            grantLease(m).whenComplete((id, err) -> {
                if (err != null) onResult(op, obj, start, n, unwrap(err));
                else call(op, obj, start, n, oneWay, round);
            });
            return;
        }
        etcdCalls += load.requestWeight();
        // GuaranteedUpdate (and a delete's precondition) reads the object first while the watch cache
        // has not been filled.
        boolean getFirst = (op == Op.UPDATE || op == Op.DELETE) && round == 0 && !podsListed;
        boolean write = op != Op.GET && !getFirst;
        if (write) inflightWrites++;
        CompletableFuture<?> f = op == Op.GET || getFirst
                ? m.readBarrier().thenApply(v -> m.store().range(RangeRequest.key(key(obj))))
                : m.propose(txn(op, obj));
        f.whenComplete((resp, err) -> {
            if (write) inflightWrites--;
            sim.at(sim.clock() + oneWay, () -> {
                Throwable e = unwrap(err);
                if (e == null && resp instanceof RangeResponse rr) {
                    cache(obj, rr.kvs().isEmpty() ? 0 : rr.kvs().get(0).modRevision(), rr.header().revision());
                    if (getFirst && !(op == Op.DELETE && modRevision[obj] == 0)) { // deleting nothing: not found
                        sim.after(oneWay, () -> call(op, obj, start, n, oneWay, round + 1));
                        return;
                    }
                } else if (e == null && resp instanceof TxnResponse t && learn(op, obj, t) && round + 1 < MAX_CONFLICT_ROUNDS) {
                    conflicts += load.requestWeight();
                    sim.after(oneWay, () -> call(op, obj, start, n, oneWay, round + 1));
                    return;
                }
                onResult(op, obj, start, n, e);
            });
        });
    }

    /** kube's write transactions (KUBE.md). */
    private Request txn(Op op, int obj) {
        if (op == Op.EVENT) {
            byte[] k = eventKey(obj);
            return new TxnRequest(List.of(Compare.number(k, Compare.Target.MOD, Compare.Result.EQUAL, 0)),
                    List.of(new PutRequest(k, value(), leaseId, false, false, false)), List.of(RangeRequest.key(k)));
        }
        byte[] k = key(obj);
        long rev = op == Op.CREATE ? 0 : modRevision[obj];
        Compare c = Compare.number(k, Compare.Target.MOD, Compare.Result.EQUAL, rev);
        RequestOp then = op == Op.DELETE ? DeleteRangeRequest.key(k) : new PutRequest(k, value(), 0, false, false, false);
        return new TxnRequest(List.of(c), List.of(then), List.of(RangeRequest.key(k)));
    }

    /**
     * Learns from a write's answer; true when GuaranteedUpdate goes round again: an update or delete
     * whose precondition failed on an object that still exists (the Else branch's revision is the
     * next precondition), or an update of an object deleted meanwhile (recreated, as an apply does).
     */
    private boolean learn(Op op, int obj, TxnResponse t) {
        long at = t.header().revision();
        if (op == Op.EVENT) return false;
        if (t.succeeded()) {
            cache(obj, op == Op.DELETE ? 0 : at, at);
            return false;
        }
        KeyValue cur = !t.responses().isEmpty() && t.responses().get(0) instanceof RangeResponse r && !r.kvs().isEmpty()
                ? r.kvs().get(0) : null;
        cache(obj, cur == null ? 0 : cur.modRevision(), at);
        if (op == Op.CREATE) return false; // AlreadyExists
        return cur != null || op == Op.UPDATE; // a delete of an object already gone is done
    }

    private boolean leaseUsable() {
        return leaseId != 0 && sim.now() - leaseGrantedAt < LEASE_REUSE_NANOS;
    }

    /** One LeaseGrant in flight at a time; the events that need it wait for it. */
    private CompletableFuture<Long> grantLease(Member m) {
        if (leaseGrant != null && !leaseGrant.isDone()) return leaseGrant;
        CompletableFuture<Long> g = new CompletableFuture<>();
        leaseGrant = g;
        etcdCalls += load.requestWeight();
        leaseGrants++;
        inflightWrites++;
        long oneWay = oneWay();
        m.propose(new LeaseGrantRequest(EVENT_LEASE_TTL_SECONDS, 0)).whenComplete((resp, err) -> {
            inflightWrites--;
            sim.at(sim.clock() + oneWay, () -> {
                if (err == null && resp instanceof LeaseGrantResponse lg) {
                    leaseId = lg.id();
                    leaseGrantedAt = sim.now();
                    g.complete(lg.id());
                } else {
                    g.completeExceptionally(err != null ? unwrap(err) : new IllegalStateException("unexpected " + resp));
                }
            });
        });
        return g;
    }

    /**
     * One of the API server's informers: LIST (paged, pinned to the first page's revision), then WATCH
     * from the next revision; the pods informer keeps the cache GuaranteedUpdate reads revisions from.
     */
    private final class Informer {
        final byte[] prefix;
        final byte[] end;
        final boolean pods;
        Member member;
        WatchStream stream;
        boolean listing;

        Informer(byte[] prefix, boolean pods) {
            this.prefix = prefix;
            this.end = Bytes.prefixEnd(prefix);
            this.pods = pods;
        }

        void tick() {
            Member m = etcd.get();
            boolean down = sim.now() < downUntil;
            if (stream != null && (down || m != member || member.isStopped())) close(); // the connection is gone
            if (stream == null && !listing && !down && m != null && !m.isStopped()) list(m);
            if (stream != null) {
                member.store().watchHub().syncOnce(); // the simulator has no watch sync thread
                for (WatchResponse r : stream.drain()) {
                    receive(r);
                    if (stream == null) break;
                }
            }
        }

        void close() {
            if (stream != null) stream.close();
            stream = null;
            member = null;
        }

        void list(Member m) {
            listing = true;
            lists += load.requestWeight();
            long oneWay = oneWay();
            m.readBarrier().whenComplete((v, err) -> sim.at(sim.clock() + oneWay, () -> {
                if (err != null) listing = false; // the next tick lists again
                else page(m, prefix, 0, pods ? new long[OBJECTS] : null, oneWay);
            }));
        }

        void page(Member m, byte[] from, long rev, long[] found, long oneWay) {
            if (stopped || m.isStopped() || m != etcd.get()) {
                listing = false;
                return;
            }
            RangeResponse rr;
            try {
                rr = m.store().range(RangeRequest.builder(from).rangeEnd(end).limit(LIST_PAGE).revision(rev).keysOnly(true).build());
            } catch (MvccException e) {
                listing = false; // compacted between pages: list again
                return;
            }
            etcdCalls += load.requestWeight();
            listPages += load.requestWeight();
            long at = rev == 0 ? rr.header().revision() : rev;
            if (found != null) {
                for (KeyValue kv : rr.kvs()) {
                    int obj = podOf(kv.key());
                    if (obj >= 0) found[obj] = kv.modRevision();
                }
            }
            if (rr.more() && !rr.kvs().isEmpty()) {
                byte[] last = rr.kvs().get(rr.kvs().size() - 1).key();
                byte[] next = java.util.Arrays.copyOf(last, last.length + 1);
                sim.after(2 * oneWay, () -> page(m, next, at, found, oneWay));
                return;
            }
            if (found != null) {
                for (int i = 0; i < OBJECTS; i++) cache(i, found[i], at);
                podsListed = true;
            }
            listing = false;
            member = m;
            stream = m.store().watchHub().newStream();
            stream.watch(WatchCreateRequest.of(prefix, end, at + 1).withPrevKv());
        }

        void receive(WatchResponse r) {
            if (r.canceled()) {
                close(); // e.g. compacted: relist at the next tick
                return;
            }
            for (Event e : r.events()) {
                watchEvents += load.requestWeight();
                if (pods) cache(podOf(e.kv().key()), e.type() == Event.Type.DELETE ? 0 : e.kv().modRevision(), e.kv().modRevision());
            }
        }
    }

    private void informerTick() {
        if (stopped) return;
        podInformer.tick();
        eventInformer.tick();
        sim.after(INFORMER_TICK_NANOS, this::informerTick);
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
