package io.quorumlab.server.api;

import com.google.protobuf.Empty;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.LeaseGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.LeaseLeasesResponse;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.LeaseRevokeResponse;
import io.quorumlab.mvcc.api.LeaseTimeToLiveResponse;
import io.quorumlab.mvcc.api.MvccException;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's Lease service. Grant and revoke go through Raft; keep-alives go to the member (the
 * leader's lessor); TimeToLive and Leases read the local lessor after a read barrier.
 *
 * <p>LeaseLeases is missing from jetcd-grpc's trimmed proto, so it is added by hand: request and
 * response are carried as {@link Empty} with unknown fields (LeaseLeasesResponse is
 * {@code header = 1, repeated LeaseStatus{int64 ID = 1} leases = 2}).
 */
final class LeaseService extends LeaseGrpc.LeaseImplBase {
    private static final Logger log = LoggerFactory.getLogger(LeaseService.class);
    static final String SERVICE = "etcdserverpb.Lease";
    static final MethodDescriptor<Empty, Empty> LEASE_LEASES = MethodDescriptor.<Empty, Empty>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "LeaseLeases"))
            .setRequestMarshaller(ProtoUtils.marshaller(Empty.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(Empty.getDefaultInstance()))
            .build();

    private final ApiContext api;

    LeaseService(ApiContext api) { this.api = api; }

    /** The generated Lease service plus the hand-written LeaseLeases method. */
    ServerServiceDefinition definition() {
        ServerServiceDefinition generated = bindService();
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(SERVICE);
        generated.getMethods().forEach(m -> b.addMethod(m));
        b.addMethod(LEASE_LEASES, ServerCalls.asyncUnaryCall(this::leaseLeases));
        return b.build();
    }

    @Override
    public void leaseGrant(io.etcd.jetcd.api.LeaseGrantRequest req, StreamObserver<io.etcd.jetcd.api.LeaseGrantResponse> obs) {
        // etcd's server picks the id when the client leaves it 0 (positive, never 0).
        long id = req.getID() != 0 ? req.getID() : newLeaseId();
        LeaseGrantRequest g = new LeaseGrantRequest(req.getTTL(), id);
        try {
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        api.reply(obs, () -> api.member.propose(g), resp -> {
            LeaseGrantResponse r = (LeaseGrantResponse) resp;
            return io.etcd.jetcd.api.LeaseGrantResponse.newBuilder().setHeader(api.headers().at(r.header().revision()))
                    .setID(r.id()).setTTL(r.ttlSeconds()).build();
        });
    }

    static long newLeaseId() {
        long id;
        do {
            id = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        } while (id == 0);
        return id;
    }

    @Override
    public void leaseRevoke(io.etcd.jetcd.api.LeaseRevokeRequest req, StreamObserver<io.etcd.jetcd.api.LeaseRevokeResponse> obs) {
        api.reply(obs, () -> api.member.propose(new LeaseRevokeRequest(req.getID())), resp ->
                io.etcd.jetcd.api.LeaseRevokeResponse.newBuilder()
                        .setHeader(api.headers().at(((LeaseRevokeResponse) resp).header().revision())).build());
    }

    /** etcd answers a missing lease with TTL -1 (not an error): etcdctl prints "already expired". */
    @Override
    public void leaseTimeToLive(io.etcd.jetcd.api.LeaseTimeToLiveRequest req,
                                StreamObserver<io.etcd.jetcd.api.LeaseTimeToLiveResponse> obs) {
        java.util.concurrent.CompletableFuture<io.etcd.jetcd.api.LeaseTimeToLiveResponse> answer =
                api.member.leaseTimeToLive(req.getID(), req.getKeys()).handle((r, err) -> {
                    io.etcd.jetcd.api.LeaseTimeToLiveResponse.Builder b =
                            io.etcd.jetcd.api.LeaseTimeToLiveResponse.newBuilder().setID(req.getID());
                    if (err != null) {
                        Throwable e = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
                        if (!(e instanceof MvccException m) || m.code() != ErrorCode.LEASE_NOT_FOUND) {
                            throw e instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(e);
                        }
                        return b.setHeader(api.headers().at(api.store().currentRevision())).setTTL(-1).build();
                    }
                    b.setHeader(api.headers().at(r.header().revision())).setTTL(r.ttl()).setGrantedTTL(r.grantedTtl());
                    for (byte[] k : r.keys()) b.addKeys(ProtoMapper.bs(k));
                    return b.build();
                });
        api.reply(obs, () -> answer, x -> x);
    }

    void leaseLeases(Empty req, StreamObserver<Empty> obs) {
        api.reply(obs, () -> api.member.readBarrier(), v -> {
            LeaseLeasesResponse r = api.store().leaseLeases();
            UnknownFieldSet.Field.Builder leases = UnknownFieldSet.Field.newBuilder();
            for (long id : r.ids()) {
                leases.addLengthDelimited(UnknownFieldSet.newBuilder().addField(1, ProtoMapper.varint(id)).build().toByteString());
            }
            UnknownFieldSet body = UnknownFieldSet.newBuilder()
                    .addField(1, UnknownFieldSet.Field.newBuilder()
                            .addLengthDelimited(api.headers().at(r.header().revision()).toByteString()).build())
                    .addField(2, leases.build())
                    .build();
            return Empty.newBuilder().setUnknownFields(body).build();
        });
    }

    /**
     * One keep-alive in flight per stream: the next request is read only after the previous one is
     * answered (gRPC flow control then holds a client that sends faster). A lease that does not
     * exist is answered with TTL 0, as etcd does; other failures end the stream.
     */
    @Override
    public StreamObserver<io.etcd.jetcd.api.LeaseKeepAliveRequest> leaseKeepAlive(
            StreamObserver<io.etcd.jetcd.api.LeaseKeepAliveResponse> out) {
        ServerCallStreamObserver<io.etcd.jetcd.api.LeaseKeepAliveResponse> call =
                (ServerCallStreamObserver<io.etcd.jetcd.api.LeaseKeepAliveResponse>) out;
        call.disableAutoRequest();
        call.request(1);
        Object lock = new Object();
        return new StreamObserver<>() {
            private boolean closed; // guarded by lock

            @Override
            public void onNext(io.etcd.jetcd.api.LeaseKeepAliveRequest req) {
                long id = req.getID();
                ApiContext.safely(() -> api.member.leaseKeepAlive(id)).whenCompleteAsync((r, err) -> {
                    io.etcd.jetcd.api.LeaseKeepAliveResponse resp;
                    Throwable failure = null;
                    if (err == null) {
                        resp = io.etcd.jetcd.api.LeaseKeepAliveResponse.newBuilder()
                                .setHeader(api.headers().at(r.header().revision())).setID(r.id()).setTTL(r.ttl()).build();
                    } else if (isLeaseNotFound(err)) {
                        resp = io.etcd.jetcd.api.LeaseKeepAliveResponse.newBuilder()
                                .setHeader(api.headers().at(api.store().currentRevision())).setID(id).setTTL(0).build();
                    } else {
                        resp = null;
                        failure = err;
                    }
                    synchronized (lock) {
                        if (closed) return;
                        try {
                            if (resp != null) {
                                call.onNext(resp);
                                call.request(1);
                            } else {
                                closed = true;
                                call.onError(GrpcErrors.toStatus(failure));
                            }
                        } catch (RuntimeException e) {
                            closed = true;
                            log.debug("keep-alive stream closed: {}", e.toString());
                        }
                    }
                }, api.executor);
            }

            @Override
            public void onError(Throwable t) {
                synchronized (lock) {
                    closed = true;
                }
            }

            @Override
            public void onCompleted() {
                synchronized (lock) {
                    if (closed) return;
                    closed = true;
                    try {
                        call.onCompleted();
                    } catch (RuntimeException e) {
                        log.debug("keep-alive stream closed: {}", e.toString());
                    }
                }
            }
        };
    }

    private static boolean isLeaseNotFound(Throwable err) {
        Throwable e = err;
        while (e != null && !(e instanceof MvccException)) e = e.getCause();
        return e instanceof MvccException m && m.code() == ErrorCode.LEASE_NOT_FOUND;
    }
}
