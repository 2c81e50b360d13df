package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SnapshotDefragTest {
    static byte[] b(String s) { return Bytes.of(s); }

    static void fill(MvccStore s, int n) {
        for (int i = 1; i <= n; i++) s.apply(i, PutRequest.of("key/" + (i % 50), "v" + i));
    }

    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void snapshotRestoresAcrossBackends(TestStores.Kind kind) throws IOException {
        try (TestStores.Disk disk = new TestStores.Disk(kind); MvccStore src = new MvccStore(disk.open(), TestStores.noSyncThread())) {
            fill(src, 400);
            src.apply(401, new LeaseGrantRequest(30, 9));
            src.apply(402, new PutRequest(b("leased"), b("x"), 9, false, false, false));
            src.apply(403, new CompactionRequest(300, false));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            src.snapshot(out);
            byte[] snap = out.toByteArray();

            TestStores.Kind other = kind == TestStores.Kind.LMDB ? TestStores.Kind.MEMORY : TestStores.Kind.LMDB;
            try (TestStores.Disk d2 = new TestStores.Disk(other); MvccStore dst = new MvccStore(d2.open(), TestStores.noSyncThread())) {
                dst.apply(1, PutRequest.of("junk", "1"));
                dst.restore(new ByteArrayInputStream(snap));
                assertEquals(src.currentRevision(), dst.currentRevision());
                assertEquals(src.compactRevision(), dst.compactRevision());
                assertEquals(src.consistentIndex(), dst.consistentIndex());
                assertEquals(src.hashKV(0), dst.hashKV(0));
                RangeRequest all = RangeRequest.builder(b("\0")).fromKey().revision(300).build();
                assertEquals(src.range(all), dst.range(all));
                assertEquals(src.leaseTimeToLive(9, true).keys().size(), dst.leaseTimeToLive(9, true).keys().size());

                byte[] torn = Arrays.copyOf(snap, snap.length);
                torn[torn.length / 2] ^= 1;
                assertThrows(IOException.class, () -> dst.restore(new ByteArrayInputStream(torn)));
                assertEquals(src.hashKV(0), dst.hashKV(0), "a bad snapshot must not touch the state");
            }
        }
    }

    @Test
    void defragmentReturnsSpaceAndKeepsData() {
        BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withUnsafeNoFsync(true);
        try (TestStores.Disk disk = new TestStores.Disk(TestStores.Kind.LMDB, cfg);
             MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread())) {
            byte[] big = new byte[2048];
            for (int i = 1; i <= 3000; i++) s.apply(i, PutRequest.of(b("big/" + i), big));
            s.apply(3001, PutRequest.of("keep", "me"));
            s.apply(3002, new DeleteRangeRequest(b("big/"), Bytes.prefixEnd(b("big/")), false));
            s.apply(3003, new CompactionRequest(s.currentRevision(), false));
            s.commit();
            long before = s.dbSizeBytes();
            long inUse = s.dbSizeInUseBytes();
            assertTrue(inUse < before / 2, "compaction frees pages: inUse=" + inUse + " size=" + before);
            long hash = s.hashKV(0).hash();
            s.defragment();
            long after = s.dbSizeBytes();
            assertTrue(after < before / 2, "defrag shrinks the file: " + before + " -> " + after);
            assertEquals(hash, s.hashKV(0).hash());
            assertEquals("me", new String(s.range(RangeRequest.key(b("keep"))).kvs().get(0).value()));
            s.apply(3004, PutRequest.of("after", "defrag"));
            assertEquals(1, s.range(RangeRequest.key(b("after"))).count());
        }
    }

    /** A snapshot pinned at revision R streams R's state even though apply has moved on (from another thread). */
    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void pinnedSnapshotStreamsFromAnotherThread(TestStores.Kind kind) throws Exception {
        try (TestStores.Disk disk = new TestStores.Disk(kind); MvccStore src = new MvccStore(disk.open(), TestStores.noSyncThread());
             MvccStore twin = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread())) {
            fill(src, 200);
            fill(twin, 200);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (io.quorumlab.mvcc.backend.Backend.Snapshot snap = src.openSnapshot()) {
                for (int i = 201; i <= 400; i++) src.apply(i, PutRequest.of("later/" + i, "x"));
                if (kind == TestStores.Kind.LMDB) assertThrows(IllegalStateException.class, src::defragment);
                Thread t = new Thread(() -> {
                    try {
                        snap.writeTo(out);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                t.start();
                t.join();
            }
            src.defragment(); // fine once the snapshot is closed
            try (MvccStore dst = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread())) {
                dst.restore(new ByteArrayInputStream(out.toByteArray()));
                assertEquals(twin.hashKV(0), dst.hashKV(0));
                assertEquals(200, dst.consistentIndex());
            }
        }
    }

    @Test
    void inMemorySnapshotIsStable() throws IOException {
        try (MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread())) {
            fill(s, 50);
            ByteArrayOutputStream a = new ByteArrayOutputStream(), c = new ByteArrayOutputStream();
            s.snapshot(a);
            s.snapshot(c);
            assertArrayEquals(a.toByteArray(), c.toByteArray());
        }
    }
}
