package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SmokeTest {
    static byte[] b(String s) { return Bytes.of(s); }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void basicLifecycle(TestStores.Kind kind) {
        try (TestStores.Disk disk = new TestStores.Disk(kind); MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread())) {
            assertEquals(1, s.currentRevision());
            PutResponse p = (PutResponse) s.apply(1, PutRequest.of("a", "1"));
            assertEquals(2, p.header().revision());
            s.apply(2, PutRequest.of("a", "2"));
            s.apply(3, PutRequest.of("b", "x"));
            RangeResponse r = s.range(RangeRequest.key(b("a")));
            assertEquals(1, r.count());
            assertEquals(new KeyValue(b("a"), 2, 3, 2, b("2"), 0), r.kvs().get(0));
            RangeResponse old = s.range(RangeRequest.builder(b("a")).revision(2).build());
            assertEquals("1", new String(old.kvs().get(0).value()));
            RangeResponse all = s.range(RangeRequest.builder(b("a")).fromKey().limit(1).build());
            assertEquals(2, all.count());
            assertTrue(all.more());
            // etcd's limit is an int64: the largest one means "no limit", not an overflow.
            RangeResponse unlimited = s.range(RangeRequest.builder(b("a")).fromKey().limit(Long.MAX_VALUE).build());
            assertEquals(2, unlimited.count());
            assertEquals(2, unlimited.kvs().size());
            assertFalse(unlimited.more());
            DeleteRangeResponse d = (DeleteRangeResponse) s.apply(4, new DeleteRangeRequest(b("a"), b("c"), true));
            assertEquals(2, d.deleted());
            assertEquals(5, d.header().revision());
            assertEquals(2, d.prevKvs().size());
            MvccException e = assertThrows(MvccException.class, () -> s.range(RangeRequest.builder(b("a")).revision(9).build()));
            assertEquals(ErrorCode.FUTURE_REV, e.code());
            s.apply(5, new CompactionRequest(4, false));
            e = assertThrows(MvccException.class, () -> s.range(RangeRequest.builder(b("a")).revision(3).build()));
            assertEquals("etcdserver: mvcc: required revision has been compacted", e.getMessage());
            assertEquals(0, s.range(RangeRequest.builder(b("a")).fromKey().build()).count());
            assertEquals(2, s.range(RangeRequest.builder(b("a")).fromKey().revision(4).build()).count());
            assertEquals(AlreadyApplied.class, s.apply(5, PutRequest.of("z", "z")).getClass());
            TxnResponse t = (TxnResponse) s.apply(6, new TxnRequest(
                    List.of(Compare.number(b("k"), Compare.Target.MOD, Compare.Result.EQUAL, 0)),
                    List.of(PutRequest.of("k", "v"), RangeRequest.key(b("k"))), List.of()));
            assertTrue(t.succeeded());
            assertEquals(6, t.header().revision());
            assertEquals(6, t.responses().get(1).header().revision());
            assertEquals(1, ((RangeResponse) t.responses().get(1)).count());
        }
    }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void largeValuesAndBinaryKeys(TestStores.Kind kind) throws Exception {
        try (TestStores.Disk disk = new TestStores.Disk(kind); MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread())) {
            byte[] big = new byte[1_500_000];
            new java.util.Random(3).nextBytes(big);
            byte[] key = new byte[] {(byte) 0xff, 0, (byte) 0x80, 1};
            s.apply(1, PutRequest.of(key, big));
            s.commit();
            assertArrayEquals(big, s.range(RangeRequest.key(key)).kvs().get(0).value());
            assertEquals(1, s.range(RangeRequest.builder(new byte[] {(byte) 0xff}).prefix().build()).count());
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            s.snapshot(out);
            try (MvccStore r = new MvccStore(new io.quorumlab.mvcc.backend.InMemoryBackend(), TestStores.noSyncThread())) {
                r.restore(new java.io.ByteArrayInputStream(out.toByteArray()));
                assertArrayEquals(big, r.range(RangeRequest.key(key)).kvs().get(0).value());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void prefixEnds() {
        assertArrayEquals(b("b"), Bytes.prefixEnd(b("a")));
        assertArrayEquals(new byte[] {'b'}, Bytes.prefixEnd(new byte[] {'a', (byte) 0xff}));
        assertArrayEquals(Bytes.FROM_KEY, Bytes.prefixEnd(new byte[] {(byte) 0xff, (byte) 0xff}));
    }
}
