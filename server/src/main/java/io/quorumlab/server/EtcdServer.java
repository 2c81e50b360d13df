package io.quorumlab.server;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.api.ClientServer;
import io.quorumlab.server.config.Listener;
import io.quorumlab.server.config.ServerConfig;
import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberConfig;
import io.quorumlab.server.member.MemberMetrics;
import io.quorumlab.server.peer.NettyPeerTransport;
import io.quorumlab.server.peer.PeerTls;
import io.quorumlab.server.runtime.RealRuntime;
import io.quorumlab.server.tls.TlsSetup;
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
        // etcd exports no exemplars; sampling them costs time on every counted request and fsync.
        io.prometheus.client.exemplars.ExemplarConfig.disableExemplars();
        MemberConfig mc = memberConfig(cfg);
        checkWritable(cfg.dataDir());
        if (cfg.walDir() != null) checkWritable(cfg.walDir());
        Listener peer = cfg.peerListeners().get(0);
        PeerTls peerTls = null;
        TlsSetup clientTls = null;
        try {
            if (peer.secure()) {
                List<java.net.URI> hosts = new ArrayList<>(cfg.peerUrls());
                hosts.addAll(cfg.advertisePeerUrls());
                TlsSetup setup = TlsSetup.resolve(cfg.peerTransport(), cfg.dataDir().resolve("fixtures").resolve("peer"), hosts,
                        cfg.cipherSuites(), true);
                peerTls = new PeerTls(setup, setup.selfSigned() ? null : cfg.peerTransport().allowedCn().orElse(null));
                LOG.info("peer TLS {}", setup.describe());
            }
            if (cfg.clientTls()) {
                List<java.net.URI> hosts = new ArrayList<>(cfg.clientUrls());
                hosts.addAll(cfg.advertiseClientUrls());
                clientTls = TlsSetup.resolve(cfg.clientTransport(), cfg.dataDir().resolve("fixtures").resolve("client"), hosts,
                        cfg.cipherSuites(), false);
                LOG.info("client TLS {}", clientTls.describe());
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("TLS setup failed: " + e.getMessage(), e);
        }
        // etcd checks only a member that has data (a new member has nothing to compare).
        boolean initialized = hasWal(cfg.walDir());
        RealRuntime rt = new RealRuntime(cfg.name(), cfg.storage().effectiveBackendBatchInterval().toMillis(),
                cfg.storage().effectiveBackendBatchLimit(), cfg.storage().walDirectIo());
        // Peer connections live on the member loop: a Raft message is read, stepped and answered on one thread.
        // Hellos carry the cluster id; a member that joined an existing cluster says none (its MemberConfig's id is
        // derived from --initial-cluster, which then lists the new member too, so it is not the cluster's).
        long helloClusterId = helloClusterId(mc, initialized);
        NettyPeerTransport transport = new NettyPeerTransport(mc.memberId(), peer.host(), peer.port(), peerTls, rt.memberEventLoop(),
                () -> helloClusterId, NettyPeerTransport.Limits.forMember(mc.maxRequestBytes(), mc.quotaBackendBytes()));
        Member member;
        try {
            transport.bind(); // fail early and clearly when the peer port is taken
            member = new Member(mc, rt, transport, new MemberMetrics(registry));
            member.setCorruptCheckPeriod(cfg.corruptCheckTime().toNanos());
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
            if (cfg.initialCorruptCheck() && initialized) initialCorruptCheck(cfg, member);
            for (Listener l : cfg.clientListeners()) {
                ClientServer.Config cc = ClientServer.Config.defaults(l.host(), l.port())
                        .withMaxRequestBytes((int) Math.min(Integer.MAX_VALUE - ClientServer.Config.GRPC_OVERHEAD_BYTES,
                                cfg.grpc().maxRequestBytes()))
                        .withMaxTxnOps(cfg.grpc().maxTxnOps())
                        .withWatchProgressNotifyInterval(cfg.watchProgressNotifyInterval());
                if (l.secure()) cc = cc.withTls(new ClientServer.Tls(clientTls));
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

    /**
     * etcd 3.4's --experimental-initial-corrupt-check, before any client is served: this member's
     * HashKV at its revision against each peer's at the same revision; a difference under the same
     * compaction means one of them is corrupt, and this member refuses to start. Peers that cannot
     * answer in etcd's request timeout (down, behind, or compacted past the revision) are skipped.
     */
    private static void initialCorruptCheck(ServerConfig cfg, Member member) {
        long timeoutMillis = 5000 + 2 * cfg.raft().electionMillis(); // etcd's ReqTimeout()
        String self = Long.toHexString(member.memberId());
        LOG.info("starting initial corruption check local-member-id={} timeout={}ms", self, timeoutMillis);
        Member.InitialHashCheck r;
        try {
            r = member.initialHashCheck(timeoutMillis * 1_000_000L).get(timeoutMillis + 5000, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(self + " failed to fetch hash (" + describe(e.getCause()) + ")", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(self + " initial corruption check did not finish", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(self + " initial corruption check interrupted", e);
        }
        if (!r.mismatched().isEmpty()) {
            StringBuilder peers = new StringBuilder();
            for (long id : r.mismatched()) peers.append(peers.length() == 0 ? "" : ", ").append(Long.toHexString(id));
            throw new IllegalStateException(self + " found data inconsistency with peers: hash at revision " + r.revision()
                    + " differs from member(s) " + peers + " (same compact revision " + r.compactRevision() + ")");
        }
        LOG.info("initial corruption checking passed; no corruption local-member-id={} revision={} peers-compared={} peers-skipped={}",
                self, r.revision(), r.compared(), r.skipped());
    }

    private static boolean hasWal(Path walDir) {
        try (var files = Files.list(walDir)) {
            return files.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
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

    /**
     * The cluster id this member's peer hellos carry, or 0 for none (no check). Only a member bootstrapping a
     * new cluster knows it for sure: a joiner derives it from an --initial-cluster that lists itself, and a
     * restarted member from --initial-* flags that etcd ignores once the data exists (operators change them,
     * e.g. to list members added since), so either could carry an id its peers do not share and be cut off.
     */
    static long helloClusterId(io.quorumlab.server.member.MemberConfig mc, boolean restarted) {
        return mc.newCluster() && !restarted ? mc.clusterId() : 0;
    }
}
