package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LeaseQuotaTest {
    static byte[] b(String s) { return Bytes.of(s); }

    static final long SEC = 1_000_000_000L;

    static ErrorCode err(Runnable r) {
        return assertThrows(MvccException.class, r::run).code();
    }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void leaseLifecycleSurvivesRestart(TestStores.Kind kind) {
        AtomicLong clock = new AtomicLong(1_000 * SEC);
        StoreConfig cfg = TestStores.noSyncThread().withClock(clock::get);
        try (TestStores.Disk disk = new TestStores.Disk(kind, BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE))) {
            MvccStore s = new MvccStore(disk.open(), cfg);
            LeaseGrantResponse g = (LeaseGrantResponse) s.apply(1, new LeaseGrantRequest(1, 42));
            assertEquals(2, g.ttlSeconds(), "TTL floor");
            assertEquals(ErrorCode.LEASE_EXISTS, err(() -> s.apply(2, new LeaseGrantRequest(10, 42))));
            assertEquals(ErrorCode.LEASE_TTL_TOO_LARGE, err(() -> s.apply(3, new LeaseGrantRequest(9_000_000_001L, 43))));
            assertEquals(ErrorCode.LEASE_NOT_FOUND, err(() -> s.apply(4, new PutRequest(b("x"), b("1"), 99, false, false, false))));
            s.apply(5, new LeaseGrantRequest(60, 7));
            s.apply(6, new PutRequest(b("k1"), b("1"), 42, false, false, false));
            s.apply(7, new PutRequest(b("k2"), b("2"), 42, false, false, false));
            s.apply(8, new PutRequest(b("k3"), b("3"), 42, false, false, false));
            s.apply(9, new PutRequest(b("k3"), b("3b"), 0, false, false, true)); // ignore_lease keeps 42
            s.apply(10, new PutRequest(b("k2"), b("2b"), 7, false, false, false)); // moves k2 to lease 7
            s.apply(11, new PutRequest(b("k1"), Bytes.EMPTY, 0, true, true, false)); // ignore_value, drops the lease
            assertEquals(b("1").length, s.range(RangeRequest.key(b("k1"))).kvs().get(0).value().length);
            LeaseTimeToLiveResponse ttl = s.leaseTimeToLive(42, true);
            assertEquals(List.of("k3"), ttl.keys().stream().map(String::new).toList());
            assertEquals(List.of(7L, 42L), s.leaseLeases().ids());
            s.close();

            MvccStore r = new MvccStore(disk.open(), cfg);
            assertEquals(List.of("k3"), r.leaseTimeToLive(42, true).keys().stream().map(String::new).toList());
            long before = r.currentRevision();
            r.apply(12, new PutRequest(b("k4"), b("4"), 42, false, false, false));
            r.apply(13, new LeaseRevokeRequest(42));
            assertEquals(before + 2, r.currentRevision(), "revoke deletes all attached keys in one revision");
            assertEquals(0, r.range(RangeRequest.key(b("k3"))).count());
            assertEquals(0, r.range(RangeRequest.key(b("k4"))).count());
            assertEquals(1, r.range(RangeRequest.key(b("k1"))).count());
            assertEquals(ErrorCode.LEASE_NOT_FOUND, err(() -> r.leaseTimeToLive(42, false)));
            assertEquals(ErrorCode.LEASE_NOT_FOUND, err(() -> r.apply(14, new LeaseRevokeRequest(42))));

            // Expiry is the leader's call, measured on the caller's clock.
            assertTrue(r.expiredLeases(10).isEmpty());
            r.promoteLessor();
            clock.addAndGet(30 * SEC);
            assertEquals(30, r.leaseTimeToLive(7, false).ttl());
            assertEquals(60, r.leaseKeepAlive(7).ttl());
            clock.addAndGet(59 * SEC);
            assertTrue(r.expiredLeases(10).isEmpty());
            clock.addAndGet(2 * SEC);
            assertEquals(List.of(7L), r.expiredLeases(10));
            r.demoteLessor();
            assertTrue(r.expiredLeases(10).isEmpty(), "followers never expire leases");
            r.close();
        }
    }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void checkpointLimitsTtlAfterLeaderChange(TestStores.Kind kind) {
        AtomicLong clock = new AtomicLong(0);
        try (TestStores.Disk disk = new TestStores.Disk(kind);
             MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread().withClock(clock::get))) {
            s.promoteLessor();
            s.apply(1, new LeaseGrantRequest(100, 5));
            clock.addAndGet(70 * SEC);
            LeaseCheckpointRequest cp = s.checkpointRequest();
            assertEquals(30, cp.checkpoints().get(0).remainingTtlSeconds());
            s.apply(2, cp);
            s.demoteLessor();
            s.promoteLessor(); // new leader resumes from the checkpoint, not the full TTL
            assertEquals(30, s.leaseTimeToLive(5, false).ttl());
        }
    }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void noSpaceAlarmBlocksWritesUntilDisarmed(TestStores.Kind kind) {
        try (TestStores.Disk disk = new TestStores.Disk(kind);
             MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread().withQuota(4096))) {
            s.apply(1, PutRequest.of("a", "1"));
            assertTrue(s.quotaAvailable(10) || kind == TestStores.Kind.LMDB);
            assertFalse(s.quotaAvailable(1 << 20), "a request larger than the quota is refused before proposing");
            s.apply(2, new AlarmRequest(AlarmRequest.Action.ACTIVATE, 1, AlarmRequest.AlarmType.NOSPACE));
            assertFalse(s.quotaAvailable(0));
            MvccException e = assertThrows(MvccException.class, () -> s.apply(3, PutRequest.of("b", "2")));
            assertEquals("etcdserver: mvcc: database space exceeded", e.getMessage());
            assertEquals("RESOURCE_EXHAUSTED", e.code().grpcCode());
            assertEquals(ErrorCode.NO_SPACE, err(() -> s.apply(4, new LeaseGrantRequest(10, 1))));
            assertEquals(ErrorCode.NO_SPACE, err(() -> s.apply(5, new TxnRequest(List.of(), List.of(), List.of(
                    DeleteRangeRequest.key(b("a")))))));
            s.apply(6, new TxnRequest(List.of(), List.of(RangeRequest.key(b("a"))), List.of())); // read-only txn is fine
            s.apply(7, DeleteRangeRequest.key(b("a"))); // deletes free space: allowed
            s.apply(8, new CompactionRequest(s.currentRevision(), false));
            s.defragment();
            AlarmResponse list = (AlarmResponse) s.apply(9, new AlarmRequest(AlarmRequest.Action.GET, 0, AlarmRequest.AlarmType.NONE));
            assertEquals(1, list.alarms().size());
            s.apply(10, new AlarmRequest(AlarmRequest.Action.DEACTIVATE, 1, AlarmRequest.AlarmType.NOSPACE));
            s.apply(11, PutRequest.of("b", "2"));
            s.apply(12, new AlarmRequest(AlarmRequest.Action.ACTIVATE, 2, AlarmRequest.AlarmType.CORRUPT));
            assertEquals(ErrorCode.CORRUPT, err(() -> s.apply(13, RangeRequest.key(b("b")))));
            assertEquals(ErrorCode.CORRUPT, err(() -> s.apply(14, DeleteRangeRequest.key(b("b")))));
            s.apply(15, new AlarmRequest(AlarmRequest.Action.DEACTIVATE, 2, AlarmRequest.AlarmType.CORRUPT));
            s.apply(16, DeleteRangeRequest.key(b("b")));
        }
    }
}
