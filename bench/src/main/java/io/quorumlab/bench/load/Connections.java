package io.quorumlab.bench.load;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The gRPC connections of a run: {@code conns} channels over the endpoints, round robin. */
final class Connections implements AutoCloseable {
    /** Large enough for a page of kube objects (500 x a few KB) and for etcd's own 2 MiB request limit. */
    static final int MAX_INBOUND_BYTES = 64 << 20;

    private final List<ManagedChannel> channels = new ArrayList<>();

    Connections(LoadConfig cfg) {
        try {
            for (int i = 0; i < cfg.conns(); i++) {
                String ep = cfg.endpoints().get(i % cfg.endpoints().size());
                boolean https = ep.startsWith("https://");
                String target = ep.replaceFirst("^https?://", "").replaceFirst("/+$", "");
                NettyChannelBuilder b = NettyChannelBuilder.forTarget(target).maxInboundMessageSize(MAX_INBOUND_BYTES);
                if (https || cfg.tls() != null) {
                    SslContextBuilder ssl = GrpcSslContexts.forClient();
                    LoadConfig.Tls tls = cfg.tls();
                    if (tls != null && tls.caFile() != null) ssl.trustManager(tls.caFile().toFile());
                    if (tls != null && tls.certFile() != null) ssl.keyManager(tls.certFile().toFile(), tls.keyFile().toFile());
                    b.sslContext(ssl.build()).useTransportSecurity();
                } else {
                    b.usePlaintext();
                }
                channels.add(b.build());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("TLS setup: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    ManagedChannel forClient(int client) {
        return channels.get(client % channels.size());
    }

    int size() {
        return channels.size();
    }

    @Override
    public void close() {
        for (ManagedChannel c : channels) c.shutdownNow();
        for (ManagedChannel c : channels) {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
