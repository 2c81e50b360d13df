package io.quorumlab.wal;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotterTest {

    @TempDir
    Path dir;

    private static byte[] data(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void saveLoadNewestAndPurge() throws IOException {
        Snapshotter snap = new Snapshotter(new FileChannelStorage(dir));
        snap.save(1, 100, data("a"));
        snap.save(2, 200, data("bb"));
        snap.save(2, 300, data("ccc"));
        assertEquals("0000000000000002-000000000000012c.snap", Snapshotter.fileName(2, 300));
        assertEquals(List.of(Snapshotter.fileName(2, 300), Snapshotter.fileName(2, 200), Snapshotter.fileName(1, 100)),
                snap.list());
        Snapshotter.SnapshotFile newest = snap.loadNewest().orElseThrow();
        assertEquals(300, newest.index());
        assertArrayEquals(data("ccc"), newest.data());
        // Only snapshots the WAL can continue from are eligible.
        Snapshotter.SnapshotFile available = snap.loadNewestAvailable(List.of(new SnapshotMarker(200, 2))).orElseThrow();
        assertEquals(new SnapshotMarker(200, 2), available.marker());
        assertEquals(1, snap.purge(2));
        assertEquals(2, snap.list().size());
        assertEquals(0, snap.purge(0), "0 keeps all, like etcd --max-snapshots 0");
    }

    @Test
    void corruptSnapshotIsMovedAsideAndTheNextOneUsed() throws IOException {
        MemStorage storage = new MemStorage();
        Snapshotter snap = new Snapshotter(storage);
        snap.save(1, 10, data("old"));
        snap.save(1, 20, data("new-and-corrupted"));
        storage.flipBit(Snapshotter.fileName(1, 20), 45, 3);
        WalException e = assertThrows(WalException.class, () -> snap.read(Snapshotter.fileName(1, 20)));
        assertTrue(e.getMessage().contains("crc"), e.getMessage());
        assertEquals(10, snap.loadNewest().orElseThrow().index());
        assertTrue(storage.exists(Snapshotter.fileName(1, 20) + ".broken"));
    }

    @Test
    void walMarkersFilteredByCommit() throws IOException {
        MemStorage storage = new MemStorage();
        try (Wal wal = Wal.create(storage, WalTesting.small(8192), WalTesting.META)) {
            for (int i = 1; i <= 30; i++) {
                wal.save(List.of(WalTesting.entry(1, i, 8)), new HardState(1, 1, Math.max(0, i - 5)));
            }
            wal.saveSnapshot(new SnapshotMarker(20, 1));
            wal.saveSnapshot(new SnapshotMarker(28, 1)); // beyond commit 25: not usable yet
        }
        assertEquals(List.of(SnapshotMarker.ZERO, new SnapshotMarker(20, 1)), Wal.validSnapshotMarkers(storage));
    }
}
