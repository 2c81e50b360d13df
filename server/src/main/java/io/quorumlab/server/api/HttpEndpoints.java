package io.quorumlab.server.api;

import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderValues;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpMethod;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.RangeRequest;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's HTTP endpoints on the client port: GET /health, /version, /metrics. Answers are
 * computed off the event loop (the health check waits for a read barrier).
 */
final class HttpEndpoints extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(HttpEndpoints.class);
    static final String VERSION_JSON = "{\"etcdserver\":\"" + EtcdVersion.SERVER + "\",\"etcdcluster\":\"" + EtcdVersion.CLUSTER + "\"}";
    private static final byte[] HEALTH_KEY = Bytes.of("health");

    private final ApiContext api;

    HttpEndpoints(ApiContext api) { this.api = api; }

    /**
     * etcd 3.4's /health: unhealthy with an active alarm or without a leader; otherwise healthy
     * only if a linearizable read completes in time.
     */
    static CompletableFuture<Boolean> healthy(ApiContext api) {
        if (api.member.leaderId() == 0 || api.store().noSpaceAlarmed()) return CompletableFuture.completedFuture(false);
        return ApiContext.safely(api.member::readBarrier)
                .orTimeout(api.config().healthTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .thenApplyAsync(v -> {
                    api.store().range(RangeRequest.key(HEALTH_KEY));
                    return true;
                }, api.executor)
                .exceptionally(e -> false);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (req.decoderResult().isFailure()) {
            // Neither HTTP/2 nor parseable HTTP/1.1: answer as Go's server does and hang up.
            respond(ctx, false, HttpResponseStatus.BAD_REQUEST, "text/plain; charset=utf-8", "400 Bad Request\n");
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String path = req.uri();
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        if (!req.method().equals(HttpMethod.GET)) {
            respond(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "Method Not Allowed\n");
            return;
        }
        switch (path) {
            case "/version" -> respond(ctx, keepAlive, HttpResponseStatus.OK, "application/json", VERSION_JSON);
            case "/health" -> healthy(api).whenComplete((ok, err) -> {
                boolean good = err == null && Boolean.TRUE.equals(ok);
                respond(ctx, keepAlive, good ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, "application/json",
                        good ? "{\"health\":\"true\"}" : "{\"health\":\"false\"}");
            });
            case "/metrics" -> api.executor.execute(() -> {
                StringWriter w = new StringWriter(16 * 1024);
                try {
                    TextFormat.write004(w, CollectorRegistry.defaultRegistry.metricFamilySamples());
                    respond(ctx, keepAlive, HttpResponseStatus.OK, TextFormat.CONTENT_TYPE_004, w.toString());
                } catch (IOException | RuntimeException e) {
                    log.warn("metrics export failed: {}", e.toString());
                    respond(ctx, keepAlive, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", "metrics failed\n");
                }
            });
            default -> respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", "404 page not found\n");
        }
    }

    private static void respond(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, String type, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(resp);
        } else {
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("http connection failed: {}", cause.toString());
        ctx.close();
    }
}
