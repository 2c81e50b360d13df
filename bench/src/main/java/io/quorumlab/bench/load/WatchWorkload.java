package io.quorumlab.bench.load;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * etcd benchmark's {@code watch} and {@code watch-latency}: {@code streams} Watch streams of
 * {@code watchersPerStream} watchers each over the watched keys (round robin), then puts to those keys.
 * Series: "put" (the request loops), "watch-create" (create request to created response) and "event"
 * (put due time to event arrival: each value carries its due time). Events still missing when the
 * events stop arriving count as NOT_RECEIVED errors of "event".
 */
public final class WatchWorkload implements Workload {
    /** After the puts end, wait this long without a new event before counting the rest as missing. */
    static final long EVENT_QUIET_NANOS = 5_000_000_000L;
    static final long CREATE_TIMEOUT_SECONDS = 60;

    private final String name;
    private final int streams;
    private final int watchersPerStream;
    private final int watchedKeyTotal;
    private final int keySize;
    private final int keySpaceSize;
    private final boolean sequentialKeys;
    private final int valSize;
    private final boolean prevKv;
    private final List<ByteString> watched = new ArrayList<>();
    private long[] watchersOfKey;
    private final List<StreamObserver<WatchRequest>> requestStreams = new ArrayList<>();
    private final AtomicLong expectedEvents = new AtomicLong();
    private final AtomicLong receivedEvents = new AtomicLong();
    private final AtomicLong lastEventNanos = new AtomicLong();

    /** etcd's {@code watch}: --streams 10, --watch-per-stream 100, --watched-key-total 1, --key-size 32, --key-space-size 1. */
    public static WatchWorkload watch(int streams, int watchPerStream, int watchedKeyTotal, int keySize, int keySpaceSize,
                                      boolean sequentialKeys) {
        return new WatchWorkload("watch", streams, watchPerStream, watchedKeyTotal, keySize, keySpaceSize, sequentialKeys, 16, false);
    }

    /** etcd's {@code watch-latency}: every watcher on one key; --streams 10, --watchers-per-stream 10, --prevkv. */
    public static WatchWorkload watchLatency(int streams, int watchersPerStream, boolean prevKv, int keySize, int valSize) {
        return new WatchWorkload("watch-latency", streams, watchersPerStream, 1, keySize, 1, true, valSize, prevKv);
    }

    private WatchWorkload(String name, int streams, int watchersPerStream, int watchedKeyTotal, int keySize, int keySpaceSize,
                          boolean sequentialKeys, int valSize, boolean prevKv) {
        KvWorkloads.requirePositive("--streams", streams);
        KvWorkloads.requirePositive("watchers per stream", watchersPerStream);
        KvWorkloads.requirePositive("--watched-key-total", watchedKeyTotal);
        KvWorkloads.requirePositive("--key-space-size", keySpaceSize);
        if ((long) streams * watchersPerStream > 1_000_000) throw new IllegalArgumentException("more than 1,000,000 watchers");
        this.name = name;
        this.streams = streams;
        this.watchersPerStream = watchersPerStream;
        this.watchedKeyTotal = watchedKeyTotal;
        this.keySize = keySize;
        this.keySpaceSize = keySpaceSize;
        this.sequentialKeys = sequentialKeys;
        this.valSize = Math.max(valSize, Long.BYTES);
        this.prevKv = prevKv;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> seriesNames() {
        return List.of("put");
    }

    @Override
    public List<String> extraSeriesNames() {
        return List.of("watch-create", "event");
    }

    @Override
    public void setUp(Session s) throws InterruptedException {
        SplittableRandom rnd = new SplittableRandom(s.config().seed());
        for (int i = 0; i < watchedKeyTotal; i++) {
            watched.add(Keys.key(sequentialKeys ? i % keySpaceSize : rnd.nextInt(keySpaceSize), keySize));
        }
        watchersOfKey = new long[watched.size()];
        Series create = s.series("watch-create");
        Series event = s.series("event");
        CountDownLatch created = new CountDownLatch(streams * watchersPerStream);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        int next = 0;
        for (int st = 0; st < streams; st++) {
            ConcurrentLinkedQueue<Long> sentAt = new ConcurrentLinkedQueue<>();
            StreamObserver<WatchRequest> req = WatchGrpc.newStub(s.channel(st)).watch(new StreamObserver<>() {
                @Override
                public void onNext(WatchResponse r) {
                    long now = System.nanoTime();
                    if (r.getCreated()) {
                        Long t = sentAt.poll();
                        if (t != null) create.ok(now - t);
                        created.countDown();
                    }
                    if (r.getCanceled()) failed.compareAndSet(null, Status.CANCELLED.withDescription(r.getCancelReason()).asRuntimeException());
                    for (Event e : r.getEventsList()) {
                        long due = Keys.stamp(e.getKv().getValue(), 0);
                        if (due > 0) event.ok(now - due);
                        receivedEvents.incrementAndGet();
                    }
                    if (r.getEventsCount() > 0) lastEventNanos.set(now);
                }

                @Override
                public void onError(Throwable t) {
                    failed.compareAndSet(null, t);
                    for (long i = created.getCount(); i > 0; i--) created.countDown();
                }

                @Override
                public void onCompleted() {}
            });
            requestStreams.add(req);
            for (int w = 0; w < watchersPerStream; w++, next++) {
                int k = next % watched.size();
                watchersOfKey[k]++;
                sentAt.add(System.nanoTime());
                synchronized (req) {
                    req.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder().setKey(watched.get(k))
                            .setPrevKv(prevKv)).build());
                }
            }
        }
        if (!created.await(CREATE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw Status.DEADLINE_EXCEEDED.withDescription("watchers not created in " + CREATE_TIMEOUT_SECONDS + " s").asRuntimeException();
        }
        Throwable t = failed.get();
        if (t != null) throw Status.fromThrowable(t).asRuntimeException();
    }

    @Override
    public Operation newClient(int index, Session s) {
        KVGrpc.KVBlockingStub stub = KvWorkloads.kv(s, index);
        byte[] value = Keys.randomBytes(new SplittableRandom(s.config().seed() + index), valSize);
        return (ticket, due, out) -> {
            int k = (int) (ticket % watched.size());
            KvWorkloads.deadline(stub).put(PutRequest.newBuilder().setKey(watched.get(k)).setValue(Keys.stamped(value, 0, due)).build());
            expectedEvents.addAndGet(watchersOfKey[k]);
            return 0;
        };
    }

    @Override
    public void finish(Session s) throws InterruptedException {
        lastEventNanos.set(System.nanoTime());
        while (receivedEvents.get() < expectedEvents.get() && System.nanoTime() - lastEventNanos.get() < EVENT_QUIET_NANOS) {
            Thread.sleep(10);
        }
        long missing = expectedEvents.get() - receivedEvents.get();
        for (long i = 0; i < missing; i++) s.series("event").error("NOT_RECEIVED");
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of("watchers", (long) streams * watchersPerStream, "expectedEvents", expectedEvents.get(),
                "receivedEvents", receivedEvents.get());
    }

    @Override
    public void close() {
        for (StreamObserver<WatchRequest> r : requestStreams) {
            try {
                synchronized (r) {
                    r.onCompleted();
                }
            } catch (RuntimeException e) {
                // the stream already failed; nothing to close
            }
        }
    }
}
