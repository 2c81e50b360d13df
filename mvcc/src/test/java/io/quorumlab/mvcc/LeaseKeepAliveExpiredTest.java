package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A keep-alive that reaches the leader after the lease expired does not revive it: etcd 3.4's lessor.Renew refuses an expired lease (l.expired() -> wait for revokec ->
 * ErrLeaseNotFound, answered as TTL 0 / "requested lease not found" by etcdctl). Verified against a
 * real etcd 3.4.23: `lease keep-alive --once` 2.0 s after `lease grant 2` gives "requested lease not found".
 */
class LeaseKeepAliveExpiredTest {
    static final long SEC = 1_000_000_000L;

    @Test
    void keepAliveAfterExpiryMustNotRenew() {
        AtomicLong clock = new AtomicLong(1_000 * SEC);
        MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withClock(clock::get));
        s.promoteLessor();
        s.apply(1, new LeaseGrantRequest(5, 7));
        s.apply(2, new PutRequest(Bytes.of("lock"), Bytes.of("me"), 7, false, false, false));
        clock.addAndGet(6 * SEC); // the lease is past its deadline
        assertEquals(List.of(7L), s.expiredLeases(10), "the leader now proposes LeaseRevoke(7)");
        // The holder's keep-alive reaches the leader before the revoke applies.
        LeaseKeepAliveResponse ka = null;
        MvccException refused = null;
        try {
            ka = s.leaseKeepAlive(7);
        } catch (MvccException e) {
            refused = e;
        }
        s.apply(3, new LeaseRevokeRequest(7)); // the revoke proposed above commits
        assertEquals(0, s.range(RangeRequest.key(Bytes.of("lock"))).count(), "the key is gone");
        assertNotNull(refused, "keep-alive of an expired lease (revoke already proposed) was answered TTL="
                + (ka == null ? "?" : ka.ttl()) + "; etcd answers lease-not-found (TTL 0)");
        s.close();
    }
}
