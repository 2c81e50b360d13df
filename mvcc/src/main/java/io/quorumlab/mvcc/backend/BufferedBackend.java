package io.quorumlab.mvcc.backend;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The write-buffer half shared by both backends: uncommitted writes live in a concurrent overlay
 * so other threads read them without touching the writer's storage transaction.
 *
 * <p>Why an overlay swap rather than a lock: a reader takes the overlay reference first and opens
 * its committed view second; the writer commits first and swaps the overlay second. Whichever
 * overlay a reader holds, every key it contains has the same value in the committed view it
 * opened afterwards, so readers never see a half-committed batch and never block the writer.
 *
 * <p>Background commits ({@link #commitsInBackground()}, LMDB): a due batch is <em>sealed</em> —
 * the open overlay becomes the sealed layer, a new one opens, and a writer thread makes the sealed
 * batch durable while the applier goes on (etcd's applier instead waits for its backend's commit,
 * which holds the batch lock through the fdatasync). Readers consult the open overlay, then the
 * sealed one, then a committed view; the seal publishes the sealed layer before the new open
 * overlay, and the writer drops the sealed layer only after its commit is visible, so the argument
 * above carries over layer by layer. At most one sealed batch is in flight: a seal waits for the
 * previous commit. {@link #commit()} waits until everything so far is durable.
 *
 * <p>A storage whose open write transaction is itself readable by other threads (the in-memory
 * backend, which writes through and keeps an undo log instead) passes {@code overlaid = false}:
 * its "committed" view then shows the open batch too, and no overlay is kept.
 */
public abstract class BufferedBackend implements Backend {
    /** Marks a buffered delete in the overlay. Compared by identity. */
    private static final byte[] DELETED = new byte[0];
    private static final long SNAPSHOT_MAGIC = 0x514c4d5643433031L; // "QLMVCC01"
    private static final int SNAPSHOT_END = 0xff;

    protected final BackendConfig config;
    /** False: the storage's own view already shows uncommitted writes; {@link #overlay} stays empty. */
    private final boolean overlaid;
    private volatile Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> overlay = newOverlay();
    /** The batch a background commit is making durable; null when none is in flight. */
    private volatile Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> sealed;
    /** The background committer (created on the first background commit); applier thread only. */
    private java.util.concurrent.ExecutorService writer;
    private java.util.concurrent.Future<?> inFlight;
    /**
     * A failed commit, background or explicit: sticky, so that no later batch is committed over the hole
     * it left and no later write is accepted (the failed batch's writes are out of the store's batch but
     * not on disk; committing anything after them would make later state durable without them). Set by
     * the writer thread too, hence volatile.
     */
    private volatile Throwable writerFailure;
    private int pendingWrites;
    private long batchStartNanos;
    private long commits;

    protected BufferedBackend(BackendConfig config) {
        this(config, true);
    }

    protected BufferedBackend(BackendConfig config, boolean overlaid) {
        this.config = config;
        this.overlaid = overlaid;
        this.batchStartNanos = config.nanoClock().getAsLong();
    }

    private static Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> newOverlay() {
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> m = new EnumMap<>(Bucket.class);
        for (Bucket b : Bucket.values()) m.put(b, new ConcurrentSkipListMap<>());
        return m;
    }

    // ---- storage-specific half -------------------------------------------------------------

    /** A read-only view of committed data (of all writes, if not overlaid), valid until closed. */
    protected interface CommittedView extends AutoCloseable {
        byte[] get(Bucket b, byte[] key);

        /** Entries with key >= from, in order; copies, since the view may be closed later. */
        Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket b, byte[] from);

        @Override void close();
    }

    protected abstract CommittedView openCommitted();

    /** Applies one buffered write to the storage's open write transaction (writer thread only). */
    protected abstract void storePut(Bucket b, byte[] key, byte[] value);

    protected abstract void storeDelete(Bucket b, byte[] key);

    /** Makes every storePut/storeDelete so far durable and visible to new committed views. */
    protected abstract void storeCommit();

    /**
     * True when a due batch ({@link #maybeCommit}) is committed on a writer thread instead of the
     * applier's. Such a storage must take its batch off the applier in {@link #sealBatch}.
     */
    protected boolean commitsInBackground() { return false; }

    /**
     * Takes the storePut/storeDelete calls so far out of the open batch and returns the work that
     * makes them durable, to run once on any thread while later calls go into a new batch.
     * Default: commits now, on the caller.
     */
    protected Runnable sealBatch() {
        storeCommit();
        return () -> { };
    }

    /** A name for the writer thread. */
    protected String writerName() { return "backend-writer"; }

    /** Removes everything (for restore); done in the open write transaction. */
    protected abstract void storeClear();

    /** Discards the open write transaction (a restore whose checksum failed). */
    protected abstract void storeAbort();

    // ---- reads -------------------------------------------------------------------------------

    @Override
    public byte[] get(Bucket bucket, byte[] key) {
        if (overlaid) {
            ByteKey k = new ByteKey(key);
            byte[] buffered = overlay.get(bucket).get(k);
            if (buffered == null) {
                Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> se = sealed;
                if (se != null) buffered = se.get(bucket).get(k);
            }
            if (buffered != null) return buffered == DELETED ? null : buffered;
        }
        try (CommittedView v = openCommitted()) {
            // Opened after reading the overlay: if a commit slipped in between, the key was absent
            // from that overlay, so its committed value did not change in that commit.
            return v.get(bucket, key);
        }
    }

    @Override
    public void scan(Bucket bucket, byte[] from, byte[] to, EntryVisitor visitor) {
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> ov;
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> se;
        CommittedView opened;
        while (true) {
            ov = overlay;
            se = sealed;
            opened = openCommitted();
            // A seal between reading the layers and opening the view could be followed by the commit of a
            // later batch: the stale overlay's entries would then win over newer committed ones (a state
            // that never existed). Seals replace the overlay, so an unchanged one rules that out; else
            // take all three again (seals are a batch interval apart: this ends at once).
            if (overlay == ov) break;
            opened.close();
        }
        Iterator<Map.Entry<ByteKey, byte[]>> bi = se == null ? range(ov, bucket, from, to)
                : new Layered(range(ov, bucket, from, to), range(se, bucket, from, to));
        try (CommittedView v = opened) {
            Iterator<Map.Entry<byte[], byte[]>> ci = v.iterate(bucket, from);
            Map.Entry<ByteKey, byte[]> b = bi.hasNext() ? bi.next() : null;
            Map.Entry<byte[], byte[]> c = nextBelow(ci, to);
            while (b != null || c != null) {
                int cmp = b == null ? 1 : c == null ? -1 : Arrays.compareUnsigned(b.getKey().bytes(), c.getKey());
                boolean go = true;
                if (cmp <= 0) {
                    if (b.getValue() != DELETED) go = visitor.visit(b.getKey().bytes(), b.getValue());
                    if (cmp == 0) c = nextBelow(ci, to);
                    b = bi.hasNext() ? bi.next() : null;
                } else {
                    go = visitor.visit(c.getKey(), c.getValue());
                    c = nextBelow(ci, to);
                }
                if (!go) return;
            }
        }
    }

    private static Iterator<Map.Entry<ByteKey, byte[]>> range(Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> layer, Bucket bucket,
                                                             byte[] from, byte[] to) {
        NavigableMap<ByteKey, byte[]> m = to == null
                ? layer.get(bucket).tailMap(new ByteKey(from), true)
                : layer.get(bucket).subMap(new ByteKey(from), true, new ByteKey(to), false);
        return m.entrySet().iterator();
    }

    /** The open overlay over the sealed one, in key order: on equal keys the open overlay's entry wins. */
    private static final class Layered implements Iterator<Map.Entry<ByteKey, byte[]>> {
        private final Iterator<Map.Entry<ByteKey, byte[]>> top;
        private final Iterator<Map.Entry<ByteKey, byte[]>> below;
        private Map.Entry<ByteKey, byte[]> t;
        private Map.Entry<ByteKey, byte[]> b;

        Layered(Iterator<Map.Entry<ByteKey, byte[]>> top, Iterator<Map.Entry<ByteKey, byte[]>> below) {
            this.top = top;
            this.below = below;
            t = top.hasNext() ? top.next() : null;
            b = below.hasNext() ? below.next() : null;
        }

        @Override public boolean hasNext() { return t != null || b != null; }

        @Override public Map.Entry<ByteKey, byte[]> next() {
            if (t == null && b == null) throw new java.util.NoSuchElementException();
            int cmp = t == null ? 1 : b == null ? -1 : Arrays.compareUnsigned(t.getKey().bytes(), b.getKey().bytes());
            Map.Entry<ByteKey, byte[]> out;
            if (cmp <= 0) {
                out = t;
                t = top.hasNext() ? top.next() : null;
                if (cmp == 0) b = below.hasNext() ? below.next() : null;
            } else {
                out = b;
                b = below.hasNext() ? below.next() : null;
            }
            return out;
        }
    }

    private static Map.Entry<byte[], byte[]> nextBelow(Iterator<Map.Entry<byte[], byte[]>> it, byte[] to) {
        if (!it.hasNext()) return null;
        Map.Entry<byte[], byte[]> e = it.next();
        return to != null && Arrays.compareUnsigned(e.getKey(), to) >= 0 ? null : e;
    }

    // ---- writes (apply thread) ----------------------------------------------------------------

    @Override
    public void put(Bucket bucket, byte[] key, byte[] value) {
        assert value != DELETED;
        checkNotFailed();
        if (pendingWrites == 0) batchStartNanos = config.nanoClock().getAsLong();
        if (overlaid) overlay.get(bucket).put(new ByteKey(key), value);
        storePut(bucket, key, value);
        pendingWrites++;
    }

    @Override
    public void delete(Bucket bucket, byte[] key) {
        checkNotFailed();
        if (pendingWrites == 0) batchStartNanos = config.nanoClock().getAsLong();
        if (overlaid) overlay.get(bucket).put(new ByteKey(key), DELETED);
        storeDelete(bucket, key);
        pendingWrites++;
    }

    @Override
    public void maybeCommit() {
        if (pendingWrites >= config.batchLimit()
                || (pendingWrites > 0 && config.nanoClock().getAsLong() - batchStartNanos >= config.batchIntervalNanos())) {
            if (commitsInBackground()) commitInBackground();
            else commit();
        }
    }

    private void commitInBackground() {
        if (!overlaid) throw new IllegalStateException("a backend without an overlay cannot commit in the background");
        awaitWriter(); // at most one sealed batch: back-pressure when a commit outlasts a batch interval
        Runnable job = sealBatch();
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> batch = overlay;
        sealed = batch; // published before the new open overlay: a reader that misses one finds the other
        overlay = newOverlay();
        pendingWrites = 0;
        commits++;
        if (writer == null) {
            String name = writerName();
            writer = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
        }
        java.util.function.LongSupplier clock = config.nanoClock();
        inFlight = writer.submit(() -> {
            long t0 = clock.getAsLong();
            try {
                job.run();
            } catch (RuntimeException | Error e) {
                writerFailure = e; // seen by the applier's next write, not only by its next seal
                throw e;
            }
            commitListener.accept(clock.getAsLong() - t0);
            sealed = null; // only after the commit is visible to new committed views
        });
    }

    private void checkNotFailed() {
        Throwable f = writerFailure;
        if (f != null) throw new IllegalStateException("an earlier backend commit failed; no write is accepted", f);
    }

    /** Waits for the background commit in flight, if any; its failure is the applier's (fail-stop). */
    private void awaitWriter() {
        java.util.concurrent.Future<?> f = inFlight;
        if (f == null) {
            if (writerFailure != null) throw new IllegalStateException("an earlier backend commit failed", writerFailure);
            return;
        }
        // A commit in flight answers first: its own failure is thrown as it is, once; later calls get the sticky one.
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the commit goes on regardless; its outcome decides what is durable
                }
            }
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (writerFailure == null) writerFailure = c;
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error er) throw er;
            throw new IllegalStateException("background commit failed", c);
        } finally {
            inFlight = null;
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Waits for the commit in flight, then stops the writer thread (close and crash). */
    protected void stopWriter() {
        try {
            awaitWriter();
        } finally {
            if (writer != null) writer.shutdown();
            writer = null;
        }
    }

    /** Receives each commit's duration in nanoseconds (etcd_disk_backend_commit_duration_seconds). */
    private volatile java.util.function.LongConsumer commitListener = nanos -> { };

    public void setCommitListener(java.util.function.LongConsumer listener) { commitListener = listener; }

    @Override
    public void commit() {
        awaitWriter();
        if (pendingWrites == 0) return;
        long t0 = config.nanoClock().getAsLong();
        try {
            storeCommit();
        } catch (RuntimeException | Error e) {
            writerFailure = e; // the batch left the store's hands: see writerFailure
            throw e;
        }
        commitListener.accept(config.nanoClock().getAsLong() - t0);
        // Only after the commit is visible may readers stop consulting the buffered writes.
        if (overlaid) overlay = newOverlay();
        pendingWrites = 0;
        commits++;
    }

    @Override
    public int pendingWrites() { return pendingWrites; }

    /** Batches committed since open; for tests and metrics (etcd_disk_backend_commit_duration_seconds counts). */
    public long commits() { return commits; }

    protected void dropOverlay() {
        sealed = null;
        if (overlaid) overlay = newOverlay();
        pendingWrites = 0;
    }

    // ---- snapshot ------------------------------------------------------------------------------

    /**
     * Format: magic, then (bucket ordinal, key length, key, value length, value) records, 0xff,
     * then the CRC32C of everything before it. Backend-independent: an LMDB member's snapshot
     * restores into the simulator's in-memory backend and vice versa.
     */
    @Override
    public void snapshot(OutputStream out) throws IOException {
        try (Snapshot s = openSnapshot()) {
            s.writeTo(out);
        }
    }

    /** Open snapshots; defragment must not pull storage from under them. */
    private final java.util.concurrent.atomic.AtomicInteger openSnapshots = new java.util.concurrent.atomic.AtomicInteger();

    /** A view of committed data that later commits do not change (LMDB: a read txn; memory: a copy). */
    protected abstract CommittedView openFrozenCommitted();

    @Override
    public Snapshot openSnapshot() {
        commit();
        CommittedView view = openFrozenCommitted();
        openSnapshots.incrementAndGet();
        return new Snapshot() {
            private boolean closed;

            @Override public void writeTo(OutputStream out) throws IOException { writeSnapshot(view, out); }

            @Override public synchronized void close() {
                if (closed) return;
                closed = true;
                view.close();
                openSnapshots.decrementAndGet();
            }
        };
    }

    protected void checkNoOpenSnapshots() {
        if (openSnapshots.get() > 0) throw new IllegalStateException(openSnapshots.get() + " snapshot(s) still open");
    }

    private static void writeSnapshot(CommittedView v, OutputStream out) throws IOException {
        CRC32C crc = new CRC32C();
        DataOutputStream data = new DataOutputStream(new CheckedOutputStream(out, crc));
        data.writeLong(SNAPSHOT_MAGIC);
        for (Bucket b : Bucket.values()) {
            Iterator<Map.Entry<byte[], byte[]>> it = v.iterate(b, new byte[0]);
            while (it.hasNext()) {
                Map.Entry<byte[], byte[]> e = it.next();
                data.writeByte(b.ordinal());
                data.writeInt(e.getKey().length);
                data.write(e.getKey());
                data.writeInt(e.getValue().length);
                data.write(e.getValue());
            }
        }
        data.writeByte(SNAPSHOT_END);
        data.flush();
        new DataOutputStream(out).writeLong(crc.getValue());
        out.flush();
    }

    /**
     * Streams the snapshot into the open storage transaction and commits only if its checksum
     * verifies; otherwise the transaction is aborted and the old state stays. Memory stays flat
     * however big the snapshot is (LMDB spills a large transaction's dirty pages itself).
     */
    @Override
    public void restore(InputStream in) throws IOException {
        commit();
        dropOverlay();
        boolean done = false;
        try {
            CRC32C crc = new CRC32C();
            DataInputStream data = new DataInputStream(new CheckedInputStream(in, crc));
            if (data.readLong() != SNAPSHOT_MAGIC) throw new IOException("not a quorumlab mvcc snapshot");
            storeClear();
            while (true) {
                int b = data.readUnsignedByte();
                if (b == SNAPSHOT_END) break;
                if (b >= Bucket.values().length) throw new IOException("bad bucket " + b);
                byte[] k = readChunk(data);
                byte[] v = readChunk(data);
                storePut(Bucket.values()[b], k, v);
            }
            long expected = crc.getValue();
            if (expected != new DataInputStream(in).readLong()) throw new IOException("snapshot checksum mismatch");
            storeCommit();
            done = true;
        } finally {
            if (!done) storeAbort();
        }
    }

    private static final int SNAPSHOT_CHUNK_MAX = 64 << 20;

    private static byte[] readChunk(DataInputStream data) throws IOException {
        int n = data.readInt();
        if (n < 0 || n > SNAPSHOT_CHUNK_MAX) throw new IOException("bad length " + n + " in snapshot");
        byte[] b = new byte[n];
        data.readFully(b);
        return b;
    }
}
