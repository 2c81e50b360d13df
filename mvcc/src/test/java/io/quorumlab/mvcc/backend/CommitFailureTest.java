package io.quorumlab.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a failed LMDB commit leaves behind: the backend fail-stops (no later write, no later commit), so
 * no later batch can be made durable over the lost one, and close() still releases the environment. The
 * storage failure is a real one: MDB_MAP_FULL on a 1 MiB map (the same path as ENOSPC/EIO at commit: the
 * write transaction is aborted). Found by review in session 8.
 */
class CommitFailureTest {
    private static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static byte[] big(int i) {
        byte[] v = new byte[64 << 10];
        java.util.Arrays.fill(v, (byte) i);
        return v;
    }

    /**
     * An explicit (synchronous) commit that fails has already taken its writes out of LmdbBackend.batch
     * (sealBatch). Were the failure not sticky, the next commit would succeed with later writes only and
     * swap the overlay: the failed batch would vanish from reads and disk while later writes were durable.
     */
    @Test
    void aFailedExplicitCommitMustNotLetALaterCommitSkipItsWrites(@TempDir Path dir) {
        BackendConfig cfg = BackendConfig.defaults().withBatch(TimeUnit.HOURS.toNanos(1), 1_000_000).withMapSize(1L << 20);
        LmdbBackend be = new LmdbBackend(dir, cfg);
        be.put(Bucket.KEY, b("before"), b("1"));
        be.commit();
        for (int i = 0; i < 40; i++) be.put(Bucket.KEY, b("big" + i), big(i)); // 2.5 MiB: cannot fit a 1 MiB map
        assertThrows(RuntimeException.class, be::commit, "the big batch must not fit");
        assertNotNull(be.get(Bucket.KEY, b("big0")), "readers still see the failed batch (overlay)");

        // e.g. the next entry's consistent index: refused, and nothing commits over the hole
        assertThrows(IllegalStateException.class, () -> be.put(Bucket.KEY, b("after"), b("2")));
        assertThrows(IllegalStateException.class, be::commit);
        assertThrows(IllegalStateException.class, () -> be.delete(Bucket.KEY, b("before")));
        be.crash();
    }

    /** close() after a failed background commit throws that failure and still closes the LMDB environment. */
    @Test
    void closeAfterAFailedBackgroundCommitStillClosesTheEnvironment(@TempDir Path dir) throws Exception {
        BackendConfig cfg = BackendConfig.defaults().withBatch(TimeUnit.HOURS.toNanos(1), 40).withMapSize(1L << 20);
        LmdbBackend be = new LmdbBackend(dir, cfg);
        for (int i = 0; i < 40; i++) be.put(Bucket.KEY, b("big" + i), big(i));
        be.maybeCommit(); // due: sealed, the writer fails with MDB_MAP_FULL
        assertThrows(RuntimeException.class, be::close);
        java.lang.reflect.Field envField = LmdbBackend.class.getDeclaredField("env");
        envField.setAccessible(true);
        org.lmdbjava.Env<?> env = (org.lmdbjava.Env<?>) envField.get(be);
        boolean envClosed = env.isClosed();
        if (!envClosed) be.crash(); // clean up for the next test
        assertTrue(envClosed, "close() threw and left the LMDB environment (mmap, fd, lock) open");
    }

    /** The same failure in the background path is sticky, and later writes are refused too. */
    @Test
    void aFailedBackgroundCommitIsSticky(@TempDir Path dir) {
        BackendConfig cfg = BackendConfig.defaults().withBatch(TimeUnit.HOURS.toNanos(1), 40).withMapSize(1L << 20);
        LmdbBackend be = new LmdbBackend(dir, cfg);
        for (int i = 0; i < 40; i++) be.put(Bucket.KEY, b("big" + i), big(i));
        be.maybeCommit();
        assertThrows(RuntimeException.class, be::commit);
        assertThrows(IllegalStateException.class, () -> be.put(Bucket.KEY, b("after"), b("2")));
        assertThrows(RuntimeException.class, be::commit);
        assertFalse(be.get(Bucket.KEY, b("big0")) == null);
        be.crash();
    }
}
