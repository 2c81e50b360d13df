package io.quorumlab.server;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.api.ClientServer;
import io.quorumlab.server.config.Listener;
import io.quorumlab.server.config.ServerConfig;
import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberConfig;
import io.quorumlab.server.member.MemberMetrics;
import io.quorumlab.server.peer.NettyPeerTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole member process as {@code quorumlab server} runs it: the member over threads and files,
 * the peer listener, and the client API on every {@code --listen-client-urls} address.
 */
public final class EtcdServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdServer.class);

    private final ServerConfig config;
    private final RealRuntime runtime;
    private final Member member;
    private final List<ClientServer> clients = new ArrayList<>();
    private boolean closed;

    private EtcdServer(ServerConfig config, RealRuntime runtime, Member member) {
        this.config = config;
        this.runtime = runtime;
        this.member = member;
    }

    /**
     * Opens the data directory, starts the member and listens. Fails with a one-line message (an
     * {@link IllegalStateException}) for an unusable data dir or a port in use.
     */
    public static EtcdServer start(ServerConfig cfg, CollectorRegistry registry) {
        MemberConfig mc = memberConfig(cfg);
        checkWritable(cfg.dataDir());
        if (cfg.walDir() != null) checkWritable(cfg.walDir());
        Listener peer = cfg.peerListeners().get(0);
        NettyPeerTransport.PeerTls peerTls = null;
        if (peer.secure()) {
            ServerConfig.Tls t = cfg.peerTransport();
            if (!t.hasCertificate()) {
                throw new IllegalStateException("https peer listener " + peer.uri() + " needs --peer-cert-file and --peer-key-file"
                        + " (--peer-auto-tls is not supported yet)");
            }
            peerTls = new NettyPeerTransport.PeerTls(t.certFile().get(), t.keyFile().get(), t.trustedCaFile().orElse(null),
                    t.clientCertAuth(), t.allowedCn().orElse(null));
        }
        NettyPeerTransport transport = new NettyPeerTransport(mc.memberId(), peer.host(), peer.port(), peerTls);
        RealRuntime rt = new RealRuntime(cfg.name(), cfg.storage().effectiveBackendBatchInterval().toMillis(),
                cfg.storage().effectiveBackendBatchLimit());
        Member member;
        try {
            transport.bind(); // fail early and clearly when the peer port is taken
            member = new Member(mc, rt, transport, new MemberMetrics(registry));
        } catch (IOException | RuntimeException e) {
            transport.close();
            rt.close();
            throw new IllegalStateException(describe(e), e);
        }
        EtcdServer s = new EtcdServer(cfg, rt, member);
        try {
            ServerConfig.Compaction ac = cfg.compaction();
            if (ac.enabled()) {
                if (ac.mode() == ServerConfig.CompactionMode.PERIODIC) {
                    member.enableAutoCompaction(io.quorumlab.mvcc.AutoCompactor.Mode.PERIODIC, ac.period().toNanos());
                } else {
                    member.enableAutoCompaction(io.quorumlab.mvcc.AutoCompactor.Mode.REVISION, ac.revisions());
                }
            }
            member.start();
            for (Listener l : cfg.clientListeners()) {
                ClientServer.Config cc = ClientServer.Config.defaults(l.host(), l.port())
                        .withMaxRequestBytes((int) Math.min(Integer.MAX_VALUE - ClientServer.Config.GRPC_OVERHEAD_BYTES,
                                cfg.grpc().maxRequestBytes()))
                        .withMaxTxnOps(cfg.grpc().maxTxnOps())
                        .withWatchProgressNotifyInterval(cfg.watchProgressNotifyInterval());
                if (l.secure()) {
                    ServerConfig.Tls t = cfg.clientTransport();
                    if (!t.hasCertificate()) {
                        throw new IllegalStateException("https listener " + l.uri() + " needs --cert-file and --key-file");
                    }
                    cc = cc.withTls(new ClientServer.Tls(t.certFile().get(), t.keyFile().get(),
                            t.trustedCaFile().orElse(null), t.clientCertAuth()));
                }
                s.clients.add(new ClientServer(member, cc).start());
            }
        } catch (IOException | RuntimeException e) {
            s.close();
            throw new IllegalStateException(describe(e), e);
        }
        LOG.info("serving name={} member={} cluster={} client-urls={} peer-url={}", cfg.name(),
                Long.toHexString(member.memberId()), Long.toHexString(member.clusterId()), cfg.clientUrls(), peer.uri());
        return s;
    }

    private static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null || t instanceof java.util.concurrent.CompletionException)) {
            t = t.getCause();
        }
        String m = t.getMessage();
        if (t instanceof java.net.BindException || (m != null && m.contains("Address already in use"))) {
            return "listen failed: address already in use (" + m + ")";
        }
        return m == null ? t.toString() : m;
    }

    private static void checkWritable(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create data directory " + dir + ": " + e.getMessage(), e);
        }
        if (!Files.isWritable(dir)) throw new IllegalStateException("data directory " + dir + " is not writable");
    }

    /** etcd's flags, mapped onto what a member needs. */
    public static MemberConfig memberConfig(ServerConfig cfg) {
        ServerConfig.Storage st = cfg.storage();
        long quota = st.effectiveQuotaBackendBytes();
        return new MemberConfig(cfg.name(), cfg.dataDir(), cfg.walDir(), cfg.initialClusterMap(),
                cfg.cluster().token(), cfg.newCluster(), cfg.raft().heartbeatMillis(), cfg.raft().electionMillis(),
                cfg.raft().snapshotCount(), 5000, (int) st.maxSnapshots(), (int) st.maxWals(), cfg.grpc().maxRequestBytes(),
                cfg.grpc().maxTxnOps(), quota == Long.MAX_VALUE ? -1 : quota, st.effectiveBackendBatchInterval().toMillis(),
                st.effectiveBackendBatchLimit(), cfg.raft().preVote(), false, 10_000, 64L * 1024 * 1024,
                cfg.advertiseClientUrls().stream().map(java.net.URI::toString).toList());
    }

    public Member member() {
        return member;
    }

    public ServerConfig config() {
        return config;
    }

    /** Bound client ports, in --listen-client-urls order. */
    public List<Integer> clientPorts() {
        List<Integer> ports = new ArrayList<>();
        for (ClientServer c : clients) ports.add(c.port());
        return ports;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (ClientServer c : clients) {
            try {
                c.close();
            } catch (RuntimeException e) {
                LOG.warn("client listener close failed error=\"{}\"", e.toString());
            }
        }
        member.close();
        runtime.close();
        LOG.info("stopped name={}", config.name());
    }
}
