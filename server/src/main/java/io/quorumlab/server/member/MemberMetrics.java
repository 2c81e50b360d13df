package io.quorumlab.server.member;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import io.prometheus.client.Histogram;
import io.quorumlab.wal.WalMetrics;

/**
 * A member's metrics under etcd's names, in a registry of its own (several members may share a
 * JVM in tests and in the simulator).
 */
public final class MemberMetrics {
    /** etcd's WAL fsync buckets: 1 ms doubling to ~8 s. */
    private static final double[] DISK_BUCKETS = exponential(0.001, 2, 14);

    private final CollectorRegistry registry;
    private final Gauge hasLeader;
    private final Gauge isLeader;
    private final Counter leaderChanges;
    private final Counter proposalsApplied;
    private final Counter proposalsFailed;
    private final Gauge proposalsPending;
    private final Counter peerSent;
    private final Counter droppedInbound;
    private final Histogram walFsync;
    private final Counter walWriteBytes;
    private final Counter proposalsCommitted;
    private final Counter heartbeatFailures;
    private final Counter peerSentBytes;
    private final Histogram peerRtt;
    private final Histogram backendCommit;
    private volatile io.quorumlab.mvcc.MvccStore store;

    public MemberMetrics(CollectorRegistry registry) {
        this.registry = registry;
        hasLeader = Gauge.build("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.").register(registry);
        isLeader = Gauge.build("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.").register(registry);
        leaderChanges = Counter.build("etcd_server_leader_changes_seen_total", "The number of leader changes seen.").register(registry);
        proposalsApplied = Counter.build("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.").register(registry);
        proposalsFailed = Counter.build("etcd_server_proposals_failed_total", "The total number of failed proposals seen.").register(registry);
        proposalsPending = Gauge.build("etcd_server_proposals_pending", "The current number of pending proposals to commit.").register(registry);
        peerSent = Counter.build("quorumlab_peer_sent_messages_total", "The total number of Raft messages handed to the peer transport.").register(registry);
        droppedInbound = Counter.build("quorumlab_peer_inbound_dropped_total", "Peer messages dropped because the member's inbound queue was full.").register(registry);
        walFsync = Histogram.build("etcd_disk_wal_fsync_duration_seconds", "The latency distributions of fsync called by WAL.")
                .buckets(DISK_BUCKETS).register(registry);
        walWriteBytes = Counter.build("etcd_disk_wal_write_bytes_total", "Total number of bytes written in WAL.").register(registry);
        proposalsCommitted = Counter.build("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.").register(registry);
        heartbeatFailures = Counter.build("etcd_server_heartbeat_send_failures_total", "The total number of leader heartbeat send failures (likely overloaded from slow disk).").register(registry);
        peerSentBytes = Counter.build("etcd_network_peer_sent_bytes_total", "The total number of bytes sent to peers.")
                .labelNames("To").register(registry);
        peerRtt = Histogram.build("etcd_network_peer_round_trip_time_seconds", "Round-Trip-Time histogram between peers")
                .labelNames("To").buckets(exponential(0.0001, 2, 16)).register(registry);
        backendCommit = Histogram.build("etcd_disk_backend_commit_duration_seconds", "The latency distributions of commit called by backend.")
                .buckets(DISK_BUCKETS).register(registry);
        new io.prometheus.client.Collector() {
            @Override
            public java.util.List<MetricFamilySamples> collect() {
                io.quorumlab.mvcc.MvccStore s = store;
                if (s == null) return java.util.List.of();
                return java.util.List.of(
                        gauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.", s.dbSizeBytes()),
                        gauge("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.", s.dbSizeInUseBytes()),
                        gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.", s.keyCount()),
                        gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.", s.currentRevision()));
            }
        }.register(registry);
    }

    private static io.prometheus.client.Collector.MetricFamilySamples gauge(String name, String help, double value) {
        return new io.prometheus.client.Collector.MetricFamilySamples(name, io.prometheus.client.Collector.Type.GAUGE, help,
                java.util.List.of(new io.prometheus.client.Collector.MetricFamilySamples.Sample(name, java.util.List.of(),
                        java.util.List.of(), value)));
    }

    void watchStore(io.quorumlab.mvcc.MvccStore s) {
        this.store = s;
    }

    void committed(int n) {
        proposalsCommitted.inc(n);
    }

    void heartbeatSendFailed() {
        heartbeatFailures.inc();
    }

    /** Per-peer children, looked up once: peerSent runs for every message sent. */
    private final java.util.concurrent.ConcurrentHashMap<Long, Counter.Child> sentTo = new java.util.concurrent.ConcurrentHashMap<>();

    void peerSent(long to, long bytes) {
        sentTo.computeIfAbsent(to, id -> peerSentBytes.labels(Long.toHexString(id))).inc(bytes);
    }

    void peerRoundTrip(long to, long nanos) {
        if (nanos >= 0) peerRtt.labels(Long.toHexString(to)).observe(nanos / 1e9);
    }

    void backendCommitNanos(long nanos) {
        backendCommit.observe(nanos / 1e9);
    }

    public static MemberMetrics isolated() {
        return new MemberMetrics(new CollectorRegistry());
    }

    /**
     * The current value of one of this member's etcd metrics by name, read straight from its collector
     * (the simulator samples these every few virtual milliseconds; scanning the registry would format
     * every histogram each time). NaN for a name this method does not cover.
     */
    public double value(String name) {
        return switch (name) {
            case "etcd_server_has_leader" -> hasLeader.get();
            case "etcd_server_proposals_pending" -> proposalsPending.get();
            case "etcd_server_proposals_failed_total" -> proposalsFailed.get();
            case "etcd_server_heartbeat_send_failures_total" -> heartbeatFailures.get();
            case "etcd_server_leader_changes_seen_total" -> leaderChanges.get();
            case "etcd_server_proposals_applied_total" -> proposalsApplied.get();
            case "etcd_server_proposals_committed_total" -> proposalsCommitted.get();
            default -> Double.NaN;
        };
    }

    public CollectorRegistry registry() {
        return registry;
    }

    void setLeader(boolean has, boolean self) {
        hasLeader.set(has ? 1 : 0);
        isLeader.set(self ? 1 : 0);
    }

    void leaderChanged() {
        leaderChanges.inc();
    }

    void applied(int n) {
        proposalsApplied.inc(n);
    }

    void proposalsFailed(int n) {
        proposalsFailed.inc(n);
    }

    void proposalsPending(int n) {
        proposalsPending.set(n);
    }

    void messagesSent(int n) {
        if (n > 0) peerSent.inc(n);
    }

    void droppedInbound() {
        droppedInbound.inc();
    }

    WalMetrics walMetrics() {
        return new WalMetrics() {
            @Override
            public void observeFsyncNanos(long nanos) {
                walFsync.observe(nanos / 1e9);
            }

            @Override
            public void observeWriteNanos(long nanos) {}

            @Override
            public void addWriteBytes(long bytes) {
                walWriteBytes.inc(bytes);
            }
        };
    }

    private static double[] exponential(double start, double factor, int count) {
        double[] b = new double[count];
        for (int i = 0; i < count; i++) b[i] = start * Math.pow(factor, i);
        return b;
    }
}
