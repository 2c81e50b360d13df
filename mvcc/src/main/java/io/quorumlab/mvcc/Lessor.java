package io.quorumlab.mvcc;

import io.quorumlab.mvcc.backend.ByteKey;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Lease state: which leases exist, which keys each holds, and (on the leader only) when each
 * expires in the caller's clock. Mutated only on the apply thread under the store's write lock,
 * except deadlines, which the leader's keep-alive path moves under the same lock.
 */
final class Lessor {
    static final class Lease {
        final long id;
        final long ttl;
        /** Last checkpointed remaining TTL (0 = never checkpointed); a new leader resumes from it. */
        long remainingTtl;
        final TreeSet<ByteKey> keys = new TreeSet<>();
        /** Long.MAX_VALUE when this member is not the primary lessor: followers never expire leases. */
        long expiryNanos = Long.MAX_VALUE;

        Lease(long id, long ttl, long remainingTtl) {
            this.id = id;
            this.ttl = ttl;
            this.remainingTtl = remainingTtl;
        }
    }

    final Map<Long, Lease> leases = new HashMap<>();
    /** False while no lease can have a deadline (nothing can expire, no walk needed). */
    boolean anyDeadline;
    /**
     * With {@link #anyDeadline}: at or before every lease's deadline in the clock's wrap-safe order
     * ({@code a - b < 0}: a nanoTime reading may be negative or wrap), lowered whenever a deadline is
     * set, made exact again by each walk in {@code MvccStore.expiredLeases}.
     */
    long earliestExpiryNanos;
    final Map<ByteKey, Long> keyLease = new HashMap<>();
    boolean primary;

    /** Sets a lease's deadline (store write lock held). */
    void expireAt(Lease l, long expiryNanos) {
        l.expiryNanos = expiryNanos;
        if (!anyDeadline || expiryNanos - earliestExpiryNanos < 0) earliestExpiryNanos = expiryNanos;
        anyDeadline = true;
    }

    void attach(ByteKey key, long leaseId) {
        Lease l = leases.get(leaseId);
        assert l != null : "attach to missing lease " + leaseId;
        l.keys.add(key);
        keyLease.put(key, leaseId);
    }

    void detach(ByteKey key) {
        Long id = keyLease.remove(key);
        if (id == null) return;
        Lease l = leases.get(id);
        if (l != null) l.keys.remove(key);
    }

    long leaseOf(ByteKey key) {
        Long id = keyLease.get(key);
        return id == null ? 0 : id;
    }
}
