package io.quorumlab.mvcc.backend;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.AbstractMap;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import org.lmdbjava.CopyFlags;
import org.lmdbjava.CursorIterable;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.KeyRange;
import org.lmdbjava.Stat;
import org.lmdbjava.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LMDB backend (lmdbjava; its jar carries the native library). The open batch is a list of the
 * applier's writes (the overlay serves reads of them); a due batch is written and committed in
 * one LMDB write transaction on the backend's writer thread while the applier goes on (see
 * {@link BufferedBackend}); an explicit {@link #commit()} does the same on the caller and waits.
 * So no LMDB write transaction outlives one call or stays bound to the applier's thread (LMDB
 * ties a write transaction to the thread that began it). Readers use their own read transactions,
 * which LMDB serves without blocking the writer. {@code MDB_NOTLS} lets read transactions be
 * opened and closed on any thread. The byte[] buffer proxy goes through jnr-ffi, so unlike the
 * ByteBuffer proxy it needs no {@code --add-opens java.base/java.nio} on Java 17.
 */
public final class LmdbBackend extends BufferedBackend {
    private static final Logger log = LoggerFactory.getLogger(LmdbBackend.class);
    private static final String DATA_FILE = "data.mdb";
    private static final int MAX_READERS = 1024;
    /** LMDB's compile-time key limit; our keys are revisions, ids and short names. */
    private static final int MAX_KEY_BYTES = 511;

    private final Path dir;
    private Env<byte[]> env;
    private final Map<Bucket, Dbi<byte[]>> dbis = new EnumMap<>(Bucket.class);
    /** The open batch: the applier's writes since the last seal (value null = delete). */
    private java.util.ArrayList<Write> batch = new java.util.ArrayList<>();
    /** Open only inside restore(): a snapshot streams straight into it instead of into the batch. */
    private Txn<byte[]> restoreTxn;
    private volatile boolean closed;

    private record Write(Bucket bucket, byte[] key, byte[] value) {}

    public LmdbBackend(Path dir, BackendConfig config) {
        super(config);
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        openEnv();
    }

    private void openEnv() {
        env = Env.create(SafeByteArrayProxy.INSTANCE).setMapSize(config.mapSizeBytes()).setMaxDbs(Bucket.values().length).setMaxReaders(MAX_READERS)
                .open(dir.toFile(), config.unsafeNoFsync() ? new EnvFlags[] {EnvFlags.MDB_NOTLS, EnvFlags.MDB_NOSYNC}
                        : new EnvFlags[] {EnvFlags.MDB_NOTLS});
        for (Bucket b : Bucket.values()) dbis.put(b, env.openDbi(b.name().toLowerCase(java.util.Locale.ROOT), DbiFlags.MDB_CREATE));
    }

    public Path dir() { return dir; }

    private static byte[] checkKey(byte[] key) {
        if (key.length > MAX_KEY_BYTES || key.length == 0) throw new IllegalArgumentException("LMDB key must be 1.." + MAX_KEY_BYTES + " bytes");
        return key;
    }

    @Override
    protected CommittedView openCommitted() {
        checkOpen();
        Txn<byte[]> txn = env.txnRead();
        return new CommittedView() {
            private CursorIterable<byte[]> cursor;

            @Override public byte[] get(Bucket b, byte[] key) {
                return dbis.get(b).get(txn, checkKey(key)); // the byte[] proxy already copies out of the map
            }

            @Override public Iterator<Map.Entry<byte[], byte[]>> iterate(Bucket b, byte[] from) {
                if (cursor != null) cursor.close();
                KeyRange<byte[]> range = from.length == 0 ? KeyRange.all()
                        : KeyRange.atLeast(from);
                cursor = dbis.get(b).iterate(txn, range);
                Iterator<CursorIterable.KeyVal<byte[]>> it = cursor.iterator();
                return new Iterator<>() {
                    @Override public boolean hasNext() { return it.hasNext(); }

                    @Override public Map.Entry<byte[], byte[]> next() {
                        CursorIterable.KeyVal<byte[]> kv = it.next();
                        return new AbstractMap.SimpleImmutableEntry<>(kv.key(), kv.val());
                    }
                };
            }

            @Override public void close() {
                if (cursor != null) cursor.close();
                txn.close();
            }
        };
    }

    /** An LMDB read transaction already is a frozen view: MVCC keeps its pages until it ends. */
    @Override
    protected CommittedView openFrozenCommitted() { return openCommitted(); }

