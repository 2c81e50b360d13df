package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.META;
import static io.quorumlab.wal.WalTesting.entry;
import static io.quorumlab.wal.WalTesting.recycling;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A release whose renames or directory fsync fail leaves the directory in a state the process cannot
 * vouch for: the WAL fail-stops, as on any other I/O error, instead of appending on.
 */
class ReleaseFailureTest {

    @Test
    void aFailedDirectoryFsyncInAReleaseFailsTheWal() throws IOException {
        boolean[] armed = {false};
        MemStorage s = new MemStorage();
        s.setHook(new IoHook() {
            @Override
            public void beforeFsyncDir() throws IOException {
                if (armed[0]) throw new IOException("injected: directory fsync failed");
            }
        });
        Wal wal = Wal.create(s, recycling(256 << 10), META);
        long i = 0;
        while (wal.segmentNames().size() < 4) {
            i++;
            wal.save(List.of(entry(1, i, 4000)), new HardState(1, 1, i - 1));
        }
        wal.saveSnapshot(new SnapshotMarker(i, 1));
        armed[0] = true;
        long snap = i;
        assertThrows(IOException.class, () -> wal.releaseTo(snap));
        armed[0] = false;
        long next = i + 1;
        IOException after = assertThrows(IOException.class,
                () -> wal.save(List.of(entry(1, next, 10)), new HardState(1, 1, next - 1)));
        assertTrue(after.getMessage().contains("directory fsync failed") || after.getCause() != null, after.toString());
        assertThrows(WalException.class, wal::close, "close reports the failure");
    }
}
