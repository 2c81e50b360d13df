package io.quorumlab.bench.load;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code kube}: what one kube-apiserver sends etcd (/work/shared/KUBE.md), the client the simulator models
 * (chaos ApiServerModel; numbers from {@link KubeParameters}). Each request is, by the simulator's shares:
 * a write ({@code writeFraction}) — create {@code If(mod_revision(k)==0) Then(Put)}, delete, or
 * GuaranteedUpdate (a linearizable get, then {@code If(mod_revision(k)==rev) Then(Put) Else(Range(k))},
 * again with the revision the Else branch returned after a conflict) — or a read: a get
 * ({@code Range(k, limit 1)}) or a paginated list as client-go's pager does it (limit, then the next page from
 * lastKey+"\x00" pinned to the first page's revision). A call that fails with UNAVAILABLE is retried with
 * the simulator's exponential backoff, up to its attempt limit. Watches on the prefix (prev_kv,
 * progress_notify) run throughout. Series: "request" (each API request, retries included), one per kind,
 * and "event" (write due time to watch event arrival).
 */
public final class KubeWorkload implements Workload {
    static final String PREFIX = "/registry/pods/default/";
    /** kube's values start with this magic (protobuf encoding); the due-time stamp follows it. */
    static final byte[] MAGIC = {'k', '8', 's', 0};
    static final int STAMP_OFFSET = MAGIC.length;
    /** A bound on one list's pages, far above objects/limit: a server that never says "no more" cannot loop us forever. */
    static final int MAX_PAGES = 100_000;
    static final int PRELOAD_THREADS = 8;

    enum Kind { GET, LIST, CREATE, UPDATE, DELETE }

    private final KubeParameters params;
    private final int objects;
    private final int pageSize;
    private final double listShareOfReads;
    private final double deleteShareOfWrites;
    private final int watches;
    private final int valueBytes;
    /** Objects deleted and not yet re-created: creates take from here first, so the population stays steady. */
    private final BlockingQueue<Integer> deleted;
    private final List<StreamObserver<WatchRequest>> watchStreams = new ArrayList<>();
    private final Map<String, AtomicLong> counters = new TreeMap<>();

    /**
     * @param objects objects under {@value #PREFIX} (simulator: {@link KubeParameters#objects()})
     * @param pageSize list page size (client-go's pager default: 500)
     * @param listShareOfReads share of reads that are lists (the watch cache serves most lists in kube)
     * @param deleteShareOfWrites share of writes that are deletes (KUBE.md: 5 %)
     * @param watches watch streams on the prefix
     */
    public KubeWorkload(KubeParameters params, int objects, int pageSize, double listShareOfReads, double deleteShareOfWrites,
                        int watches, int valueBytes) {
        KvWorkloads.requirePositive("--objects", objects);
        KvWorkloads.requirePositive("--page-size", pageSize);
        if (watches < 0) throw new IllegalArgumentException("--watches must be >= 0");
        if (!(listShareOfReads >= 0 && listShareOfReads <= 1)) throw new IllegalArgumentException("--list-fraction must be in [0, 1]");
        if (!(deleteShareOfWrites >= 0 && deleteShareOfWrites + params.createShareOfWrites() <= 1)) {
            throw new IllegalArgumentException("--delete-fraction must be in [0, " + (1 - params.createShareOfWrites()) + "]");
        }
        this.params = params;
        this.objects = objects;
        this.pageSize = pageSize;
        this.listShareOfReads = listShareOfReads;
        this.deleteShareOfWrites = deleteShareOfWrites;
        this.watches = watches;
        this.valueBytes = Math.max(valueBytes, STAMP_OFFSET + Long.BYTES);
        this.deleted = new ArrayBlockingQueue<>(objects);
        for (String c : List.of("conflicts", "retries", "notFound", "alreadyExists", "listPages", "preloaded", "events")) {
            counters.put(c, new AtomicLong());
        }
    }

    public static KubeWorkload defaults() {
        KubeParameters p = KubeParameters.fromSimulator();
        return new KubeWorkload(p, p.objects(), 500, 0.05, 0.05, 8, p.valueBytes());
    }

    @Override
    public String name() {
        return "kube";
    }

    @Override
    public List<String> seriesNames() {
        return List.of("request");
    }

    @Override
    public List<String> extraSeriesNames() {
        List<String> names = new ArrayList<>();
        for (Kind k : Kind.values()) names.add(k.name().toLowerCase(Locale.ROOT));
        names.add("event");
        return names;
    }

    static ByteString key(int obj) {
        return ByteString.copyFromUtf8(PREFIX + "pod-" + obj);
    }