    @Override
    protected void storePut(Bucket b, byte[] key, byte[] value) {
        checkKey(key);
        if (restoreTxn != null) dbis.get(b).put(restoreTxn, key, value);
        else batch.add(new Write(b, key, value));
    }

    @Override
    protected void storeDelete(Bucket b, byte[] key) {
        checkKey(key);
        if (restoreTxn != null) dbis.get(b).delete(restoreTxn, key);
        else batch.add(new Write(b, key, null));
    }

    @Override
    protected void storeCommit() {
        if (restoreTxn != null) {
            Txn<byte[]> t = restoreTxn;
            restoreTxn = null;
            try (t) {
                t.commit();
            }
            return;
        }
        sealBatch().run();
    }

    @Override
    protected boolean commitsInBackground() { return true; }

    @Override
    protected Runnable sealBatch() {
        java.util.ArrayList<Write> writes = batch;
        batch = new java.util.ArrayList<>(Math.max(16, writes.size()));
        return () -> write(writes);
    }

    @Override
    protected String writerName() { return "backend-writer-" + dir.getFileName(); }

    /** One write transaction for a sealed batch; LMDB's commit fsyncs (no MDB_NOSYNC): durable on return. */
    private void write(java.util.List<Write> writes) {
        if (writes.isEmpty()) return;
        checkOpen();
        Txn<byte[]> txn = env.txnWrite();
        boolean done = false;
        try {
            for (Write w : writes) {
                Dbi<byte[]> d = dbis.get(w.bucket());
                if (w.value() == null) d.delete(txn, w.key());
                else d.put(txn, w.key(), w.value());
            }
            txn.commit();
            done = true;
        } finally {
            if (!done) txn.abort();
            txn.close();
        }
    }

    @Override
    protected void storeClear() {
        checkOpen();
        batch.clear(); // restore() committed everything before; nothing may be pending here
        if (restoreTxn == null) restoreTxn = env.txnWrite();
        for (Dbi<byte[]> d : dbis.values()) d.drop(restoreTxn, false);
    }

    @Override
    protected void storeAbort() {
        batch.clear();
        if (restoreTxn == null) return;
        Txn<byte[]> t = restoreTxn;
        restoreTxn = null;
        t.abort();
        t.close();
    }

    @Override
    public long sizeBytes() {
        checkOpen();
        return (env.info().lastPageNumber + 1) * env.stat().pageSize;
    }

    @Override
    public long sizeInUseBytes() {
        checkOpen();
        Stat main = env.stat();
        long pages = 2 + main.branchPages + main.leafPages + main.overflowPages; // two meta pages
        try (Txn<byte[]> txn = env.txnRead()) {
            for (Dbi<byte[]> d : dbis.values()) {
                Stat s = d.stat(txn);
                pages += s.branchPages + s.leafPages + s.overflowPages;
            }
        }
        return Math.min(pages * main.pageSize, sizeBytes());
    }

    /**
     * Compacting copy, then swap files. The caller must guarantee no concurrent readers
     * (MvccStore holds its write lock), because the environment is closed and reopened.
     */
    @Override
    public void defragment() {
        checkNoOpenSnapshots();
        commit();
        long before = sizeBytes();
        Path tmp = dir.resolve("defrag.tmp");
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            env.copy(tmp.toFile(), CopyFlags.MDB_CP_COMPACT);
            env.close();
            Files.move(tmp.resolve(DATA_FILE), dir.resolve(DATA_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (env.isClosed()) openEnv();
        }
        log.info("defragmented dir={} beforeBytes={} afterBytes={}", dir, before, sizeBytes());
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            commit();
        } finally {
            try {
                stopWriter(); // rethrows a failed background commit's error
            } finally {
                closed = true; // whatever failed, the environment (mmap, descriptor, lock) is released
                env.close();
            }
        }
    }

    @Override
    public void crash() {
        if (closed) return;
        try {
            // A commit already on its way to the file completes (the process could have died just after
            // it); the open batch never reaches the file, as if the process died.
            stopWriter();
        } catch (RuntimeException e) {
            // crash() only discards: a failed commit of the writer's leaves nothing to undo
        } finally {
            storeAbort();
            dropOverlay();
            closed = true;
            env.close();
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("backend closed: " + dir);
    }

    static File dataFile(Path dir) { return dir.resolve(DATA_FILE).toFile(); }
}
