package io.quorumlab.bench.load;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

/**
 * A closed-loop load generator against any etcd v3 endpoint, in the style of etcd's {@code benchmark}:
 * {@code clients} workers spread over {@code conns} gRPC connections, each issuing its next request when
 * the previous one answers, for a fixed duration. Latency goes into an HdrHistogram; errors are counted
 * by gRPC status code. It speaks only the public gRPC API, so it measures real etcd the same way.
 */
public final class LoadGenerator {
    public enum Op { PUT, RANGE_LINEARIZABLE, RANGE_SERIALIZABLE }

    /** @param keySpace distinct keys written/read; @param valueBytes bytes per put */
    public record Spec(List<String> endpoints, Op op, int clients, int conns, long durationNanos, int keySpace,
                       int keyBytes, int valueBytes, long seed) {
        public Spec {
            if (endpoints.isEmpty() || clients <= 0 || conns <= 0 || durationNanos <= 0 || keySpace <= 0) {
                throw new IllegalArgumentException("bad load spec " + this);
            }
        }
    }

    /** What a run measured. Latencies in milliseconds. */
    public record Result(Op op, int clients, double seconds, long ok, Map<String, Long> errors, double qps, double meanMs,
                         double p50Ms, double p90Ms, double p99Ms, double p999Ms, double maxMs) {
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "%-20s %8s %10s %8s %8s %8s %8s %8s %8s%n", "op", "clients", "qps",
                    "mean", "p50", "p90", "p99", "p99.9", "max"));
            sb.append(String.format(Locale.ROOT, "%-20s %8d %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f  (ms)%n",
                    op.name().toLowerCase(Locale.ROOT), clients, qps, meanMs, p50Ms, p90Ms, p99Ms, p999Ms, maxMs));
            if (!errors.isEmpty()) sb.append("errors: ").append(errors).append('\n');
            return sb.toString();
        }

        public String json() {
            StringBuilder e = new StringBuilder("{");
            errors.forEach((k, v) -> e.append(e.length() > 1 ? ", " : "").append('"').append(k).append("\": ").append(v));
            e.append('}');
            return String.format(Locale.ROOT, "{\"op\": \"%s\", \"clients\": %d, \"seconds\": %.3f, \"ok\": %d, \"qps\": %.1f, "
                    + "\"meanMs\": %.3f, \"p50Ms\": %.3f, \"p90Ms\": %.3f, \"p99Ms\": %.3f, \"p999Ms\": %.3f, \"maxMs\": %.3f, "
                    + "\"errors\": %s}", op.name().toLowerCase(Locale.ROOT), clients, seconds, ok, qps, meanMs, p50Ms, p90Ms,
                    p99Ms, p999Ms, maxMs, e);
        }
    }

    private LoadGenerator() {}

    /** Runs the load; {@code progress} receives elapsed nanoseconds about every 500 ms. */
    public static Result run(Spec spec, LongConsumer progress) throws InterruptedException {
        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < spec.conns(); i++) {
            String ep = spec.endpoints().get(i % spec.endpoints().size()).replaceFirst("^https?://", "");
            channels.add(NettyChannelBuilder.forTarget(ep).usePlaintext().build());
        }
        Recorder recorder = new Recorder(3);
        AtomicLong ok = new AtomicLong();
        Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        long end = start + spec.durationNanos();
        List<Thread> workers = new ArrayList<>();
        for (int c = 0; c < spec.clients(); c++) {
            KVGrpc.KVBlockingStub stub = KVGrpc.newBlockingStub(channels.get(c % channels.size()));
            SplittableRandom rnd = new SplittableRandom(spec.seed() * 1_000_003L + c);
            byte[] value = new byte[spec.valueBytes()];
            rnd.nextBytes(value);
            ByteString v = ByteString.copyFrom(value);
            Thread t = new Thread(() -> {
                while (System.nanoTime() < end) {
                    ByteString key = key(rnd.nextInt(spec.keySpace()), spec.keyBytes());
                    long t0 = System.nanoTime();
                    try {
                        var s = stub.withDeadlineAfter(10, TimeUnit.SECONDS);
                        switch (spec.op()) {
                            case PUT -> s.put(PutRequest.newBuilder().setKey(key).setValue(v).build());
                            case RANGE_LINEARIZABLE -> s.range(RangeRequest.newBuilder().setKey(key).build());
                            case RANGE_SERIALIZABLE -> s.range(RangeRequest.newBuilder().setKey(key).setSerializable(true).build());
                        }
                        recorder.recordValue(Math.max(1, System.nanoTime() - t0));
                        ok.incrementAndGet();
                    } catch (StatusRuntimeException e) {
                        Status.Code code = e.getStatus().getCode();
                        errors.computeIfAbsent(code.name(), k -> new AtomicLong()).incrementAndGet();
                    }
                }
            }, "load-" + c);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        while (System.nanoTime() < end) {
            Thread.sleep(Math.min(500, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            if (progress != null) progress.accept(Math.min(spec.durationNanos(), System.nanoTime() - start));
        }
        for (Thread t : workers) t.join(15_000);
        double seconds = (System.nanoTime() - start) / 1e9;
        for (ManagedChannel ch : channels) ch.shutdownNow();
        Histogram h = recorder.getIntervalHistogram();
        Map<String, Long> errs = new TreeMap<>();
        errors.forEach((k, v) -> errs.put(k, v.get()));
        return new Result(spec.op(), spec.clients(), seconds, ok.get(), errs, ok.get() / seconds, h.getMean() / 1e6,
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(90) / 1e6, h.getValueAtPercentile(99) / 1e6,
                h.getValueAtPercentile(99.9) / 1e6, h.getMaxValue() / 1e6);
    }

    private static ByteString key(int i, int keyBytes) {
        String s = String.format(Locale.ROOT, "bench/%0" + Math.max(1, keyBytes - 6) + "d", i);
        return ByteString.copyFromUtf8(s);
    }
}