    private ByteString value(byte[] base, long due) {
        return Keys.stamped(base, STAMP_OFFSET, due);
    }

    private byte[] base(SplittableRandom rnd) {
        byte[] b = Keys.randomBytes(rnd, valueBytes);
        System.arraycopy(MAGIC, 0, b, 0, MAGIC.length);
        return b;
    }

    private void count(String counter) {
        counters.get(counter).incrementAndGet();
    }

    /** Creates every object (unmeasured) and opens the watches. */
    @Override
    public void setUp(Session s) throws InterruptedException {
        AtomicReference<StatusRuntimeException> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        int n = Math.min(PRELOAD_THREADS, objects);
        for (int t = 0; t < n; t++) {
            int first = t;
            KVGrpc.KVBlockingStub stub = KvWorkloads.kv(s, t);
            byte[] base = base(new SplittableRandom(s.config().seed() + t));
            Thread th = new Thread(() -> {
                try {
                    for (int obj = first; obj < objects && failure.get() == null; obj += n) {
                        if (create(stub, obj, base, System.nanoTime())) count("preloaded");
                    }
                } catch (StatusRuntimeException e) {
                    failure.compareAndSet(null, e);
                }
            }, "kube-preload-" + t);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) th.join();
        if (failure.get() != null) throw failure.get();
        openWatches(s);
    }

