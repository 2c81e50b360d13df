package io.quorumlab.mvcc.backend;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.locks.StampedLock;

/**
 * Backend for the simulator and tests. "Committed" state lives in a {@link Disk} object that
 * outlives the backend, so a test or the simulator can crash a member and reopen it on the same
 * disk and see exactly what a real restart would: the last committed batch.
 *
 * <p>Writes go straight into the disk's tables, each with an undo record; a commit forgets the undo
 * records, a crash (or the next backend opened on the disk, if a crashed one never said so) plays
 * them back. Readers thus see uncommitted writes without an overlay, as the {@link Backend}
 * contract asks, and a commit costs no second pass over its batch.
 */
public final class InMemoryBackend extends BufferedBackend {
    /** The durable part; survives {@link #crash()}. */
    public static final class Disk {
        /** Taken for writing around each change of a table; readers mostly read optimistically. */
        final StampedLock lock = new StampedLock();
        final Map<Bucket, SortedTable> tables = new EnumMap<>(Bucket.class);
        /** Committed bytes (estimate), what {@link #sizeBytes} reports; written by the apply thread only. */
        volatile long bytes;
        /** Bytes counting the open batch too. Writer only. */
        private long liveBytes;
        /** How to take the open batch back out of the tables, oldest first. Writer only. */
        private final ArrayList<Undo> undo = new ArrayList<>();
        /** The backend allowed to write; opening a new one on this disk takes over (a restart). */
        private InMemoryBackend writer;

        public Disk() {
            for (Bucket b : Bucket.values()) tables.put(b, new SortedTable(lock));
        }

        /** Drops the open batch: every table back to the last commit. */
        private void rollBack() {
            if (!undo.isEmpty()) {
                long stamp = lock.writeLock();
                try {
                    for (int i = undo.size() - 1; i >= 0; i--) undo.get(i).revert();
                } finally {
                    lock.unlockWrite(stamp);
                }
                undo.clear();
            }
            liveBytes = bytes;
        }
    }

    /** One write's inverse: the key's previous value (null: absent), or a cleared table's contents. */
    private record Undo(SortedTable table, byte[] key, byte[] old, SortedTable.Contents cleared) {
        void revert() {
            if (cleared != null) table.restoreContents(cleared);
            else if (old == null) table.remove(key);
            else table.put(key, old);
        }
    }

    /**
     * What a commit would cost a real B+tree file: told the bytes of the entries the batch wrote
     * (keys, values and per-entry overhead; deletes count their key) just before the batch becomes
     * durable, so that a simulator can put the commit's page writes and fdatasyncs on a modelled device.
     */
    @FunctionalInterface
    public interface CommitIo {
        void committing(long batchBytes);

        /** The bytes one put of this size adds to the batch (a simulator may count some puts as several). */
        default long entryBytes(int keyLength, int valueLength) {
            return keyLength + valueLength + ENTRY_OVERHEAD_BYTES;
        }
    }

    private final Disk disk;
    private final CommitIo commitIo;
    /** The open batch's entries (a restore's clear counts as one) and their bytes for {@link CommitIo}. */
    private int batchEntries;
    private long batchBytes;
    private boolean closed;

    public InMemoryBackend(Disk disk, BackendConfig config) {
        this(disk, config, null);
    }

    /** Opens the disk as a restarted process would: a batch a crashed predecessor left open is lost. */
    public InMemoryBackend(Disk disk, BackendConfig config, CommitIo commitIo) {
        super(config, false);
        this.disk = disk;
        this.commitIo = commitIo;
        disk.rollBack();
        disk.writer = this;
    }

    public InMemoryBackend() { this(new Disk(), BackendConfig.defaults()); }

    public Disk disk() { return disk; }

    @Override
    protected CommittedView openCommitted() { return view(disk.tables); }

