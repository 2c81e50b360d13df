package io.quorumlab.server.api;

import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.WatchStream;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.server.EtcdError;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's Watch service: one mvcc {@link WatchStream} per gRPC stream, drained by one sender
 * thread that honours gRPC flow control. A client that does not read fills its bounded outbox;
 * the hub then marks its watchers unsynced and catches them up later, so apply never waits.
 * Every answer to a create or cancel, refusals included, goes through that one outbox, so a
 * stream's answers leave in request order (etcd's Go client pairs each "created" with its
 * oldest pending create). A member that has stopped ends its streams with "server stopped".
 *
 * <p>A sender thread per stream because WatchStream offers a blocking poll and no ready
 * callback; streams are few (tens per kube-apiserver) and bounded by {@code maxWatchStreams}.
 */
final class WatchService extends WatchGrpc.WatchImplBase {
    private static final Logger log = LoggerFactory.getLogger(WatchService.class);
    /** How long the sender waits for the outbox or for flow control before re-checking. */
    private static final long SENDER_WAKE_MILLIS = 100;
    /** A progress request that found an unsynced watcher is retried at most this often. */
    private static final long PROGRESS_RETRY_NANOS = 50_000_000L;
    private static final long SENDER_STACK_BYTES = 256 * 1024;

    private final ApiContext api;
    private final AtomicInteger openStreams = new AtomicInteger();
    private final AtomicInteger streamSeq = new AtomicInteger();

    WatchService(ApiContext api) { this.api = api; }

    int openStreams() { return openStreams.get(); }

    @Override
    public StreamObserver<WatchRequest> watch(StreamObserver<io.etcd.jetcd.api.WatchResponse> out) {
        ServerCallStreamObserver<io.etcd.jetcd.api.WatchResponse> call = (ServerCallStreamObserver<io.etcd.jetcd.api.WatchResponse>) out;
        if (api.member.isStopped()) {
            call.onError(GrpcErrors.of(EtcdError.STOPPED));
            return new Ignore();
        }
        if (openStreams.incrementAndGet() > api.config().maxWatchStreams()) {
            openStreams.decrementAndGet();
            call.onError(Status.RESOURCE_EXHAUSTED.withDescription("quorumlab: too many watch streams").asRuntimeException());
            return new Ignore();
        }
        try {
            Session s = new Session(call, Boolean.TRUE.equals(ApiInterceptor.REQUIRES_LEADER.get()));
            s.start();
            return s;
        } catch (RuntimeException e) {
            openStreams.decrementAndGet();
            throw e;
        }
    }

    private static final class Ignore implements StreamObserver<WatchRequest> {
        @Override public void onNext(WatchRequest value) {}
        @Override public void onError(Throwable t) {}
        @Override public void onCompleted() {}
    }

    private final class Session implements StreamObserver<WatchRequest> {
        private final ServerCallStreamObserver<io.etcd.jetcd.api.WatchResponse> call;
        private final WatchStream stream;
        private final Set<Long> fragmenting = ConcurrentHashMap.newKeySet();
        private final Object fragmentLock = new Object();
        private final Thread sender;
        /** The client sent {@code hasleader: true}: end the stream when the leader stays lost (as etcd's monitorLeader). */
        private final boolean requiresLeader;
        private long noLeaderSince; // sender thread only; 0 = a leader is known
        private final Object callLock = new Object();
        private volatile boolean done;
        /** Newest revision a progress request must be answered with (or later); -1: none asked. */
        private volatile long progressWantRev = -1;
        /** Revision of the newest progress answer sent; written by the sender only. */
        private volatile long progressAnsweredRev = -1;
        private boolean closedOnce; // guarded by callLock

        Session(ServerCallStreamObserver<io.etcd.jetcd.api.WatchResponse> call, boolean requiresLeader) {
            this.call = call;
            this.requiresLeader = requiresLeader;
            this.stream = api.store().watchHub().newStream(api.config().watchEventCapacity(), api.config().maxWatchersPerStream());
            this.sender = new Thread(null, this::sendLoop, "watch-send-" + streamSeq.incrementAndGet(), SENDER_STACK_BYTES);
            sender.setDaemon(true);
            call.setOnReadyHandler(() -> LockSupport.unpark(sender));
            call.setOnCancelHandler(() -> finish(null, false));
        }

        void start() { sender.start(); }

        @Override
        public void onNext(WatchRequest req) {
            if (done) return;
            try {
                switch (req.getRequestUnionCase()) {
                    case CREATE_REQUEST -> create(req.getCreateRequest());
                    case CANCEL_REQUEST -> {
                        long id = req.getCancelRequest().getWatchId();
                        fragmenting.remove(id);
                        stream.cancel(id); // unknown ids get no answer, as in etcd
                    }
                    case PROGRESS_REQUEST -> {
                        // Answered now when every watcher is synced; otherwise the sender retries
                        // until an answer at least this new goes out (etcd 3.5.8+ defers it likewise).
                        // Retrying is safe: the hub only answers when all are synced, so the
                        // revision never runs ahead of events already sent.
                        progressWantRev = Math.max(progressWantRev, api.store().currentRevision());
                        stream.requestProgress();
                    }
                    default -> { } // etcd ignores requests it does not know
                }
                if (stream.overrun()) {
                    // An answer found no room: the client sent thousands of requests without reading any.
                    finish(Status.RESOURCE_EXHAUSTED.withDescription("quorumlab: watch stream not reading its responses")
                            .asRuntimeException(), true);
                }
            } catch (RuntimeException e) {
                if (done) return; // the stream was closed under this request (client gone): nobody to answer
                if (api.member.isStopped()) { // the store closed under the stream
                    finish(GrpcErrors.of(EtcdError.STOPPED), true);
                    return;
                }
                log.error("watch request failed", e);
                finish(GrpcErrors.toStatus(e), true);
            }
        }

