package io.quorumlab.server.api;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.WatchHub;
import io.quorumlab.server.member.MemberApi;
import io.quorumlab.server.tls.TlsSetup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing etcd v3 endpoint of one member: gRPC (KV, Watch, Lease, Maintenance,
 * grpc.health.v1) and HTTP/1.1 (/health, /version, /metrics) on one port, as etcd serves them.
 *
 * <pre>{@code
 * ClientServer api = new ClientServer(member, ClientServer.Config.defaults("0.0.0.0", 2379)).start();
 * ...
 * api.close();
 * }</pre>
 *
 * Services this package does not implement (Cluster, Auth, lock, election) can be mounted on the
 * same port with {@link #ClientServer(MemberApi, Config, List)}; they get the same interceptor
 * (metrics, {@code hasleader}) and executor.
 */
public final class ClientServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClientServer.class);

    /**
     * @param host                         address to bind ("0.0.0.0" for every interface)
     * @param port                         0 picks a free port (see {@link #port()})
     * @param maxRequestBytes              --max-request-bytes; gRPC accepts messages up to this + 512 KiB
     * @param maxTxnOps                    --max-txn-ops
     * @param maxConcurrentStreams         --max-concurrent-streams (HTTP/2 streams per connection)
     * @param keepAliveTime                --grpc-keepalive-interval: server pings an idle client after this
     * @param keepAliveTimeout             --grpc-keepalive-timeout
     * @param keepAliveMinTime             --grpc-keepalive-min-time: clients may ping this often (kube: 30 s)
     * @param watchProgressNotifyInterval  --experimental-watch-progress-notify-interval; zero disables
     * @param watchEventCapacity           event responses buffered per watch stream before watchers fall behind
     * @param maxWatchersPerStream         watchers one watch stream may hold
     * @param maxWatchStreams              open watch streams (each has a sender thread)
     * @param apiThreads                   threads that run handlers and serialise answers
     * @param apiQueueMax                  tasks waiting for those threads before submitters run them inline
     * @param healthTimeout                how long /health waits for its linearizable read
     * @param noLeaderStreamTimeout        watch streams opened with {@code hasleader: true} are ended with
     *                                     "no leader" after this long without a leader (etcd: 3 election timeouts)
     * @param tls                          client TLS (etcd's client-transport-security); null serves plaintext
     */
    public record Config(String host, int port, int maxRequestBytes, int maxTxnOps, int maxConcurrentStreams,
                         Duration keepAliveTime, Duration keepAliveTimeout, Duration keepAliveMinTime,
                         Duration watchProgressNotifyInterval, int watchEventCapacity, int maxWatchersPerStream,
                         int maxWatchStreams, int apiThreads, int apiQueueMax, Duration healthTimeout,
                         Duration noLeaderStreamTimeout, Tls tls) {
        public static final int DEFAULT_MAX_REQUEST_BYTES = 1_572_864;
        /** gRPC's receive limit over --max-request-bytes, as etcd's grpcOverheadBytes. */
        public static final int GRPC_OVERHEAD_BYTES = 512 * 1024;

        public Config {
            Objects.requireNonNull(host, "host");
            for (Duration d : new Duration[] {keepAliveTime, keepAliveTimeout, keepAliveMinTime, watchProgressNotifyInterval,
                    healthTimeout, noLeaderStreamTimeout}) {
                if (d == null || d.isNegative()) throw new IllegalArgumentException("durations must be >= 0: " + this);
            }
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port);
            if (maxRequestBytes <= 0 || maxRequestBytes > Integer.MAX_VALUE - GRPC_OVERHEAD_BYTES) {
                throw new IllegalArgumentException("maxRequestBytes " + maxRequestBytes);
            }
            if (maxTxnOps <= 0 || maxConcurrentStreams <= 0 || watchEventCapacity <= 0 || maxWatchersPerStream <= 0
                    || maxWatchStreams <= 0 || apiThreads <= 0 || apiQueueMax <= 0) {
                throw new IllegalArgumentException("limits must be positive: " + this);
            }
        }

        /** etcd's defaults. */
        public static Config defaults(String host, int port) {
            return new Config(host, port, DEFAULT_MAX_REQUEST_BYTES, StoreConfig.DEFAULT_MAX_TXN_OPS, Integer.MAX_VALUE,
                    Duration.ofHours(2), Duration.ofSeconds(20), Duration.ofSeconds(5), Duration.ofMinutes(10),
                    WatchHub.DEFAULT_STREAM_EVENT_CAPACITY, WatchHub.DEFAULT_STREAM_MAX_WATCHERS, 4096,
                    Math.max(4, 2 * Runtime.getRuntime().availableProcessors()), 100_000, Duration.ofSeconds(1),
                    Duration.ofSeconds(3), null);
        }

        public Config withPort(int p) {
            return new Config(host, p, maxRequestBytes, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withMaxRequestBytes(int n) {
            return new Config(host, port, n, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withMaxTxnOps(int n) {
            return new Config(host, port, maxRequestBytes, n, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withMaxConcurrentStreams(int n) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, n, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withWatchProgressNotifyInterval(Duration d) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, d, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withNoLeaderStreamTimeout(Duration d) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, d, tls);
        }

        /** --grpc-keepalive-min-time, --grpc-keepalive-interval, --grpc-keepalive-timeout. */
        public Config withKeepAlive(Duration minTime, Duration interval, Duration timeout) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, maxConcurrentStreams, interval, timeout,
                    minTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }

        public Config withTls(Tls t) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, watchEventCapacity, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, t);
        }

        public Config withWatchEventCapacity(int n) {
            return new Config(host, port, maxRequestBytes, maxTxnOps, maxConcurrentStreams, keepAliveTime, keepAliveTimeout,
                    keepAliveMinTime, watchProgressNotifyInterval, n, maxWatchersPerStream, maxWatchStreams,
                    apiThreads, apiQueueMax, healthTimeout, noLeaderStreamTimeout, tls);
        }
    }

    /**
     * Client TLS (etcd's client-transport-security): --cert-file, --key-file (PEM; PKCS#8, PKCS#1 or SEC1
     * keys), --trusted-ca-file, --client-cert-auth, --client-crl-file, --auto-tls and --cipher-suites.
     * gRPC (ALPN h2) and HTTPS (ALPN http/1.1) share the port.
     */
    public record Tls(TlsSetup setup) {
        public Tls {
            Objects.requireNonNull(setup, "setup");
        }

        /** Certificate files without a CRL, auto TLS or cipher restriction. */
        public Tls(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth) {
            this(TlsSetup.ofFiles(certFile, keyFile, trustedCaFile, clientCertAuth));
        }

        SslContext serverContext() throws IOException {
            SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forServer(setup.privateKey(), setup.certificateChain()));
            // GrpcSslContexts offers only h2. The server's order wins: gRPC clients offer only h2 and get it;
            // curl and browsers offer both and get http/1.1, which HttpEndpoints serves (etcd serves its
            // HTTP endpoints over h2 as well; our gRPC transport cannot, so steer them to 1.1).
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "http/1.1", "h2"));
            X509ExtendedTrustManager trust = setup.listenerTrustManager();
            if (trust != null) b.trustManager(trust);
            b.clientAuth(setup.requiresClientCertificate() ? ClientAuth.REQUIRE : ClientAuth.NONE);
            List<String> suites = setup.enabledCipherSuites();
            if (!suites.isEmpty()) b.ciphers(suites, SupportedCipherSuiteFilter.INSTANCE);
            return b.build();
        }
    }

    private final MemberApi member;
    private final Config config;
    private final ThreadPoolExecutor executor;
    private final ScheduledExecutorService timer;
    private final ApiContext api;
    private final WatchService watch;
    private final List<ServerServiceDefinition> extraServices;
    private Server server;

    public ClientServer(MemberApi member, Config config) { this(member, config, List.of()); }

    /** @param extraServices further gRPC services served on the same port (e.g. etcdserverpb.Cluster) */
    public ClientServer(MemberApi member, Config config, List<ServerServiceDefinition> extraServices) {
        this.member = Objects.requireNonNull(member, "member");
        this.config = Objects.requireNonNull(config, "config");
        this.extraServices = List.copyOf(extraServices);
        // Bounded queue; when it is full the submitting thread runs the task itself: slower, never lost.
        this.executor = new ThreadPoolExecutor(config.apiThreads(), config.apiThreads(), 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(config.apiQueueMax()), daemon("etcd-api"), new ThreadPoolExecutor.CallerRunsPolicy());
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("etcd-api-timer"));
        this.api = new ApiContext(member, config, executor);
        this.watch = new WatchService(api);
    }

    public synchronized ClientServer start() throws IOException {
        if (server != null) throw new IllegalStateException("already started");
        try {
            server = build().start();
        } catch (IOException | RuntimeException e) {
            // Nothing else will close us (the caller never got a started server): stop our threads.
            timer.shutdownNow();
            executor.shutdown();
            throw e;
        }
        long every = config.watchProgressNotifyInterval().toNanos();
        if (every > 0) {
            timer.scheduleWithFixedDelay(this::progressNotify, every, every, TimeUnit.NANOSECONDS);
        }
        log.info("client api listening address={} port={} tls={} maxRequestBytes={} maxTxnOps={}", config.host(), port(),
                config.tls() != null, config.maxRequestBytes(), config.maxTxnOps());
        return this;
    }

    /** Unary KV calls whose handlers never block (a read-only Txn hands its range to the executor itself). */
    static final java.util.Set<String> INLINE_METHODS = java.util.Set.of("etcdserverpb.KV/Put", "etcdserverpb.KV/DeleteRange",
            "etcdserverpb.KV/Txn", "etcdserverpb.KV/Compact");

    private Server build() throws IOException {
        PortSharing negotiator = new PortSharing(() -> new HttpEndpoints(api),
                config.tls() == null ? null : config.tls().serverContext());
        ApiInterceptor interceptor = new ApiInterceptor(member);
        NettyServerBuilder b = NettyServerBuilder
                .forAddress(new InetSocketAddress(config.host(), config.port()), InternalNettyServerCredentials.create(negotiator))
                .executor(executor)
                // As Go's listeners (etcd): a client port whose old connections sit in TIME_WAIT can be bound again.
                .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_REUSEADDR, true)
                .callExecutor(new io.grpc.ServerCallExecutorSupplier() {
                    @Override
                    public <Q, P> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<Q, P> call, io.grpc.Metadata headers) {
                        // Writes only validate, encode and enqueue a proposal: run them on the transport thread
                        // and save a thread hop per request. Everything else may read the store or block.
                        return INLINE_METHODS.contains(call.getMethodDescriptor().getFullMethodName()) ? Runnable::run : null;
                    }
                })
                .maxInboundMessageSize(config.maxRequestBytes() + Config.GRPC_OVERHEAD_BYTES)
                .maxConcurrentCallsPerConnection(config.maxConcurrentStreams())
                .keepAliveTime(config.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
                .keepAliveTimeout(config.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
                .permitKeepAliveTime(config.keepAliveMinTime().toNanos(), TimeUnit.NANOSECONDS)
                .permitKeepAliveWithoutCalls(true)
                .addService(ServerInterceptors.intercept(new KvService(api), interceptor))
                .addService(ServerInterceptors.intercept(watch, interceptor))
                .addService(ServerInterceptors.intercept(new LeaseService(api).definition(), interceptor))
                .addService(ServerInterceptors.intercept(new MaintenanceService(api), interceptor))
                .addService(ServerInterceptors.intercept(new HealthService(api, timer), interceptor))
                .addService(ServerInterceptors.intercept(new ClusterService(api).definition(), interceptor));
        for (ServerServiceDefinition extra : extraServices) b.addService(ServerInterceptors.intercept(extra, interceptor));
        return b.build();
    }

    private void progressNotify() {
        try {
            member.store().watchHub().progressNotifyAll();
        } catch (RuntimeException e) {
            log.warn("watch progress notify failed: {}", e.toString());
        }
    }

    /** The bound port (useful with port 0). */
    public synchronized int port() {
        if (server == null) throw new IllegalStateException("not started");
        return server.getPort();
    }

    public Config config() { return config; }

    /** Open watch streams (for tests and metrics). */
    public int openWatchStreams() { return watch.openStreams(); }

    /** Stops accepting calls, cancels open streams after a short grace period, stops the threads. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                    server.awaitTermination(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                server.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        timer.shutdownNow();
        executor.shutdown();
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
