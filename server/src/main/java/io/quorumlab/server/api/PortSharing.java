package io.quorumlab.server.api;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelPipeline;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObjectAggregator;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLSession;

/**
 * gRPC and HTTP/1.1 on one port, as etcd serves them: a protocol negotiator for grpc-netty whose
 * first handler reads the connection's opening bytes. The HTTP/2 client preface
 * ("PRI * HTTP/2.0...") hands the connection to gRPC's own plaintext negotiation, untouched;
 * anything else gets an HTTP/1.1 codec and the {@link HttpEndpoints} handler instead.
 *
 * <p>With TLS, an SslHandler goes first and the same sniffing runs on the decrypted bytes; the
 * TLS session is passed to gRPC as {@link Grpc#TRANSPORT_ATTR_SSL_SESSION} (for certificate-based
 * auth later).
 */
final class PortSharing implements InternalProtocolNegotiator.ProtocolNegotiator {
    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** Requests to the HTTP endpoints are bodiless GETs; anything bigger is refused by the aggregator. */
    static final int HTTP_MAX_CONTENT_BYTES = 64 * 1024;

    private final InternalProtocolNegotiator.ProtocolNegotiator grpc = InternalProtocolNegotiators.serverPlaintext();
    private final Supplier<ChannelHandler> http;
    private final SslContext ssl;

    /** @param ssl null for plaintext */
    PortSharing(Supplier<ChannelHandler> http, SslContext ssl) {
        this.http = http;
        this.ssl = ssl;
    }

    @Override
    public AsciiString scheme() { return grpc.scheme(); }

    @Override
    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        return new Sniffer(grpc.newHandler(grpcHandler), http, ssl);
    }

    @Override
    public void close() { grpc.close(); }

    private static final class Sniffer extends ChannelInboundHandlerAdapter {
        private final ChannelHandler grpcNegotiation;
        private final Supplier<ChannelHandler> http;
        private final SslContext ssl;
        /** grpc-netty's negotiation events, held until we know the connection is gRPC. */
        private final List<Object> heldEvents = new ArrayList<>(2);
        private ByteBuf head;
        private SSLSession sslSession;

        Sniffer(ChannelHandler grpcNegotiation, Supplier<ChannelHandler> http, SslContext ssl) {
            this.grpcNegotiation = grpcNegotiation;
            this.http = http;
            this.ssl = ssl;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (ssl != null) ctx.pipeline().addBefore(ctx.name(), null, ssl.newHandler(ctx.alloc()));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent hs) {
                if (!hs.isSuccess()) {
                    ctx.close();
                    return;
                }
                SslHandler h = ctx.pipeline().get(SslHandler.class);
                sslSession = h == null ? null : h.engine().getSession();
                return;
            }
            heldEvents.add(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf in)) {
                ctx.fireChannelRead(msg);
                return;
            }
            if (head == null) head = ctx.alloc().buffer(H2_PREFACE.length);
            head.writeBytes(in);
            in.release();
            int n = Math.min(head.readableBytes(), H2_PREFACE.length);
            for (int i = 0; i < n; i++) {
                if (head.getByte(head.readerIndex() + i) != H2_PREFACE[i]) {
                    toHttp(ctx);
                    return;
                }
            }
            if (n == H2_PREFACE.length) toGrpc(ctx);
        }

        private void toGrpc(ChannelHandlerContext ctx) {
            ChannelPipeline p = ctx.pipeline();
            p.addAfter(ctx.name(), null, grpcNegotiation);
            for (Object e : heldEvents) {
                if (sslSession != null && e instanceof ProtocolNegotiationEvent pne) {
                    Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(pne).toBuilder()
                            .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, sslSession).build();
                    e = InternalProtocolNegotiationEvent.withAttributes(pne, attrs);
                }
                ctx.fireUserEventTriggered(e);
            }
            heldEvents.clear();
            handOver(ctx);
        }

        private void toHttp(ChannelHandlerContext ctx) {
            for (Object e : heldEvents) ReferenceCountUtil.release(e);
            heldEvents.clear();
            ChannelPipeline p = ctx.pipeline();
            String codec = ctx.name() + "-http-codec", agg = ctx.name() + "-http-aggregator";
            p.addAfter(ctx.name(), codec, new HttpServerCodec());
            p.addAfter(codec, agg, new HttpObjectAggregator(HTTP_MAX_CONTENT_BYTES));
            p.addAfter(agg, null, http.get());
            handOver(ctx);
        }

        private void handOver(ChannelHandlerContext ctx) {
            ByteBuf buffered = head;
            head = null;
            ctx.fireChannelRead(buffered);
            ctx.fireChannelReadComplete();
            ctx.pipeline().remove(this);
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (head != null) {
                head.release();
                head = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
