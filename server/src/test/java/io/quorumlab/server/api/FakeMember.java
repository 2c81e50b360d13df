package io.quorumlab.server.api;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.api.LeaseKeepAliveResponse;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.member.MemberApi;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A single-member "cluster" for API tests: a real MvccStore on the in-memory backend, every
 * proposal applied at once on one apply thread with consecutive Raft indices. Knobs let tests
 * take the leader away or make proposals fail.
 */
final class FakeMember implements MemberApi, AutoCloseable {
    static final long CLUSTER_ID = 0x1234_5678_9abcL;
    static final long MEMBER_ID = 0x8e9e_05c5_2164_694dL;

    private final MvccStore store;
    private final ScheduledExecutorService apply = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-apply");
        t.setDaemon(true);
        return t;
    });
    private long index; // apply thread only
    private volatile long appliedIndex;
    volatile long leader = MEMBER_ID;
    /** Set by tests: the member has fail-stopped (what Member reports after a WAL or apply failure). */
    volatile boolean stopped;
    volatile long term = 7;
    /** When set, propose and readBarrier fail with what it supplies. */
    volatile Supplier<RuntimeException> failure;
    final AtomicInteger proposals = new AtomicInteger();

    FakeMember() {
        store = new MvccStore(new InMemoryBackend(), StoreConfig.defaults().withWatchSyncInterval(TimeUnit.MILLISECONDS.toNanos(10)));
        onApply(() -> {
            store.promoteLessor();
            return null;
        }).join();
        // The leader's lessor: expired leases are revoked through "Raft", as the real member does.
        apply.scheduleWithFixedDelay(() -> {
            List<Long> expired = store.expiredLeases(100);
            for (long id : expired) {
                try {
                    store.apply(++index, new LeaseRevokeRequest(id));
                    appliedIndex = index;
                } catch (RuntimeException ignored) {
                    // revoked meanwhile
                }
            }
        }, 100, 100, TimeUnit.MILLISECONDS);
    }

    private <T> CompletableFuture<T> onApply(Supplier<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        apply.execute(() -> {
            try {
                f.complete(task.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    @Override public long clusterId() { return CLUSTER_ID; }

    @Override public long memberId() { return MEMBER_ID; }

    @Override public long term() { return term; }

    @Override public long leaderId() { return leader; }

    @Override public boolean isStopped() { return stopped; }

    @Override
    public CompletableFuture<Response> propose(Request request) {
        Supplier<RuntimeException> f = failure;
        if (f != null) return CompletableFuture.failedFuture(f.get());
        if (leader == 0) return CompletableFuture.failedFuture(EtcdError.NO_LEADER.exception());
        proposals.incrementAndGet();
        return onApply(() -> {
            Response r = store.apply(++index, request);
            appliedIndex = index;
            return r;
        });
    }

    @Override
    public CompletableFuture<Void> readBarrier() {
        Supplier<RuntimeException> f = failure;
        if (f != null) return CompletableFuture.failedFuture(f.get());
        if (leader == 0) return CompletableFuture.failedFuture(EtcdError.NO_LEADER.exception());
        return onApply(() -> null);
    }

    @Override public MvccStore store() { return store; }

    @Override
    public CompletableFuture<LeaseKeepAliveResponse> leaseKeepAlive(long leaseId) {
        if (leader == 0) return CompletableFuture.failedFuture(EtcdError.NO_LEADER.exception());
        return onApply(() -> store.leaseKeepAlive(leaseId));
    }

    /** A single member without Raft: the membership is itself; changing it needs the real member. */
    @Override
    public List<io.quorumlab.server.member.MemberInfo> members() {
        return List.of(new io.quorumlab.server.member.MemberInfo(MEMBER_ID, "fake", List.of("http://127.0.0.1:2380"),
                List.of(), false));
    }

    private static <T> CompletableFuture<T> noRaft() {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("FakeMember has no Raft: membership needs Member"));
    }

    @Override
    public CompletableFuture<MembershipChange> addMember(List<String> peerUrls, boolean learner) {
        return noRaft();
    }

    @Override
    public CompletableFuture<MembershipChange> removeMember(long id) {
        return noRaft();
    }

    @Override
    public CompletableFuture<MembershipChange> updateMember(long id, List<String> peerUrls) {
        return noRaft();
    }

    @Override
    public CompletableFuture<MembershipChange> promoteMember(long id) {
        return noRaft();
    }

    @Override
    public CompletableFuture<Void> moveLeader(long target) {
        return noRaft();
    }

    @Override
    public CompletableFuture<io.quorumlab.mvcc.backend.Backend.Snapshot> openSnapshot() {
        return onApply(store::openSnapshot);
    }

    @Override
    public CompletableFuture<Void> defragment() {
        return onApply(() -> {
            store.defragment();
            return null;
        });
    }

    @Override
    public MemberStatus status() {
        return new MemberStatus(MEMBER_ID, leader, term, appliedIndex, appliedIndex, store.dbSizeBytes(), store.dbSizeInUseBytes(),
                false, "3.4.23");
    }

    /** Runs a mutation on the apply thread (compaction in tests) and waits. */
    Response applyNow(Request r) throws ExecutionException, InterruptedException { return propose(r).get(); }

    @Override
    public void close() {
        apply.shutdownNow();
        try {
            apply.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
