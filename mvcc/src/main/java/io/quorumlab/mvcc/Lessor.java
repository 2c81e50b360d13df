package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.LeaseCheckpointRequest;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.backend.ByteKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Lease state: which leases exist, which keys each holds, and (on the leader only) when each
 * expires in the caller's clock.
 *
 * <p>Two locks, as etcd's lessor has its own mutex beside the key space's: the key attachments
 * ({@link Lease#keys}, {@link #keyLease}) belong to the apply thread under the store's write lock;
 * the deadlines, the checkpointed TTLs, the revoke records and {@link #primary} are guarded by this
 * object's monitor only, so a keep-alive, a TimeToLive and the leader's expiry check never wait
 * for an apply (a defragment, a big compaction or a snapshot holds the store lock for seconds). The
 * {@link #leases} map is changed only by the apply thread holding both locks, so a reader may
 * hold either one.
 */
final class Lessor {
    static final long SEC = 1_000_000_000L;

    static final class Lease {
        final long id;
        final long ttl;
        /** Last checkpointed remaining TTL (0 = never checkpointed); a new leader resumes from it. Monitor. */
        long remainingTtl;
        /** Apply thread, store write lock. */
        final TreeSet<ByteKey> keys = new TreeSet<>();
        /** Long.MAX_VALUE when this member is not the primary lessor: followers never expire leases. Monitor. */
        long expiryNanos = Long.MAX_VALUE;
        /** A revoke of this expired lease was claimed at or proposed at {@link #revokeAtNanos}. Monitor. */
        boolean revokeInFlight;
        long revokeAtNanos;

        Lease(long id, long ttl, long remainingTtl) {
            this.id = id;
            this.ttl = ttl;
            this.remainingTtl = remainingTtl;
        }

        /** Wrap-safe, as the clock ({@code a - b < 0}: a nanoTime reading may be negative or wrap). */
        boolean expiredAt(long now) {
            return expiryNanos != Long.MAX_VALUE && now - expiryNanos >= 0;
        }
    }

    /** Changed under the store's write lock and this monitor (apply thread); read under either. */
    final Map<Long, Lease> leases = new HashMap<>();
    /** Apply thread, store write lock. */
    final Map<ByteKey, Long> keyLease = new HashMap<>();

    // ---- guarded by this
    private boolean primary;
    /** False while no lease can have a deadline (nothing can expire, no walk needed). */
    private boolean anyDeadline;
    /**
     * With {@link #anyDeadline}: at or before every lease's deadline in the clock's wrap-safe order,
     * lowered whenever a deadline is set, made exact again by each walk.
     */
    private long earliestExpiryNanos;

    /** Sets a lease's deadline. */
    private void expireAt(Lease l, long expiryNanos) {
        assert Thread.holdsLock(this);
        l.expiryNanos = expiryNanos;
        l.revokeInFlight = false;
        if (!anyDeadline || expiryNanos - earliestExpiryNanos < 0) earliestExpiryNanos = expiryNanos;
        anyDeadline = true;
    }

    /** A granted lease (apply thread, store write lock): its clock starts now on the primary. */
    synchronized void grant(Lease l, long now) {
        if (primary) expireAt(l, now + l.ttl * SEC);
        leases.put(l.id, l);
    }

    /** A lease read back from the backend (recovery, restore). */
    synchronized void recovered(Lease l) {
        leases.put(l.id, l);
    }

    /** A revoked lease leaves (apply thread, store write lock). */
    synchronized Lease remove(long id) {
        return leases.remove(id);
    }

    /** Before a restore replaces every lease (apply thread, store write lock). */
    synchronized void clear() {
        leases.clear();
        keyLease.clear();
    }

    synchronized boolean isPrimary() {
        return primary;
    }

    synchronized void checkpoint(Lease l, long remainingTtlSeconds) {
        l.remainingTtl = remainingTtlSeconds;
    }

    synchronized long remainingTtlOf(Lease l) {
        return l.remainingTtl;
    }

    /**
     * etcd's Renew on the primary: a lease past its deadline is as good as revoked (the leader proposes
     * or has proposed its revoke) and is refused ("requested lease not found"), not revived. A member
     * that is not (yet) primary only clears the checkpoint, so its promotion starts the full TTL.
     */
    synchronized long renew(long id, long now) {
        Lease l = leases.get(id);
        if (l == null) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
        if (primary) {
            if (l.expiredAt(now)) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
            expireAt(l, now + l.ttl * SEC);
        }
        l.remainingTtl = 0; // a renewal supersedes the last checkpoint
        return l.ttl;
    }

    /** Remaining whole seconds: from the deadline on the primary, else the checkpoint or the full TTL. */
    /**
     * {@link #renew(long, long)} with the clock read under this lock: a keep-alive whose thread read
     * the time, then waited while the expiry check claimed and confirmed the lease's revoke, must see
     * the lease as expired, not renew it from a stale instant (review r9l).
     */
    synchronized long renew(long id, java.util.function.LongSupplier clock) {
        return renew(id, clock.getAsLong());
    }

    /** {@link #remainingSeconds(long, long)} with the clock read under this lock. */
    synchronized long remainingSeconds(long id, java.util.function.LongSupplier clock) {
        return remainingSeconds(id, clock.getAsLong());
    }

    synchronized long remainingSeconds(long id, long now) {
        Lease l = leases.get(id);
        if (l == null) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
        return remainingSeconds(l, now);
    }

    synchronized long remainingSeconds(Lease l, long now) {
        if (l.expiryNanos == Long.MAX_VALUE) return l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
        return Math.max(0, (l.expiryNanos - now) / SEC);
    }

    synchronized void promote(long now, long extendNanos) {
        primary = true;
        anyDeadline = false;
        for (Lease l : leases.values()) {
            long ttl = l.remainingTtl > 0 ? l.remainingTtl : l.ttl;
            expireAt(l, now + ttl * SEC + Math.max(0, extendNanos));
        }
    }

    synchronized void demote() {
        primary = false;
        anyDeadline = false;
        for (Lease l : leases.values()) {
            l.expiryNanos = Long.MAX_VALUE;
            l.revokeInFlight = false;
        }
    }

    /** Leases past their deadline, at most {@code max}, sorted (a query: records nothing). */
    synchronized List<Long> expired(long now, int max) {
        return walk(now, max, -1);
    }

    /**
     * The primary's expiry check (etcd's revokeExpiredLeases): leases past their deadline whose revoke
     * was not claimed or proposed in the last {@code retryNanos}, at most {@code max}; each returned lease
     * is recorded as claimed now, so the next checks skip it until the retry delay has passed (etcd waits
     * 3 s before proposing a revoke again). Empty when not primary.
     */
    synchronized List<Long> claimExpired(long now, int max, long retryNanos) {
        if (!primary) return List.of();
        return walk(now, max, retryNanos);
    }

    /**
     * Just before proposing a claimed revoke: true, and the revoke recorded as proposed now, only if
     * this member is still primary and the lease still exists and is still past its current deadline
     * (a demotion, a revoke or a re-promotion since the claim clears it).
     */
    synchronized boolean confirmRevoke(long id, long now) {
        Lease l = leases.get(id);
        if (!primary || l == null || !l.expiredAt(now)) return false;
        l.revokeInFlight = true;
        l.revokeAtNanos = now;
        return true;
    }

    /** retryNanos < 0: a query; otherwise a claim that skips leases with a revoke in flight for less than it. */
    private List<Long> walk(long now, int max, long retryNanos) {
        List<Long> out = new ArrayList<>();
        // The leader checks twice a second; most checks find nothing due, and the lower bound says so without a walk.
        if (!anyDeadline || now - earliestExpiryNanos < 0) return out;
        boolean any = false;
        long earliest = 0;
        List<Lease> due = new ArrayList<>();
        for (Lease l : leases.values()) {
            if (l.expiryNanos == Long.MAX_VALUE) continue;
            if (l.expiredAt(now) && (retryNanos < 0 || !l.revokeInFlight || now - l.revokeAtNanos >= retryNanos)) due.add(l);
            if (!any || l.expiryNanos - earliest < 0) earliest = l.expiryNanos; // wrap-safe, as the clock
            any = true;
        }
        earliestExpiryNanos = earliest;
        anyDeadline = any;
        // Lowest ids first, so a capped batch is the same on every run (HashMap order is not an order).
        due.sort(Comparator.comparingLong(l -> l.id));
        for (Lease l : due) {
            if (out.size() >= max) break;
            if (retryNanos >= 0) {
                l.revokeInFlight = true;
                l.revokeAtNanos = now;
            }
            out.add(l.id);
        }
        return out;
    }

    /** Remaining TTLs the leader should checkpoint through Raft (etcd's lease checkpointing), by id. */
    synchronized List<LeaseCheckpointRequest.Checkpoint> checkpoints(long now) {
        List<LeaseCheckpointRequest.Checkpoint> cps = new ArrayList<>();
        for (Lease l : leases.values()) {
            if (l.expiryNanos == Long.MAX_VALUE) continue;
            cps.add(new LeaseCheckpointRequest.Checkpoint(l.id, Math.max(1, (l.expiryNanos - now) / SEC)));
        }
        cps.sort(Comparator.comparingLong(LeaseCheckpointRequest.Checkpoint::id));
        return cps;
    }

    /** Ids of every lease, sorted. */
    synchronized List<Long> ids() {
        List<Long> ids = new ArrayList<>(leases.keySet());
        Collections.sort(ids);
        return ids;
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
