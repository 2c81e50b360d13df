package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failed background commit surfaces from MvccStore.apply's finally block (backend.maybeCommit): the
 * store must fail-stop there too, so that no later entry changes the key space or piles up in a batch
 * that can never commit. Found by review in session 8.
 */
class StoreCommitFailureTest {
    @Test
    void afterABackgroundCommitFailureNoLaterEntryChangesTheStore(@TempDir Path dir) {
        BackendConfig cfg = BackendConfig.defaults().withBatch(TimeUnit.HOURS.toNanos(1), 8).withMapSize(1L << 20);
        LmdbBackend be = new LmdbBackend(dir, cfg);
        MvccStore s = new MvccStore(be, TestStores.noSyncThread());
        byte[] big = new byte[64 << 10];
        long index = 0;
        RuntimeException first = null;
        while (first == null && index < 200) {
            index++;
            try {
                s.apply(index, PutRequest.of(Bytes.of("big" + index), big));
            } catch (RuntimeException e) {
                first = e; // the writer's MDB_MAP_FULL, rethrown by the next seal's awaitWriter
            }
        }
        assertTrue(first != null, "the 1 MiB map never filled");
        int applied = 0;
        for (int i = 0; i < 50; i++) {
            index++;
            try {
                s.apply(index, PutRequest.of("after" + i, "v"));
            } catch (RuntimeException e) {
                // expected either way; what matters is whether the entry changed the store
            }
            if (s.range(RangeRequest.key(Bytes.of("after" + i))).count() > 0) applied++;
        }
        int pending = be.pendingWrites();
        be.crash();
        assertEquals(0, applied, "the backend can no longer commit (" + first + "), yet " + applied
                + " later entries changed the key space; consistentIndex=" + s.consistentIndex() + " pendingWrites=" + pending);
    }
}