        private void create(io.etcd.jetcd.api.WatchCreateRequest p) {
            WatchCreateRequest req = ProtoMapper.watchCreate(p);
            // A refused create is answered by the hub in the stream's outbox (created+canceled, watch id -1,
            // etcd's reason), behind the answers to earlier requests. Under fragmentLock: the sender may
            // already hold this watcher's first events when watch() returns, and must see the fragment
            // flag before it decides how to send them.
            synchronized (fragmentLock) {
                long id = stream.watch(req);
                if (id != -1 && req.fragment()) fragmenting.add(id);
            }
        }

        @Override
        public void onError(Throwable t) { finish(null, false); }

        /** The client closed its side: etcd then ends the stream with OK. */
        @Override
        public void onCompleted() { finish(null, true); }

        private void finish(RuntimeException error, boolean answer) {
            synchronized (callLock) {
                if (closedOnce) return;
                closedOnce = true;
                done = true;
                stream.close();
                openStreams.decrementAndGet();
                if (answer) {
                    try {
                        if (error == null) call.onCompleted();
                        else call.onError(error);
                    } catch (RuntimeException e) {
                        log.debug("watch stream already closed: {}", e.toString());
                    }
                }
            }
            LockSupport.unpark(sender);
        }

        private void sendLoop() {
            long lastProgressTry = System.nanoTime();
            try {
                while (!done) {
                    if (api.member.isStopped()) { // fail-stopped or closed: nothing more will be applied here
                        finish(GrpcErrors.of(EtcdError.STOPPED), true);
                        return;
                    }
                    if (requiresLeader && leaderLostTooLong()) {
                        finish(GrpcErrors.of(EtcdError.NO_LEADER), true);
                        return;
                    }
                    if (!call.isReady()) {
                        LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(SENDER_WAKE_MILLIS));
                        continue;
                    }
                    long now = System.nanoTime();
                    if (progressWantRev > progressAnsweredRev && now - lastProgressTry >= PROGRESS_RETRY_NANOS) {
                        lastProgressTry = now;
                        stream.requestProgress();
                    }
                    // The outbox offers no ready callback: block on it with a timeout.
                    WatchResponse r = stream.poll(SENDER_WAKE_MILLIS, TimeUnit.MILLISECONDS);
                    if (r == null) continue;
                    if (r.watchId() == WatchResponse.STREAM_PROGRESS_ID && r.isProgress()) { // a refused create has id -1 too
                        progressAnsweredRev = Math.max(progressAnsweredRev, r.revision());
                    }
                    if (r.canceled()) fragmenting.remove(r.watchId());
                    deliver(r);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                log.error("watch sender failed", e);
                finish(GrpcErrors.toStatus(e), true);
            }
        }

        private boolean leaderLostTooLong() {
            if (api.member.leaderId() != 0) {
                noLeaderSince = 0;
                return false;
            }
            long now = System.nanoTime();
            if (noLeaderSince == 0) noLeaderSince = now;
            return now - noLeaderSince >= api.config().noLeaderStreamTimeout().toNanos();
        }

        private void deliver(WatchResponse r) {
            ProtoMapper.Headers h = api.headers();
            io.etcd.jetcd.api.WatchResponse full = ProtoMapper.watch(r, h);
            if (r.events().size() < 2 || full.getSerializedSize() <= api.config().maxRequestBytes() || !fragments(r.watchId())) {
                send(full);
                return;
            }
            // etcd's sendFragments: split events so each message stays under max-request-bytes;
            // every piece but the last carries fragment=true.
            List<io.etcd.jetcd.api.WatchResponse> pieces = new ArrayList<>();
            io.etcd.jetcd.api.WatchResponse.Builder cur = full.toBuilder().clearEvents();
            int base = cur.build().getSerializedSize();
            int size = base;
            for (io.etcd.jetcd.api.Event e : full.getEventsList()) {
                int es = e.getSerializedSize() + 8;
                if (cur.getEventsCount() > 0 && size + es > api.config().maxRequestBytes()) {
                    pieces.add(cur.build());
                    cur = full.toBuilder().clearEvents();
                    size = base;
                }
                cur.addEvents(e);
                size += es;
            }
            pieces.add(cur.build());
            UnknownFieldSet fragment = UnknownFieldSet.newBuilder()
                    .addField(ProtoMapper.WATCH_RESPONSE_FRAGMENT_FIELD, ProtoMapper.varint(1)).build();
            for (int i = 0; i < pieces.size(); i++) {
                io.etcd.jetcd.api.WatchResponse piece = pieces.get(i);
                send(i < pieces.size() - 1 ? piece.toBuilder().setUnknownFields(fragment).build() : piece);
            }
        }

        private boolean fragments(long watchId) {
            synchronized (fragmentLock) {
                return fragmenting.contains(watchId);
            }
        }

        private void send(io.etcd.jetcd.api.WatchResponse resp) {
            synchronized (callLock) {
                if (closedOnce) return;
                try {
                    call.onNext(resp);
                } catch (RuntimeException e) {
                    log.debug("watch stream closed under the sender: {}", e.toString());
                    done = true;
                }
            }
        }
    }
}
