package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many segments on a real directory: naming, preallocation, release, restart, more appends. */
class SegmentRolloverTest {

    private static final long SEGMENT = 16 * 1024;

    @TempDir
    Path dir;

    @Test
    void rolloverReleaseAndRestartAcrossManySegments() throws IOException {
        WalStorage storage = new FileChannelStorage(dir.resolve("wal"));
        WalHistogramMetrics metrics = new WalHistogramMetrics();
        // Default threading: a background preparer zero-fills the next segment.
        WalOptions opts = WalOptions.defaults().withSegmentBytes(SEGMENT).withWriteBufferBytes(8192)
                .withMaxWals(3).withMetrics(metrics);
        List<WalEntry> all = new ArrayList<>();
        try (Wal wal = Wal.create(storage, opts, META)) {
            for (int i = 1; i <= 1500; i++) {
                WalEntry e = entry(1 + i / 500, i, 40 + i % 90);
                all.add(e);
                wal.save(List.of(e), new HardState(1 + i / 500, 1, i - 1));
            }
            List<String> names = wal.segmentNames();
            assertTrue(names.size() > 10, "expected many segments, got " + names.size());
            long prevFirst = -1;
            for (int s = 0; s < names.size(); s++) {
                WalFormat.SegmentName n = WalFormat.SegmentName.parse(names.get(s));
                assertNotNull(n, names.get(s));
                assertEquals(s, n.seq(), "sequence numbers are consecutive");
                assertTrue(n.firstIndex() >= prevFirst, "first index never decreases");
                prevFirst = n.firstIndex();
                assertTrue(Files.size(dir.resolve("wal").resolve(names.get(s))) >= SEGMENT, "preallocated");
            }
            assertTrue(metrics.writeBytes() > 1500 * 40, "write bytes counted");
            assertTrue(metrics.fsync().count() >= 1500, "each save fsyncs: " + metrics.fsync().count());
            assertTrue(metrics.render().contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"}"));
        }

        // Restart: everything comes back, in order.
        Wal.Opened o = Wal.open(storage, opts, null);
        assertEquals(all, o.recovered().entries());
        assertEquals(new HardState(4, 1, 1499), o.recovered().hardState());
        Wal wal = o.wal();
        int before = wal.segmentNames().size();

        // Snapshot at 1200, then release: only segments needed to replay from 1200 may go.
        SnapshotMarker snap = new SnapshotMarker(1200, all.get(1199).term());
        wal.saveSnapshot(snap);
        int deleted = wal.releaseTo(1200);
        assertTrue(deleted > 0, "old segments released");
        List<String> kept = wal.segmentNames();
        assertEquals(before - deleted, kept.size());
        assertTrue(WalFormat.SegmentName.parse(kept.get(0)).firstIndex() <= 1200, "segment holding 1200 is kept");
        for (String n : kept) {
            assertTrue(Files.exists(dir.resolve("wal").resolve(n)));
        }
        for (int i = 1501; i <= 1700; i++) {
            WalEntry e = entry(5, i, 64);
            all.add(e);
            wal.save(List.of(e), new HardState(5, 1, i - 1));
        }
        wal.close();
        assertTrue(WalFormat.SegmentName.parse(kept.get(0)).seq() > 0);

        // Restart from the snapshot: entries after it, and the same via "last marker in the log".
        Wal.Opened o1 = Wal.open(storage, opts, snap);
        o1.wal().close();
        Recovered fromSnap = o1.recovered();
        assertEquals(all.subList(1200, all.size()), fromSnap.entries());
        assertEquals(snap, fromSnap.snapshot());
        Wal.Opened o2 = Wal.open(storage, opts, null);
        o2.wal().close();
        Recovered fromLast = o2.recovered();
        assertEquals(fromSnap.entries(), fromLast.entries());
        assertEquals(List.of(snap), Wal.validSnapshotMarkers(storage));
        // A snapshot the released log can no longer reach is refused with a clear error.
        WalException e = assertThrows(WalException.class, () -> Wal.open(storage, opts, new SnapshotMarker(5, 1)));
        assertTrue(e.getMessage().contains("snapshot"), e.getMessage());
        // A clean close leaves no preallocated spare behind (an unclean one does; open deletes it).
        try (var files = Files.list(dir.resolve("wal"))) {
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".tmp")));
        }
    }

    @Test
    void overwrittenSuffixAndOversizedRecord() throws IOException {
        WalStorage storage = new FileChannelStorage(dir.resolve("wal2"));
        WalOptions opts = small(SEGMENT);
        try (Wal wal = Wal.create(storage, opts, META)) {
            for (int i = 1; i <= 10; i++) {
                wal.save(List.of(entry(1, i, 10)), new HardState(1, 1, Math.min(i, 3)));
            }
            // A new leader overwrote 6..10 with its own entries at term 2.
            wal.save(List.of(entry(2, 6, 11), entry(2, 7, 12)), new HardState(2, 2, 5));
            // A record larger than a segment still fits: the segment simply grows.
            wal.save(List.of(entry(2, 8, (int) SEGMENT * 2)), null);
            wal.save(List.of(entry(2, 9, 5)), null);
            // Overwriting committed entries is a raft bug, refused without breaking the log.
            assertThrows(IllegalArgumentException.class, () -> wal.save(List.of(entry(3, 4, 1)), null));
            assertThrows(IllegalArgumentException.class, () -> wal.save(List.of(entry(3, 20, 1)), null));
        }
        Recovered r = Wal.open(storage, opts, null).recovered();
        List<Long> idx = r.entries().stream().map(WalEntry::index).toList();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), idx);
        assertEquals(entry(2, 6, 11), r.entries().get(5));
        assertEquals(entry(2, 8, (int) SEGMENT * 2), r.entries().get(7));
        assertEquals(new HardState(2, 2, 5), r.hardState());
    }
}
