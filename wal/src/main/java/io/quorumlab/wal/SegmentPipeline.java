package io.quorumlab.wal;

import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
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
 * renames it instead of waiting for 64 MB of zeros, and up to {@code maxRecycled} released
 * segment files (also under temporary names) that a cut takes first: they are rewritten in place,
 * so appends overwrite blocks the device has already written and no zeros are written at all.
 * Bounded: one spare plus {@code maxRecycled} files, never more.
 *
 * <p>Owned by the WAL's commit-lock holder except for the spare's preparation task.
 */
final class SegmentPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentPipeline.class);
    /** Zero-fill step of a spare segment; each step is flushed before the next is written. */
    static final long ZERO_FILL_STEP_BYTES = 4L << 20;

    /** A file ready to become the next segment, to be written with {@code tag} (WalFormat). */
    record Prepared(String tmpName, WalFile file, int tag, boolean recycled) {
    }

    private final WalStorage storage;
    private final long segmentBytes;
    private final Executor executor;
    private final LongSupplier nanoClock;
    private final ExecutorService ownedExecutor;
    private final int maxRecycled;
    /** Released segment files renamed to *.tmp (durably), oldest first; at most maxRecycled. */
    private final ArrayDeque<String> recycled = new ArrayDeque<>();
    private long counter;
    private long recycleCounter;
    private CompletableFuture<Prepared> next;

    SegmentPipeline(WalStorage storage, long segmentBytes, int maxRecycled, Executor executor, LongSupplier nanoClock) {
        this.storage = storage;
        this.segmentBytes = segmentBytes;
        this.maxRecycled = maxRecycled;
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

    /** Whether a released segment should be renamed to {@link #recycleName()} rather than deleted. */
    boolean wantsRecycled(int alreadyOffered) {
        return recycled.size() + alreadyOffered < maxRecycled;
    }

    /** A fresh temporary name for a released segment about to be recycled. */
    String recycleName() {
        return "recycled-" + (recycleCounter++) + WalFormat.TMP_SUFFIX;
    }

    /** Adds a released segment, already renamed to {@code tmpName} and the rename made durable. */
    void offerRecycled(String tmpName) {
        if (recycled.size() >= maxRecycled) {
            throw new IllegalStateException("recycle pool full: " + recycled);
        }
        recycled.addLast(tmpName);
    }

    int recycledCount() {
        return recycled.size();
    }

    /**
     * Hands over a recycled file if one is kept (its next life's tag is its previous tag + 1),
     * else the zero-filled spare (waiting if it is still being written) and starts the next one.
     */
    Prepared take() throws IOException {
        while (!recycled.isEmpty()) {
            String name = recycled.pollFirst();
            WalFile f = storage.open(name);
            boolean ok = false;
            try {
                if (f.size() == segmentBytes) {
                    ByteBuffer head = ByteBuffer.allocate(WalFormat.HEADER_BYTES);
                    while (head.hasRemaining() && f.read(head, head.position()) > 0) {
                        // a short read only on a file cut short; its tag then reads as 0
                    }
                    int previousTag = head.position() > 5 ? head.get(5) & 0xFF : WalFormat.TAG_V0;
                    if (previousTag != WalFormat.TAG_LAST) {
                        ok = true;
                        return new Prepared(name, f, WalFormat.nextTag(previousTag), true);
                    }
                }
            } finally {
                if (!ok) {
                    f.close();
                }
            }
            // A file of another size (segmentBytes changed between runs) is not rewritten, nor one
            // that lived its last tag: a zero-filled file takes its place, so no two lives of the same
            // bytes ever share a tag (the sequence-bound header check alone is one 16-bit test per
            // pair of lives, not per frame: CRC is linear).
            storage.delete(name);
            LOG.info("wal recycled file deleted (another size, or its 255th life) file={}", name);
        }
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
                return new Prepared(name, f, WalFormat.TAG_FIRST, false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, executor);
    }

    @Override
    public void close() {
        for (String name : recycled) {
            try {
                storage.delete(name);
            } catch (IOException ignored) {
                // open() removes *.tmp
            }
        }
        recycled.clear();
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
