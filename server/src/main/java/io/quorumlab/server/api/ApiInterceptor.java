package io.quorumlab.server.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.member.MemberApi;

/**
 * Applied to every call: counts it in go-grpc-prometheus's metrics (grpc_server_started_total,
 * grpc_server_handled_total, with the same labels etcd exports), and refuses it with "no leader"
 * when the client sent metadata {@code hasleader: true} while this member knows no leader
 * (kube-apiserver sets it on watches; etcd checks it in its interceptors).
 */
final class ApiInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> HAS_LEADER = Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
    /** Set for calls that sent {@code hasleader: true}; streams use it to end themselves when the leader is lost. */
    static final Context.Key<Boolean> REQUIRES_LEADER = Context.key("quorumlab-requires-leader");

    /** One set per JVM: the default registry rejects a second registration of a name. */
    private static final class Metrics {
        static final Counter STARTED = register(Counter.build().name("grpc_server_started_total")
                .help("Total number of RPCs started on the server.").labelNames("grpc_type", "grpc_service", "grpc_method"));
        static final Counter HANDLED = register(Counter.build().name("grpc_server_handled_total")
                .help("Total number of RPCs completed on the server, regardless of success or failure.")
                .labelNames("grpc_type", "grpc_service", "grpc_method", "grpc_code"));

        private static Counter register(Counter.Builder b) {
            Counter c = b.create();
            try {
                CollectorRegistry.defaultRegistry.register(c);
            } catch (IllegalArgumentException alreadyThere) {
                // Someone else registered the name (another server in this JVM): count unexported.
            }
            return c;
        }
    }

    /** A method's counter children, resolved once (label lookups and code names cost more than the count). */
    private static final class MethodCounters {
        final String type, service, method;
        final Counter.Child started;
        final java.util.concurrent.atomic.AtomicReferenceArray<Counter.Child> handled =
                new java.util.concurrent.atomic.AtomicReferenceArray<>(Status.Code.values().length);

        MethodCounters(MethodDescriptor<?, ?> m) {
            type = grpcType(m.getType());
            service = m.getServiceName();
            method = m.getBareMethodName();
            started = Metrics.STARTED.labels(type, service, method);
        }

        Counter.Child handled(Status.Code code) {
            Counter.Child c = handled.get(code.ordinal());
            if (c == null) {
                c = Metrics.HANDLED.labels(type, service, method, goCodeName(code));
                handled.set(code.ordinal(), c);
            }
            return c;
        }
    }

    private static final java.util.concurrent.ConcurrentHashMap<String, MethodCounters> COUNTERS = new java.util.concurrent.ConcurrentHashMap<>();

    private final MemberApi member;

    ApiInterceptor(MemberApi member) { this.member = member; }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        MethodCounters counters = COUNTERS.computeIfAbsent(call.getMethodDescriptor().getFullMethodName(),
                name -> new MethodCounters(call.getMethodDescriptor()));
        counters.started.inc();
        ServerCall<Q, R> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                counters.handled(status.getCode()).inc();
                super.close(status, trailers);
            }
        };
        if ("true".equals(headers.get(HAS_LEADER))) {
            if (member.leaderId() == 0) {
                counted.close(GrpcErrors.of(EtcdError.NO_LEADER).getStatus(), new Metadata());
                return new ServerCall.Listener<>() {};
            }
            return Contexts.interceptCall(Context.current().withValue(REQUIRES_LEADER, true), counted, headers, next);
        }
        return next.startCall(counted, headers);
    }

    static String grpcType(MethodDescriptor.MethodType t) {
        return switch (t) {
            case UNARY -> "unary";
            case CLIENT_STREAMING -> "client_stream";
            case SERVER_STREAMING -> "server_stream";
            default -> "bidi_stream";
        };
    }

    /** grpc-go's codes.Code.String(): "OK", "InvalidArgument", "Canceled", ... */
    static String goCodeName(Status.Code c) {
        if (c == Status.Code.OK) return "OK";
        if (c == Status.Code.CANCELLED) return "Canceled";
        StringBuilder sb = new StringBuilder();
        for (String part : c.name().split("_")) sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
        return sb.toString();
    }
}
