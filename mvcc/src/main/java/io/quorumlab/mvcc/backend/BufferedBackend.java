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
 */
public abstract class BufferedBackend implements Backend {
    /** Marks a buffered delete in the overlay. Compared by identity. */
    private static final byte[] DELETED = new byte[0];
    private static final long SNAPSHOT_MAGIC = 0x514c4d5643433031L; // "QLMVCC01"
    private static final int SNAPSHOT_END = 0xff;

    protected final BackendConfig config;
    private volatile Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> overlay = newOverlay();
    private int pendingWrites;
    private long batchStartNanos;
    private long commits;

    protected BufferedBackend(BackendConfig config) {
        this.config = config;
        this.batchStartNanos = config.nanoClock().getAsLong();
    }

    private static Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> newOverlay() {
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> m = new EnumMap<>(Bucket.class);
        for (Bucket b : Bucket.values()) m.put(b, new ConcurrentSkipListMap<>());
        return m;
    }

    // ---- storage-specific half -------------------------------------------------------------

    /** A read-only view of committed data, valid until closed. */
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

    /** Removes everything (for restore); done in the open write transaction. */
    protected abstract void storeClear();

    /** Discards the open write transaction (a restore whose checksum failed). */
    protected abstract void storeAbort();

    // ---- reads -------------------------------------------------------------------------------

    @Override
    public byte[] get(Bucket bucket, byte[] key) {
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> ov = overlay;
        byte[] buffered = ov.get(bucket).get(new ByteKey(key));
        if (buffered != null) return buffered == DELETED ? null : buffered;
        try (CommittedView v = openCommitted()) {
            // Opened after reading the overlay: if a commit slipped in between, the key was absent
            // from that overlay, so its committed value did not change in that commit.
            return v.get(bucket, key);
        }
    }

    @Override
    public void scan(Bucket bucket, byte[] from, byte[] to, EntryVisitor visitor) {
        Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> ov = overlay;
        NavigableMap<ByteKey, byte[]> buffered = to == null
                ? ov.get(bucket).tailMap(new ByteKey(from), true)
                : ov.get(bucket).subMap(new ByteKey(from), true, new ByteKey(to), false);
        Iterator<Map.Entry<ByteKey, byte[]>> bi = buffered.entrySet().iterator();
        try (CommittedView v = openCommitted()) {
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

    private static Map.Entry<byte[], byte[]> nextBelow(Iterator<Map.Entry<byte[], byte[]>> it, byte[] to) {
        if (!it.hasNext()) return null;
        Map.Entry<byte[], byte[]> e = it.next();
        return to != null && Arrays.compareUnsigned(e.getKey(), to) >= 0 ? null : e;
    }

    // ---- writes (apply thread) ----------------------------------------------------------------

    @Override
    public void put(Bucket bucket, byte[] key, byte[] value) {
        assert value != DELETED;
        if (pendingWrites == 0) batchStartNanos = config.nanoClock().getAsLong();
        overlay.get(bucket).put(new ByteKey(key), value);
        storePut(bucket, key, value);
        pendingWrites++;
    }

    @Override
    public void delete(Bucket bucket, byte[] key) {
        if (pendingWrites == 0) batchStartNanos = config.nanoClock().getAsLong();
        overlay.get(bucket).put(new ByteKey(key), DELETED);
        storeDelete(bucket, key);
        pendingWrites++;
    }

    @Override
    public void maybeCommit() {
        if (pendingWrites >= config.batchLimit()
                || (pendingWrites > 0 && config.nanoClock().getAsLong() - batchStartNanos >= config.batchIntervalNanos())) {
            commit();
        }
    }

    /** Receives each commit's duration in nanoseconds (etcd_disk_backend_commit_duration_seconds). */
    private volatile java.util.function.LongConsumer commitListener = nanos -> { };

    public void setCommitListener(java.util.function.LongConsumer listener) { commitListener = listener; }

    @Override
    public void commit() {
        if (pendingWrites == 0) return;
        long t0 = config.nanoClock().getAsLong();
        storeCommit();
        commitListener.accept(config.nanoClock().getAsLong() - t0);
        // Only after the commit is visible may readers stop consulting the buffered writes.
        overlay = newOverlay();
        pendingWrites = 0;
        commits++;
    }

    @Override
    public int pendingWrites() { return pendingWrites; }

    /** Batches committed since open; for tests and metrics (etcd_disk_backend_commit_duration_seconds counts). */
    public long commits() { return commits; }

    protected void dropOverlay() {
        overlay = newOverlay();
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
