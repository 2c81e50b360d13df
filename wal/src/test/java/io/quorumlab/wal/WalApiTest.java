package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.CrashMode;
import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WalApiTest {

    @Test
    void fsyncOnlyWhenNeeded() throws IOException {
        MemStorage storage = new MemStorage();
        Wal wal = Wal.create(storage, small(64 * 1024), META);
        long f0 = storage.forceCount();
        wal.save(List.of(entry(1, 1, 10)), new HardState(1, 1, 0));
        assertEquals(f0 + 1, storage.forceCount(), "new entries: one fsync for entries + hard state");
        wal.save(List.of(), new HardState(1, 1, 1));
        assertEquals(f0 + 1, storage.forceCount(), "commit-only change needs no fsync");
        wal.save(List.of(), new HardState(1, 1, 1));
        assertEquals(f0 + 1, storage.forceCount(), "unchanged hard state writes nothing");
        wal.save(List.of(), new HardState(2, 3, 1));
        assertEquals(f0 + 2, storage.forceCount(), "term/vote change is fsync'd");
        wal.close();
        Recovered r = Wal.open(storage, small(64 * 1024), null).recovered();
        assertEquals(new HardState(2, 3, 1), r.hardState());
        assertEquals(META, r.metadata());
        assertEquals(0x1234, r.metadata().memberId());
        assertEquals(0xabcd, r.metadata().clusterId());
    }

    @Test
    void createRefusesExistingWalAndOpenRefusesEmptyDir() throws IOException {
        MemStorage storage = new MemStorage();
        assertThrows(WalException.class, () -> Wal.open(storage, small(8192), null));
        Wal.create(storage, small(8192), META).close();
        assertThrows(WalException.class, () -> Wal.create(storage, small(8192), META));
    }

    @Test
    void createIsAtomicAcrossACrash() throws IOException {
        MemStorage storage = new MemStorage();
        storage.setHook(new IoHook() {
            @Override
            public void beforeFsyncDir() throws IOException {
                throw new IOException("power lost before the rename became durable");
            }
        });
        assertThrows(IOException.class, () -> Wal.create(storage, small(8192), META));
        storage.setHook(IoHook.NONE);
        storage.crash(CrashMode.LOSE_UNSYNCED, new SplittableRandom(0));
        assertFalse(Wal.exists(storage), "no half-created wal");
        Wal.create(storage, small(8192), META).close();
    }

    @Test
    void slowFdatasyncIsMeasuredOnTheInjectedClock() throws IOException {
        AtomicLong now = new AtomicLong();
        WalHistogramMetrics metrics = new WalHistogramMetrics();
        MemStorage storage = new MemStorage();
        // Virtual time: each fsync "takes" 1.5 s without anyone sleeping.
        storage.setHook(new IoHook() {
            @Override
            public void beforeForce(String file) {
                now.addAndGet(1_500_000_000L);
            }
        });
        WalOptions opts = small(64 * 1024).withNanoClock(now::get).withMetrics(metrics);
        try (Wal wal = Wal.create(storage, opts, META)) {
            wal.save(List.of(entry(1, 1, 1)), new HardState(1, 1, 0));
        }
        WalHistogramMetrics.Histogram h = metrics.fsync();
        assertTrue(h.count() >= 1);
        assertEquals(0, h.cumulative(10), "1.5 s is above the 1.024 s bucket");
        assertEquals(h.count(), h.cumulative(11), "and within the 2.048 s bucket");
        String text = metrics.render();
        assertTrue(text.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"}"), text);
        assertTrue(text.contains("etcd_disk_wal_write_bytes_total "), text);
        assertEquals(14, WalMetrics.FSYNC_BUCKETS_SECONDS.length);
        assertEquals(0.001, WalMetrics.FSYNC_BUCKETS_SECONDS[0]);
    }

    @Test
    void healthyWalVerifiesOkAndRepairIsANoOp() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, small(4096), META)) {
            for (int i = 1; i <= 40; i++) {
                wal.save(List.of(entry(1, i, 50)), new HardState(1, 1, i - 1));
            }
        }
        WalVerifier.Report r = WalVerifier.verify(storage);
        assertEquals(WalVerifier.Status.OK, r.status(), r.summary());
        assertEquals(40, r.lastIndex());
        assertTrue(r.summary().contains("OK"));
        assertFalse(WalVerifier.repair(storage).changed());
    }

    @Test
    void missingMiddleSegmentIsReported() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, small(4096), META)) {
            for (int i = 1; i <= 150; i++) {
                wal.save(List.of(entry(1, i, 50)), new HardState(1, 1, i - 1));
            }
        }
        List<WalFormat.SegmentName> segs = SegmentFiles.list(storage);
        assertTrue(segs.size() >= 3);
        storage.delete(segs.get(1).fileName());
        WalCorruptException e = assertThrows(WalCorruptException.class, () -> Wal.open(storage, small(4096), null));
        assertTrue(e.getMessage().contains("missing segment"), e.getMessage());
    }

    @Test
    void memStorageTearKeepsAPrefixOfTheLastWrite() throws IOException {
        MemStorage s = new MemStorage();
        try (var f = s.create("x")) {
            f.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 0);
            f.force();
            f.write(java.nio.ByteBuffer.wrap(new byte[] {5, 6, 7, 8}), 4);
            f.write(java.nio.ByteBuffer.wrap(new byte[] {9, 9, 9, 9}), 8);
        }
        s.fsyncDir();
        MemStorage lost = s.copyDurable();
        try (var f = lost.open("x")) {
            assertEquals(4, f.size(), "durable copy has only fsync'd bytes");
        }
        s.crash(CrashMode.TEAR_LAST_WRITE, new SplittableRandom(3));
        try (var f = s.open("x")) {
            byte[] b = f.readAll();
            assertTrue(b.length >= 8 && b.length <= 12, "earlier unsynced write kept, last one torn: " + b.length);
            for (int i = 8; i < b.length; i++) {
                assertEquals(9, b[i]);
            }
        }
    }
    @Test
    void tornTailIsReportedByVerifyAndKeptAsideByOpen() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, small(64 * 1024), META)) {
            for (int i = 1; i <= 5; i++) {
                wal.save(List.of(entry(1, i, 100)), new HardState(1, 1, i - 1));
            }
        }
        List<Frame> frames = frames(storage);
        Frame last = frames.get(frames.size() - 1);
        byte[] original = SegmentFiles.read(storage, last.file());
        long cut = last.start() + 5; // the header of the last frame is cut short
        try (var f = storage.open(last.file())) {
            f.write(java.nio.ByteBuffer.allocate((int) (f.size() - cut)), cut);
        }
        WalVerifier.Report report = WalVerifier.verify(storage);
        assertEquals(WalVerifier.Status.TORN_TAIL, report.status(), report.summary());
        assertEquals(last.start(), report.problem().badOffset());

        Wal.Opened o = Wal.open(storage, small(64 * 1024), null);
        assertEquals(1, o.recovered().repairs().size());
        Recovered.TornTail torn = o.recovered().repairs().get(0);
        assertEquals(last.start(), torn.offset());
        byte[] kept = SegmentFiles.read(storage, torn.brokenFile());
        assertArrayEquals(java.util.Arrays.copyOfRange(original, (int) last.start(), (int) cut), kept,
                "the removed bytes are kept in the .broken file");
        o.wal().close();
        assertEquals(WalVerifier.Status.OK, WalVerifier.verify(storage).status());
    }

    @Test
    void snapshotMarkerWithWrongTermIsRefused() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, small(64 * 1024), META)) {
            for (int i = 1; i <= 5; i++) {
                wal.save(List.of(entry(2, i, 10)), new HardState(2, 1, i - 1));
            }
            wal.saveSnapshot(new SnapshotMarker(3, 2));
        }
        assertThrows(WalCorruptException.class, () -> Wal.open(storage, small(64 * 1024), new SnapshotMarker(3, 1)));
        assertThrows(WalException.class, () -> Wal.open(storage, small(64 * 1024), new SnapshotMarker(4, 2)));
        Recovered r = Wal.open(storage, small(64 * 1024), new SnapshotMarker(3, 2)).recovered();
        assertEquals(List.of(4L, 5L), r.entries().stream().map(WalEntry::index).toList());
    }
    @Test
    void snapshotInstalledBeyondTheLogContinuesAfterIt() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, small(64 * 1024), META)) {
            for (int i = 1; i <= 10; i++) {
                wal.save(List.of(entry(1, i, 10)), new HardState(1, 1, i - 1));
            }
            // A lagging follower receives a snapshot at 500 from the leader (etcd: SaveSnapshot, then Save).
            wal.saveSnapshot(new SnapshotMarker(500, 3));
            wal.save(List.of(entry(3, 501, 10), entry(3, 502, 10)), new HardState(3, 2, 500));
            assertEquals(502, wal.lastIndex());
        }
        Recovered fromLast = Wal.open(storage, small(64 * 1024), null).recovered();
        assertEquals(new SnapshotMarker(500, 3), fromLast.snapshot());
        assertEquals(List.of(501L, 502L), fromLast.entries().stream().map(WalEntry::index).toList());
        Recovered fromMarker = Wal.open(storage, small(64 * 1024), new SnapshotMarker(500, 3)).recovered();
        assertEquals(fromLast.entries(), fromMarker.entries());
    }
}
