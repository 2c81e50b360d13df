package io.quorumlab.server.member;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.api.LeaseKeepAliveResponse;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.Response;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the client-facing API (gRPC, HTTP) needs from a member. Thread-safe: called from gRPC
 * threads. Futures complete on member or apply loop threads: do not block in their callbacks.
 */
public interface MemberApi {
    long clusterId();

    long memberId();

    /** Current Raft term. */
    long term();

    /** The leader's member id, or 0 when there is none. */
    long leaderId();

    /**
     * True once the member has stopped (fail-stop after a WAL or apply failure, removal, close): it
     * answers everything with "etcdserver: server stopped", and its watch streams end.
     */
    boolean isStopped();

    /**
     * Replicates a write (Put, DeleteRange, Txn, Compaction, LeaseGrant, LeaseRevoke, Alarm) through
     * Raft and completes with the store's response once applied here. Fails with
     * {@link io.quorumlab.server.EtcdException} (no leader, timeout, too many requests, request too
     * large) or {@link io.quorumlab.mvcc.api.MvccException} (what the store rejected).
     */
    CompletableFuture<Response> propose(Request request);

    /**
     * Completes when a linearizable read may be served from {@link #store()}: this member has applied
     * everything that was committed when the read was issued (ReadIndex). Fails like propose.
     */
    CompletableFuture<Void> readBarrier();

    /** The local key space; reads from any thread are safe (see MvccStore's contract). */
    MvccStore store();

    /** Renews a lease on the leader (followers forward). Fails with lease-not-found or no leader. */
    CompletableFuture<LeaseKeepAliveResponse> leaseKeepAlive(long leaseId);

    MemberStatus status();

    /**
     * LeaseTimeToLive as of now: keys from the local store after a linearizable barrier, the remaining
     * TTL from the leader's lessor (the only one keeping time). Fails with lease-not-found.
     */
    default CompletableFuture<io.quorumlab.mvcc.api.LeaseTimeToLiveResponse> leaseTimeToLive(long leaseId, boolean keys) {
        return readBarrier().thenApply(v -> store().leaseTimeToLive(leaseId, keys));
    }

    /** The cluster's members as this member has applied them. */
    List<MemberInfo> members();

    /** A membership change's outcome: the member it concerned and the members afterwards. */
    record MembershipChange(MemberInfo member, List<MemberInfo> members) {}

    /** MemberAdd: a voter or a learner with these peer URLs; completes once the change is applied here. */
    CompletableFuture<MembershipChange> addMember(List<String> peerUrls, boolean learner);

    CompletableFuture<MembershipChange> removeMember(long id);

    CompletableFuture<MembershipChange> updateMember(long id, List<String> peerUrls);

    CompletableFuture<MembershipChange> promoteMember(long id);

    /** MoveLeader: only the leader may; completes when {@code target} leads. */
    CompletableFuture<Void> moveLeader(long target);

    /**
     * A consistent copy of the backend pinned on the apply loop; the caller streams it from any
     * thread ({@code writeTo}) and must close it.
     */
    CompletableFuture<io.quorumlab.mvcc.backend.Backend.Snapshot> openSnapshot();

    /** Defragment this member's backend (on its apply loop). */
    CompletableFuture<Void> defragment();

    /** A snapshot of what Maintenance.Status and the health endpoint report. */
    record MemberStatus(long memberId, long leaderId, long raftTerm, long raftIndex, long raftAppliedIndex,
                        long dbSizeBytes, long dbSizeInUseBytes, boolean isLearner, String version) {}
}
