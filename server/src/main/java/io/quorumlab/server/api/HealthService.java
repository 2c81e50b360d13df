package io.quorumlab.server.api;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** grpc.health.v1: SERVING while the member knows a leader, NOT_SERVING otherwise (any service name). */
final class HealthService extends HealthGrpc.HealthImplBase {
    private static final long WATCH_POLL_MILLIS = 1000;

    private final ApiContext api;
    private final ScheduledExecutorService timer;

    HealthService(ApiContext api, ScheduledExecutorService timer) {
        this.api = api;
        this.timer = timer;
    }

    private HealthCheckResponse.ServingStatus current() {
        return api.member.leaderId() != 0 ? HealthCheckResponse.ServingStatus.SERVING
                : HealthCheckResponse.ServingStatus.NOT_SERVING;
    }

    @Override
    public void check(HealthCheckRequest req, StreamObserver<HealthCheckResponse> obs) {
        ApiContext.answer(obs, () -> HealthCheckResponse.newBuilder().setStatus(current()).build());
    }

    /** Sends the status now and again whenever it changes (checked once a second). */
    @Override
    public void watch(HealthCheckRequest req, StreamObserver<HealthCheckResponse> obs) {
        ServerCallStreamObserver<HealthCheckResponse> call = (ServerCallStreamObserver<HealthCheckResponse>) obs;
        AtomicReference<HealthCheckResponse.ServingStatus> last = new AtomicReference<>();
        Object lock = new Object();
        Runnable check = () -> {
            HealthCheckResponse.ServingStatus now = current();
            synchronized (lock) {
                if (call.isCancelled() || now == last.getAndSet(now)) return;
                try {
                    call.onNext(HealthCheckResponse.newBuilder().setStatus(now).build());
                } catch (RuntimeException e) {
                    // cancelled meanwhile; the cancel handler stops the timer
                }
            }
        };
        AtomicReference<ScheduledFuture<?>> poll = new AtomicReference<>();
        call.setOnCancelHandler(() -> {
            ScheduledFuture<?> f = poll.get();
            if (f != null) f.cancel(false);
        });
        check.run();
        poll.set(timer.scheduleWithFixedDelay(check, WATCH_POLL_MILLIS, WATCH_POLL_MILLIS, TimeUnit.MILLISECONDS));
        if (call.isCancelled()) poll.get().cancel(false);
    }
}
