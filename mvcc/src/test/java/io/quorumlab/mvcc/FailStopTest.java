package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.Bucket;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.io.InputStream;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

/** A storage error part-way through an entry stops the store instead of leaving a torn key space in service. */
class FailStopTest {
    /** Delegates to a real backend and fails the KEY-bucket write number {@code failAt}. */
    static final class FailingBackend implements Backend {
        final InMemoryBackend inner = new InMemoryBackend();
        int keyWrites;
        int failAt = Integer.MAX_VALUE;

        public byte[] get(Bucket b, byte[] k) { return inner.get(b, k); }
        public void scan(Bucket b, byte[] f, byte[] t, EntryVisitor v) { inner.scan(b, f, t, v); }
        public void put(Bucket b, byte[] k, byte[] v) {
            if (b == Bucket.KEY && ++keyWrites == failAt) throw new IllegalStateException("disk on fire");
            inner.put(b, k, v);
        }
        public void delete(Bucket b, byte[] k) { inner.delete(b, k); }
        public void maybeCommit() { inner.maybeCommit(); }
        public void commit() { inner.commit(); }
        public int pendingWrites() { return inner.pendingWrites(); }
        public long sizeBytes() { return inner.sizeBytes(); }
        public long sizeInUseBytes() { return inner.sizeInUseBytes(); }
        public void snapshot(OutputStream out) throws java.io.IOException { inner.snapshot(out); }
        public Snapshot openSnapshot() { return inner.openSnapshot(); }
        public void restore(InputStream in) throws java.io.IOException { inner.restore(in); }
        public void defragment() { inner.defragment(); }
        public void close() { inner.close(); }
        public void crash() { inner.crash(); }
    }

    @Test
    void storageErrorMidTxnFailStops() {
        FailingBackend b = new FailingBackend();
        try (MvccStore s = new MvccStore(b, TestStores.noSyncThread())) {
            s.apply(1, PutRequest.of("a", "1"));
            s.commit();
            b.failAt = b.keyWrites + 2; // the second put of the next txn
            TxnRequest t = new TxnRequest(java.util.List.of(), java.util.List.of(PutRequest.of("x", "1"), PutRequest.of("y", "2")),
                    java.util.List.of());
            assertThrows(IllegalStateException.class, () -> s.apply(2, t));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.apply(3, PutRequest.of("z", "1")));
            assertTrue(e.getMessage().contains("fail-stopped"));
        }
        // Closing must not have committed the torn entry: a restart sees the state before it.
        try (MvccStore r = new MvccStore(new InMemoryBackend(b.inner.disk(), io.quorumlab.mvcc.backend.BackendConfig.defaults()),
                TestStores.noSyncThread())) {
            assertEquals(1, r.consistentIndex());
            assertEquals(2, r.currentRevision());
            assertEquals(0, r.range(RangeRequest.key(Bytes.of("x"))).count());
        }
    }
}