    private void openWatches(Session s) throws InterruptedException {
        Series event = s.series("event");
        CountDownLatch created = new CountDownLatch(watches);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        ByteString from = ByteString.copyFromUtf8(PREFIX);
        for (int i = 0; i < watches; i++) {
            StreamObserver<WatchRequest> req = WatchGrpc.newStub(s.channel(i)).watch(new StreamObserver<>() {
                @Override
                public void onNext(WatchResponse r) {
                    long now = System.nanoTime();
                    if (r.getCreated()) created.countDown();
                    for (Event e : r.getEventsList()) {
                        count("events");
                        if (e.getType() == Event.EventType.PUT) {
                            long due = Keys.stamp(e.getKv().getValue(), STAMP_OFFSET);
                            if (due > 0) event.ok(now - due);
                        }
                    }
                }

                @Override
                public void onError(Throwable t) {
                    failed.compareAndSet(null, t);
                    created.countDown();
                }

                @Override
                public void onCompleted() {}
            });
            watchStreams.add(req);
            req.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder().setKey(from)
                    .setRangeEnd(Keys.prefixEnd(from)).setPrevKv(true).setProgressNotify(true)).build());
        }
        if (!created.await(WatchWorkload.CREATE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw Status.DEADLINE_EXCEEDED.withDescription("kube watches not created").asRuntimeException();
        }
        if (failed.get() != null) throw Status.fromThrowable(failed.get()).asRuntimeException();
    }

    @Override
    public Operation newClient(int index, Session s) {
        KVGrpc.KVBlockingStub stub = KvWorkloads.kv(s, index);
        SplittableRandom rnd = new SplittableRandom(s.config().seed() * 1_000_003L + index);
        byte[] base = base(rnd);
        Series[] kinds = new Series[Kind.values().length];
        for (Kind k : Kind.values()) kinds[k.ordinal()] = s.series(k.name().toLowerCase(Locale.ROOT));
        Clock clock = s.clock();
        return (ticket, due, out) -> {
            Kind kind = choose(rnd);
            Series series = kinds[kind.ordinal()];
            try {
                withRetries(() -> perform(kind, stub, rnd, base, due), rnd);
            } catch (StatusRuntimeException e) {
                series.error(e.getStatus().getCode().name());
                throw e;
            }
            series.ok(clock.nanoTime() - due);
            return 0;
        };
    }

    Kind choose(SplittableRandom rnd) {
        double r = rnd.nextDouble();
        if (r < params.writeFraction()) {
            double w = r / params.writeFraction();
            if (w < params.createShareOfWrites()) return Kind.CREATE;
            if (w < params.createShareOfWrites() + deleteShareOfWrites) return Kind.DELETE;
            return Kind.UPDATE;
        }
        return rnd.nextDouble() < listShareOfReads ? Kind.LIST : Kind.GET;
    }

    /** The simulator's retry: on UNAVAILABLE, back off {@code first << (n-1)} plus up to 20 % jitter, up to maxAttempts. */
    private void withRetries(Runnable call, SplittableRandom rnd) {
        for (int n = 1; ; n++) {
            try {
                call.run();
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || n >= params.maxAttempts()) throw e;
                count("retries");
                long backoff = params.firstBackoffNanos() << (n - 1);
                long sleep = backoff + (long) (rnd.nextDouble() * backoff * 0.2);
                try {
                    TimeUnit.NANOSECONDS.sleep(sleep);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
                }
            }
        }
    }

    private void perform(Kind kind, KVGrpc.KVBlockingStub stub, SplittableRandom rnd, byte[] base, long due) {
        switch (kind) {
            case GET -> KvWorkloads.deadline(stub).range(RangeRequest.newBuilder().setKey(key(rnd.nextInt(objects))).setLimit(1).build());
            case LIST -> list(stub);
            case CREATE -> {
                Integer obj = deleted.poll();
                int o = obj != null ? obj : rnd.nextInt(objects);
                if (!create(stub, o, base, due)) count("alreadyExists");
            }
            case UPDATE -> guaranteedUpdate(stub, rnd.nextInt(objects), base, due, false);
            case DELETE -> guaranteedUpdate(stub, rnd.nextInt(objects), base, due, true);
        }
    }

    private boolean create(KVGrpc.KVBlockingStub stub, int obj, byte[] base, long due) {
        ByteString k = key(obj);
        TxnResponse r = KvWorkloads.deadline(stub).txn(TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(k).setTarget(Compare.CompareTarget.MOD).setResult(Compare.CompareResult.EQUAL)
                        .setModRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(k).setValue(value(base, due))))
                .build());
        return r.getSucceeded();
    }

    /**
     * GuaranteedUpdate (or a delete with its precondition): read the object, then a Txn on its mod_revision;
     * on a conflict the Else branch's Range gives the current revision and the Txn is tried again (bounded).
     */
    private void guaranteedUpdate(KVGrpc.KVBlockingStub stub, int obj, byte[] base, long due, boolean delete) {
        ByteString k = key(obj);
        RangeResponse got = KvWorkloads.deadline(stub).range(RangeRequest.newBuilder().setKey(k).setLimit(1).build());
        if (got.getKvsCount() == 0) {
            count("notFound");
            return;
        }
        long rev = got.getKvs(0).getModRevision();
        for (int attempt = 1; attempt <= params.maxAttempts(); attempt++) {
            RequestOp then = delete
                    ? RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(k)).build()
                    : RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(k).setValue(value(base, due))).build();
            TxnResponse r = KvWorkloads.deadline(stub).txn(TxnRequest.newBuilder()
                    .addCompare(Compare.newBuilder().setKey(k).setTarget(Compare.CompareTarget.MOD).setResult(Compare.CompareResult.EQUAL)
                            .setModRevision(rev))
                    .addSuccess(then)
                    .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(k)))
                    .build());
            if (r.getSucceeded()) {
                // Full only if racing creates re-made objects still listed: those are then picked at random instead.
                if (delete) deleted.offer(obj);
                return;
            }
            count("conflicts");
            List<KeyValue> current = r.getResponsesCount() > 0 ? r.getResponses(0).getResponseRange().getKvsList() : List.of();
            if (current.isEmpty()) {
                count("notFound");
                return;
            }
            rev = current.get(0).getModRevision();
        }
        throw Status.ABORTED.withDescription("GuaranteedUpdate: still conflicting after " + params.maxAttempts() + " attempts")
                .asRuntimeException();
    }

    /** client-go's pager: limit, then from lastKey+"\x00" at the first page's revision while "more". */
    private void list(KVGrpc.KVBlockingStub stub) {
        ByteString from = ByteString.copyFromUtf8(PREFIX);
        ByteString end = Keys.prefixEnd(from);
        long rev = 0;
        ByteString next = from;
        for (int page = 0; page < MAX_PAGES; page++) {
            RangeResponse r = KvWorkloads.deadline(stub).range(RangeRequest.newBuilder().setKey(next).setRangeEnd(end)
                    .setLimit(pageSize).setRevision(rev).build());
            count("listPages");
            if (rev == 0) rev = r.getHeader().getRevision();
            if (!r.getMore() || r.getKvsCount() == 0) return;
            next = r.getKvs(r.getKvsCount() - 1).getKey().concat(ByteString.copyFrom(new byte[] {0}));
        }
        throw Status.INTERNAL.withDescription("list did not end after " + MAX_PAGES + " pages").asRuntimeException();
    }

    @Override
    public Map<String, Long> counters() {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override
    public void close() {
        for (StreamObserver<WatchRequest> r : watchStreams) {
            try {
                r.onCompleted();
            } catch (RuntimeException e) {
                // already failed
            }
        }
    }

}
