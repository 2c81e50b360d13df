package io.quorumlab.wal;

import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps exactly one preallocated spare segment ready under a temporary name, so a cut only
 * renames it instead of waiting for 64 MB of zeros. Bounded: one spare, never more.
 */
final class SegmentPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentPipeline.class);
    /** Zero-fill step of a spare segment; each step is flushed before the next is written. */
    static final long ZERO_FILL_STEP_BYTES = 4L << 20;

    record Prepared(String tmpName, WalFile file) {
    }

    private final WalStorage storage;
    private final long segmentBytes;
    private final Executor executor;
    private final LongSupplier nanoClock;
    private final ExecutorService ownedExecutor;
    private long counter;
    private CompletableFuture<Prepared> next;

    SegmentPipeline(WalStorage storage, long segmentBytes, Executor executor, LongSupplier nanoClock) {
        this.storage = storage;
        this.segmentBytes = segmentBytes;
        this.nanoClock = nanoClock;
        if (executor == null) {
            this.ownedExecutor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "wal-segment-preparer");
                t.setDaemon(true);
                return t;
            });
            this.executor = ownedExecutor;
        } else {
            this.ownedExecutor = null;
            this.executor = executor;
        }
    }

    /** Starts preparing the first spare. Separate from the constructor so callers own ordering. */
    void start() {
        next = prepareAsync();
    }

    /** Hands over the spare (waiting if it is still being zero-filled) and starts the next one. */
    Prepared take() throws IOException {
        Prepared p;
        try {
            p = next.join();
        } catch (CompletionException e) {
            next = prepareAsync(); // let a later cut retry rather than fail forever on one error
            Throwable c = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
            throw new IOException("preparing next wal segment failed: " + c, c);
        }
        next = prepareAsync();
        return p;
    }

    private CompletableFuture<Prepared> prepareAsync() {
        String name = (counter++) + WalFormat.TMP_SUFFIX;
        return CompletableFuture.supplyAsync(() -> {
            try {
                storage.delete(name);
                WalFile f = storage.create(name);
                long t0 = nanoClock.getAsLong();
                // Zeros are written and flushed here, off the append path (otherwise the cut's first
                // fsync of the new segment would write back the whole file), in steps of
                // ZERO_FILL_STEP_BYTES, each flushed before the next: an appender's fdatasync then
                // waits behind at most one step's writeback, not one 64 MB burst.
                int steps = 0;
                long size = 0;
                while (size < segmentBytes) {
                    size = Math.min(size + ZERO_FILL_STEP_BYTES, segmentBytes);
                    f.preallocate(size);
                    f.force();
                    steps++;
                }
                LOG.debug("wal spare segment prepared file={} steps={} took-us={}", name, steps,
                        (nanoClock.getAsLong() - t0) / 1000);
                return new Prepared(name, f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, executor);
    }

    @Override
    public void close() {
        if (next != null) {
            try {
                Prepared p = next.join();
                p.file().close();
                storage.delete(p.tmpName());
            } catch (RuntimeException | IOException ignored) {
                // A spare that failed to prepare or to delete is harmless: open() removes *.tmp.
            }
        }
        if (ownedExecutor != null) {
            ownedExecutor.shutdown();
        }
    }
}
