package io.quorumlab.server.api;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Failures as the gRPC statuses etcd sends: the code and the exact message clients match on
 * (COMPAT.md). Anything unexpected becomes INTERNAL and is logged; it never escapes to gRPC's
 * own handler (which would report UNKNOWN without a message).
 */
final class GrpcErrors {
    private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

    private GrpcErrors() {}

    static StatusRuntimeException of(EtcdError e) { return status(Status.Code.valueOf(e.code().name()), e.message()); }

    static StatusRuntimeException status(Status.Code code, String message) {
        return Status.fromCode(code).withDescription(message).asRuntimeException();
    }

    static StatusRuntimeException toStatus(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof StatusRuntimeException s) return s;
        if (e instanceof StatusException s) return s.getStatus().asRuntimeException(s.getTrailers());
        if (e instanceof EtcdException x) return of(x.error());
        if (e instanceof MvccException x) return status(Status.Code.valueOf(x.code().grpcCode()), x.code().message());
        if (e instanceof ProtoMapper.InvalidRequest x) return status(Status.Code.INVALID_ARGUMENT, x.getMessage());
        // A future that timed out in this layer reads to clients as etcd's request timeout.
        if (e instanceof TimeoutException) return of(EtcdError.TIMEOUT);
        if (e instanceof CancellationException) return Status.CANCELLED.withDescription("request canceled").asRuntimeException();
        if (e instanceof UnsupportedOperationException) {
            return Status.UNIMPLEMENTED.withDescription("quorumlab: " + e.getMessage()).asRuntimeException();
        }
        log.error("unexpected failure answering a client request", e);
        return Status.INTERNAL.withDescription("quorumlab: internal error: " + e).withCause(e).asRuntimeException();
    }

    private static Throwable unwrap(Throwable t) {
        Throwable e = t;
        for (int i = 0; i < 8 && (e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null; i++) {
            e = e.getCause();
        }
        return e;
    }
}
