package io.quorumlab.server.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.WatchCancelRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A raw gRPC watch stream for tests; {@code initialRequests >= 0} turns on manual flow control. */
final class WatchClient implements ClientResponseObserver<WatchRequest, WatchResponse>, AutoCloseable {
    final LinkedBlockingQueue<WatchResponse> got = new LinkedBlockingQueue<>();
    volatile Throwable error;
    volatile boolean completed;
    private final int initialRequests;
    private ClientCallStreamObserver<WatchRequest> requests;

    WatchClient(WatchGrpc.WatchStub stub) { this(stub, -1); }

    WatchClient(WatchGrpc.WatchStub stub, int initialRequests) {
        this.initialRequests = initialRequests;
        stub.watch(this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> r) {
        requests = r;
        if (initialRequests >= 0) r.disableAutoRequestWithInitial(initialRequests);
    }

    @Override public void onNext(WatchResponse value) { got.add(value); }

    @Override public void onError(Throwable t) { error = t; }

    @Override public void onCompleted() { completed = true; }

    void request(int n) { requests.request(n); }

    static WatchCreateRequest.Builder create(String key, String end) {
        WatchCreateRequest.Builder b = WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8(key));
        if (end != null) b.setRangeEnd(ByteString.copyFromUtf8(end));
        return b;
    }

    static WatchCreateRequest.Builder fragmenting(WatchCreateRequest.Builder b) {
        return b.setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(ProtoMapper.WATCH_CREATE_FRAGMENT_FIELD, ProtoMapper.varint(1)).build());
    }

    void create(WatchCreateRequest.Builder b) { requests.onNext(WatchRequest.newBuilder().setCreateRequest(b).build()); }

    void cancel(long id) {
        requests.onNext(WatchRequest.newBuilder().setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(id)).build());
    }

    void progress() {
        requests.onNext(WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
    }

    WatchResponse next() throws InterruptedException {
        WatchResponse r = got.poll(10, TimeUnit.SECONDS);
        assertNotNull(r, () -> "no watch response; error=" + error);
        return r;
    }

    void assertQuiet(long millis) throws InterruptedException {
        WatchResponse r = got.poll(millis, TimeUnit.MILLISECONDS);
        assertNull(r, () -> "unexpected " + r);
    }

    @Override
    public void close() {
        if (error == null && !completed) requests.onCompleted();
    }
}
