package io.quorumlab.server.member;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one member needs to start, in etcd's terms. Durations are in milliseconds like etcd's flags.
 *
 * @param initialCluster member name -> peer URL of every initial member (etcd --initial-cluster)
 * @param snapshotCount applied entries between Raft snapshots (etcd --snapshot-count)
 * @param maxInflightProposals bound on proposals waiting for their entry to apply on this member
 */
public record MemberConfig(
        String name,
        Path dataDir,
        Path walDir,
        Map<String, String> initialCluster,
        String initialClusterToken,
        boolean newCluster,
        long heartbeatMillis,
        long electionMillis,
        long snapshotCount,
        long snapshotCatchUpEntries,
        int maxSnapshots,
        int maxWals,
        long maxRequestBytes,
        int maxTxnOps,
        long quotaBackendBytes,
        long backendBatchIntervalMillis,
        int backendBatchLimit,
        boolean preVote,
        boolean leaseReads,
        int maxInflightProposals,
        long walSegmentBytes,
        java.util.List<String> clientUrls) {

    public static final long DEFAULT_MAX_REQUEST_BYTES = 1_572_864;
    /** etcd refuses new proposals when committed - applied exceeds this (too many requests). */
    public static final long MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;

    public MemberConfig {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("--name must not be empty");
        if (dataDir == null) throw new IllegalArgumentException("--data-dir is required");
        if (walDir == null) walDir = dataDir.resolve("member").resolve("wal");
        initialCluster = new TreeMap<>(initialCluster);
        if (!initialCluster.containsKey(name)) {
            throw new IllegalArgumentException("couldn't find local name \"" + name + "\" in the initial cluster configuration");
        }
        if (heartbeatMillis <= 0 || electionMillis < 5 * heartbeatMillis) {
            throw new IllegalArgumentException("--election-timeout[" + electionMillis + "ms] should be at least as 5 times as --heartbeat-interval["
                    + heartbeatMillis + "ms]");
        }
        clientUrls = clientUrls == null ? java.util.List.of() : java.util.List.copyOf(clientUrls);
        if (snapshotCount <= 0 || maxInflightProposals <= 0 || maxRequestBytes <= 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** A single member on the given peer URL with etcd's defaults. */
    public static MemberConfig defaults(String name, Path dataDir, Map<String, String> initialCluster) {
        return new MemberConfig(name, dataDir, null, initialCluster, "etcd-cluster", true, 100, 1000, 100_000, 5000,
                5, 5, DEFAULT_MAX_REQUEST_BYTES, 128, 2L << 30, 100, 10_000, true, false, 10_000,
                64L * 1024 * 1024, java.util.List.of());
    }

    public MemberConfig withTimeouts(long heartbeat, long election) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, newCluster, heartbeat, election,
                snapshotCount, snapshotCatchUpEntries, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps, quotaBackendBytes,
                backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals, walSegmentBytes, clientUrls);
    }

    public MemberConfig withSnapshotCount(long count, long catchUp) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, newCluster, heartbeatMillis,
                electionMillis, count, catchUp, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps, quotaBackendBytes,
                backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals, walSegmentBytes, clientUrls);
    }

    public MemberConfig withWalSegmentBytes(long bytes) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, newCluster, heartbeatMillis,
                electionMillis, snapshotCount, snapshotCatchUpEntries, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps,
                quotaBackendBytes, backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals,
                bytes, clientUrls);
    }

    public MemberConfig withQuota(long bytes) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, newCluster, heartbeatMillis,
                electionMillis, snapshotCount, snapshotCatchUpEntries, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps,
                bytes, backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals,
                walSegmentBytes, clientUrls);
    }

    public MemberConfig withClientUrls(java.util.List<String> urls) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, newCluster, heartbeatMillis,
                electionMillis, snapshotCount, snapshotCatchUpEntries, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps,
                quotaBackendBytes, backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals,
                walSegmentBytes, urls);
    }

    public MemberConfig withNewCluster(boolean isNew) {
        return new MemberConfig(name, dataDir, walDir, initialCluster, initialClusterToken, isNew, heartbeatMillis,
                electionMillis, snapshotCount, snapshotCatchUpEntries, maxSnapshots, maxWals, maxRequestBytes, maxTxnOps,
                quotaBackendBytes, backendBatchIntervalMillis, backendBatchLimit, preVote, leaseReads, maxInflightProposals,
                walSegmentBytes, clientUrls);
    }

    /** Election timeout in heartbeat ticks (etcd: election / heartbeat). */
    public int electionTicks() {
        return (int) (electionMillis / heartbeatMillis);
    }

    /** etcd's request timeout: 5 s plus two election timeouts. */
    public long requestTimeoutMillis() {
        return 5000 + 2 * electionMillis;
    }

    /** Member ids, derived like etcd's from the peer URL and cluster token (stable across restarts). */
    public Map<String, Long> memberIds() {
        Map<String, Long> ids = new TreeMap<>();
        for (Map.Entry<String, String> e : initialCluster.entrySet()) {
            ids.put(e.getKey(), MemberIds.memberId(e.getValue(), initialClusterToken));
        }
        return ids;
    }

    public long memberId() {
        return memberIds().get(name);
    }

    public long clusterId() {
        return MemberIds.clusterId(memberIds().values());
    }
}
