package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Version 0 reports a damaged last record as a torn tail (warning, .broken copy, Recovered.repairs);
 * so must version 1 when only the record's tag byte is damaged (its header still checks with the
 * segment's tag and sequence), instead of ending the log there without a word. From a review.
 */
class SilentTruncationTest {
    @Test
    void aDamagedLastRecordOfARecycledSegmentIsReported() throws IOException {
        RecycleTest.RecycledLog log = RecycleTest.recycledLog(0, 7);
        MemStorage s = log.storage().copyDurable();
        List<Frame> inLast = frames(s).stream().filter(f -> f.file().equals(log.lastFile())).toList();
        Frame lastFrame = inLast.get(inLast.size() - 1);
        assertTrue(lastFrame.record() instanceof HardState || lastFrame.record() instanceof WalEntry);
        s.flipBit(log.lastFile(), lastFrame.start() + 5, 3); // the tag byte
        Recovered r = Wal.open(s, recycling(4096), null).recovered();
        assertFalse(r.repairs().isEmpty(), "acknowledged last record dropped without a torn-tail report ("
                + lastFrame.record().getClass().getSimpleName() + ")");
    }
}
