package io.quorumlab.server.api;

import com.google.protobuf.MessageLite;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.TxnChecks;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.member.MemberApi;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the services share: the member, the limits, and the executor that answers hop to, so that
 * serialising a response never runs on the member's or the apply loop's thread.
 */
final class ApiContext {
    private static final Logger log = LoggerFactory.getLogger(ApiContext.class);

    final MemberApi member;
    final ClientServer.Config config;
    final Executor executor;

    ApiContext(MemberApi member, ClientServer.Config config, Executor executor) {
        this.member = member;
        this.config = config;
        this.executor = executor;
    }

    MvccStore store() { return member.store(); }

    ClientServer.Config config() { return config; }

    ProtoMapper.Headers headers() { return ProtoMapper.Headers.of(member); }

    /** etcd's gRPC-layer checks (empty key, ignore_value/ignore_lease, txn op budget, duplicate keys). */
    void validate(Request r) { TxnChecks.validate(r, config.maxTxnOps()); }

    /** etcd rejects a proposal whose encoding exceeds --max-request-bytes before it enters the log. */
    void checkSize(MessageLite proto) {
        if (proto.getSerializedSize() > config.maxRequestBytes()) throw EtcdError.REQUEST_TOO_LARGE.exception();
    }

    /**
     * Answers a unary call when the member's future completes, on the API executor. A member
     * that throws instead of returning a failed future is answered the same way.
     */
    <R, T> void reply(StreamObserver<T> obs, Supplier<? extends CompletionStage<R>> call, Function<R, T> map) {
        replyOn(obs, call, map, executor);
    }

    /**
     * Like {@link #reply} but answers on the thread that completes the future (for writes, the
     * member's apply thread): a write's response is a small message, and the hop to the API
     * executor would cost more than building it. Reads keep {@link #reply}, whose mapping runs the
     * range itself and must not occupy the apply thread.
     */
    <R, T> void replyInline(StreamObserver<T> obs, Supplier<? extends CompletionStage<R>> call, Function<R, T> map) {
        replyOn(obs, call, map, Runnable::run);
    }

    private static <R, T> void replyOn(StreamObserver<T> obs, Supplier<? extends CompletionStage<R>> call, Function<R, T> map,
                                       Executor where) {
        CompletionStage<R> f;
        try {
            f = call.get();
        } catch (RuntimeException e) {
            fail(obs, e);
            return;
        }
        f.whenCompleteAsync((r, err) -> {
            if (err != null) {
                fail(obs, err);
                return;
            }
            answer(obs, () -> map.apply(r));
        }, where);
    }

    /** The member's future, or a failed one if the member threw instead of returning it. */
    static <R> CompletableFuture<R> safely(Supplier<? extends CompletableFuture<R>> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Answers a unary call now; any failure becomes etcd's status. */
    static <T> void answer(StreamObserver<T> obs, Supplier<T> body) {
        T out;
        try {
            out = body.get();
        } catch (Throwable e) {
            rethrowFatal(e);
            fail(obs, e);
            return;
        }
        try {
            obs.onNext(out);
            obs.onCompleted();
        } catch (RuntimeException e) {
            log.debug("client went away before its answer: {}", e.toString());
        }
    }

    static void fail(StreamObserver<?> obs, Throwable err) {
        try {
            obs.onError(GrpcErrors.toStatus(err));
        } catch (RuntimeException e) {
            log.debug("client went away before its error: {}", e.toString());
        }
    }

    /** Out-of-memory and friends are not answers; a StackOverflowError from a hostile nesting is. */
    static void rethrowFatal(Throwable e) {
        if (e instanceof VirtualMachineError v && !(e instanceof StackOverflowError)) throw v;
    }
}
