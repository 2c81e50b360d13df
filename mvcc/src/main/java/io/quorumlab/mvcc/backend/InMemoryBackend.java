package io.quorumlab.mvcc.backend;

import java.util.AbstractMap;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Backend for the simulator and tests. "Committed" state lives in a {@link Disk} object that
 * outlives the backend, so a test or the simulator can crash a member and reopen it on the same
 * disk and see exactly what a real restart would: the last committed batch.
 */
public final class InMemoryBackend extends BufferedBackend {
    /** The durable part; survives {@link #crash()}. */
    public static final class Disk {
        final Map<Bucket, ConcurrentSkipListMap<ByteKey, byte[]>> tables = new EnumMap<>(Bucket.class);
        /**
         * The same entries by hash, for point reads: a skip-list lookup walks O(log n) scattered
         * nodes, and MVCC reads every revision it returns by exact key. Written together with
         * {@link #tables} at commit (by the apply thread only).
         */
        final Map<Bucket, ConcurrentHashMap<PointKey, byte[]>> points = new EnumMap<>(Bucket.class);
        /** Committed bytes (estimate), maintained at commit; written by the apply thread only. */
        volatile long bytes;

        public Disk() {
            for (Bucket b : Bucket.values()) {
                tables.put(b, new ConcurrentSkipListMap<>());
                points.put(b, new ConcurrentHashMap<>());
            }
        }
    }

    /**
     * A key of the point-read index. Not {@link ByteKey}: its {@code Arrays.hashCode} depends on
     * 31*b[i] + b[i+1] only, so big-endian revision keys collide by the eight and the map's bins turn
     * into trees. FNV-1a over the bytes, folded to 32 bits, spreads them.
     */
    static final class PointKey {
        final byte[] bytes;
        private final int hash;

        PointKey(byte[] bytes) {
            this.bytes = bytes;
            long h = 0xcbf29ce484222325L;
            for (byte b : bytes) h = (h ^ (b & 0xff)) * 0x100000001b3L;
            this.hash = (int) (h ^ (h >>> 32));
        }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            return o instanceof PointKey k && k.hash == hash && java.util.Arrays.equals(bytes, k.bytes);
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
    /** Writes since the last commit, in order, replayed onto the disk at commit. */
    private final java.util.ArrayList<Object[]> batch = new java.util.ArrayList<>();
    private boolean closed;

    public InMemoryBackend(Disk disk, BackendConfig config) {
        this(disk, config, null);
    }

    public InMemoryBackend(Disk disk, BackendConfig config, CommitIo commitIo) {
        super(config);
        this.disk = disk;
        this.commitIo = commitIo;
    }

    public InMemoryBackend() { this(new Disk(), BackendConfig.defaults()); }

    public Disk disk() { return disk; }

    @Override
    protected CommittedView openCommitted() {
        return new CommittedView() {
            @Override public byte[] get(Bucket b, byte[] key) { return disk.points.get(b).get(new PointKey(key)); }

            @Override public Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket b, byte[] from) {
                Iterator<Map.Entry<ByteKey, byte[]>> it = disk.tables.get(b).tailMap(new ByteKey(from), true).entrySet().iterator();
                return new Iterator<>() {
                    @Override public boolean hasNext() { return it.hasNext(); }

                    @Override public Map.Entry<byte[], byte[]> next() {
                        Map.Entry<ByteKey, byte[]> e = it.next();
                        return new AbstractMap.SimpleImmutableEntry<>(e.getKey().bytes(), e.getValue());
                    }
                };
            }

            @Override public void close() {}
        };
    }

    @Override
    protected CommittedView openFrozenCommitted() {
        // The committed maps change at the next commit; a snapshot needs its own copy.
        Map<Bucket, java.util.TreeMap<ByteKey, byte[]>> copy = new EnumMap<>(Bucket.class);
        for (var e : disk.tables.entrySet()) copy.put(e.getKey(), new java.util.TreeMap<>(e.getValue()));
        return new CommittedView() {
            @Override public byte[] get(Bucket b, byte[] key) { return copy.get(b).get(new ByteKey(key)); }

            @Override public Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket b, byte[] from) {
                Iterator<Map.Entry<ByteKey, byte[]>> it = copy.get(b).tailMap(new ByteKey(from), true).entrySet().iterator();
                return new Iterator<>() {
                    @Override public boolean hasNext() { return it.hasNext(); }

                    @Override public Map.Entry<byte[], byte[]> next() {
                        Map.Entry<ByteKey, byte[]> e = it.next();
                        return new AbstractMap.SimpleImmutableEntry<>(e.getKey().bytes(), e.getValue());
                    }
                };
            }

            @Override public void close() {}
        };
    }

    @Override protected void storePut(Bucket b, byte[] key, byte[] value) { batch.add(new Object[] {b, key, value}); }

    @Override protected void storeDelete(Bucket b, byte[] key) { batch.add(new Object[] {b, key, null}); }

    /** Per-entry overhead in the size estimate, like a B+tree's node bookkeeping. */
    private static final int ENTRY_OVERHEAD_BYTES = 16;
    private static final byte[] EMPTY = new byte[0];

    private static long entryBytes(byte[] key, byte[] value) { return key.length + value.length + ENTRY_OVERHEAD_BYTES; }

    @Override
    protected void storeCommit() {
        checkOpen();
        if (commitIo != null && !batch.isEmpty()) {
            long written = 0;
            for (Object[] w : batch) {
                if (w[1] != null) written += commitIo.entryBytes(((byte[]) w[1]).length, w[2] == null ? 0 : ((byte[]) w[2]).length);
            }
            commitIo.committing(written);
        }
        for (Object[] w : batch) {
            if (w[0] == null) { // a restore's "clear everything"
                disk.tables.values().forEach(Map::clear);
                disk.points.values().forEach(Map::clear);
                disk.bytes = 0;
                continue;
            }
            ConcurrentSkipListMap<ByteKey, byte[]> t = disk.tables.get((Bucket) w[0]);
            ConcurrentHashMap<PointKey, byte[]> pt = disk.points.get((Bucket) w[0]);
            byte[] key = (byte[]) w[1];
            ByteKey k = new ByteKey(key);
            byte[] old;
            if (w[2] == null) {
                old = t.remove(k);
                pt.remove(new PointKey(key));
            } else {
                old = t.put(k, (byte[]) w[2]);
                pt.put(new PointKey(key), (byte[]) w[2]);
            }
            if (old != null) disk.bytes -= entryBytes(key, old);
            if (w[2] != null) disk.bytes += entryBytes(key, (byte[]) w[2]);
        }
        batch.clear();
        assert disk.bytes >= 0;
    }

    /** Part of the batch, like every other write: a failed restore must leave the disk untouched. */
    @Override
    protected void storeClear() {
        batch.clear();
        batch.add(new Object[] {null, null, null});
    }

    @Override
    protected void storeAbort() { batch.clear(); }

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
        batch.clear();
        dropOverlay();
        closed = true;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("backend closed");
    }
}