    @Override
    protected CommittedView openFrozenCommitted() {
        // The committed tables change at the next commit; a snapshot needs its own copy.
        StampedLock copyLock = new StampedLock();
        Map<Bucket, SortedTable> copy = new EnumMap<>(Bucket.class);
        for (var e : disk.tables.entrySet()) copy.put(e.getKey(), e.getValue().copy(copyLock));
        return view(copy);
    }

    private static CommittedView view(Map<Bucket, SortedTable> tables) {
        return new CommittedView() {
            @Override public byte[] get(Bucket b, byte[] key) { return tables.get(b).get(key); }

            @Override public Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket b, byte[] from) { return tables.get(b).iterate(from); }

            @Override public void close() {}
        };
    }

    @Override
    protected void storePut(Bucket b, byte[] key, byte[] value) {
        checkWriter();
        SortedTable t = disk.tables.get(b);
        byte[] old;
        long stamp = disk.lock.writeLock();
        try {
            old = t.put(key, value);
        } finally {
            disk.lock.unlockWrite(stamp);
        }
        disk.undo.add(new Undo(t, key, old, null));
        if (old != null) disk.liveBytes -= entryBytes(key, old);
        disk.liveBytes += entryBytes(key, value);
        counted(key.length, value.length);
    }

    @Override
    protected void storeDelete(Bucket b, byte[] key) {
        checkWriter();
        SortedTable t = disk.tables.get(b);
        byte[] old;
        long stamp = disk.lock.writeLock();
        try {
            old = t.remove(key);
        } finally {
            disk.lock.unlockWrite(stamp);
        }
        if (old != null) {
            disk.undo.add(new Undo(t, key, old, null));
            disk.liveBytes -= entryBytes(key, old);
        }
        counted(key.length, 0);
    }

    private void counted(int keyLength, int valueLength) {
        batchEntries++;
        if (commitIo != null) batchBytes += commitIo.entryBytes(keyLength, valueLength);
    }

    /** Per-entry overhead in the size estimate, like a B+tree's node bookkeeping. */
    private static final int ENTRY_OVERHEAD_BYTES = 16;

    private static long entryBytes(byte[] key, byte[] value) { return key.length + value.length + ENTRY_OVERHEAD_BYTES; }

    @Override
    protected void storeCommit() {
        checkWriter();
        if (commitIo != null && batchEntries > 0) commitIo.committing(batchBytes);
        disk.undo.clear();
        disk.bytes = disk.liveBytes;
        batchEntries = 0;
        batchBytes = 0;
        assert disk.bytes >= 0;
    }

    /** Part of the batch, like every other write: a failed restore must leave the disk untouched. */
    @Override
    protected void storeClear() {
        checkWriter();
        long stamp = disk.lock.writeLock();
        try {
            for (SortedTable t : disk.tables.values()) disk.undo.add(new Undo(t, null, null, t.takeContents()));
        } finally {
            disk.lock.unlockWrite(stamp);
        }
        disk.liveBytes = 0;
        batchEntries = 1;
        batchBytes = 0;
    }

    @Override
    protected void storeAbort() {
        checkWriter();
        disk.rollBack();
        batchEntries = 0;
        batchBytes = 0;
    }

    /** A stand-in for file size, kept incrementally: the server checks the quota on every request. */
    @Override
    public long sizeBytes() { return disk.bytes; }

    @Override public long sizeInUseBytes() { return sizeBytes(); }

    @Override public void defragment() { commit(); }

    @Override
    public void close() {
        if (closed) return;
        commit();
        closed = true;
    }

    @Override
    public void crash() {
        if (!closed && disk.writer == this) disk.rollBack();
        batchEntries = 0;
        batchBytes = 0;
        dropOverlay();
        closed = true;
    }

    /** Writes come from the open backend that opened the disk last; anything else would corrupt it. */
    private void checkWriter() {
        if (closed) throw new IllegalStateException("backend closed");
        if (disk.writer != this) throw new IllegalStateException("disk reopened by another backend since this one opened it");
    }
}
