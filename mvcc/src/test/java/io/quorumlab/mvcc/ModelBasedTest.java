package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random put/delete/txn/compact/range sequences, applied in lockstep to the reference model,
 * an in-memory store and an LMDB store. Every response (or error) must equal the model's, and
 * the two stores' HashKV must agree. Both stores are restarted cleanly and crashed mid-batch at
 * random points, then fed the whole "Raft log" again: the consistent index must turn every
 * already-applied entry into a no-op and the replayed responses must equal the originals.
 *
 * <p>Seeds: {@code -Dmvcc.seeds=N} (default 500) or one seed with {@code -Dmvcc.seed=S}.
 */
class ModelBasedTest {
    static final int OPS_PER_SEED = Integer.getInteger("mvcc.ops", 200);

    @Test
    void randomHistoriesMatchModel() {
        String one = System.getProperty("mvcc.seed");
        int seeds = Integer.getInteger("mvcc.seeds", 500);
        long base = Long.getLong("mvcc.seedBase", 1);
        List<Long> list = new ArrayList<>();
        if (one != null && !one.isBlank()) list.add(Long.parseLong(one));
        else for (int i = 0; i < seeds; i++) list.add(base + i);
        for (long seed : list) {
            try {
                runSeed(seed);
            } catch (Throwable t) {
                throw new AssertionError("model test failed for seed " + seed + "; replay with:\n  mvn -pl mvcc test -Dtest=ModelBasedTest -Dmvcc.seed="
                        + seed + "\n" + t, t);
            }
        }
    }

    /** One store plus its disk and the log of what it was sent, so it can be crashed and replayed. */
    static final class Member implements AutoCloseable {
        final TestStores.Disk disk;
        MvccStore store;

        Member(TestStores.Kind kind, int batchLimit) {
            disk = new TestStores.Disk(kind, BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE)
                    .withBatch(Long.MAX_VALUE / 4, batchLimit).withUnsafeNoFsync(true));
            store = new MvccStore(disk.open(), TestStores.noSyncThread());
        }

        Object apply(long index, Request r) {
            try {
                return store.apply(index, r);
            } catch (MvccException e) {
                return e.code();
            }
        }

        void restart(boolean crash) {
            if (crash) {
                store.watchHub().close();
                store.backend().crash();
            } else {
                store.close();
            }
            store = new MvccStore(disk.open(), TestStores.noSyncThread());
        }

        @Override public void close() {
            store.close();
            disk.close();
        }
    }

    static void runSeed(long seed) {
        Random rnd = new Random(seed ^ 0x5DEECE66DL);
        Model model = new Model();
        OpGenerator gen = new OpGenerator(seed, model);
        List<Request> log = new ArrayList<>();
        List<Object> answers = new ArrayList<>();
        try (Member mem = new Member(TestStores.Kind.MEMORY, 1 + rnd.nextInt(40));
             Member lmdb = new Member(TestStores.Kind.LMDB, 1 + rnd.nextInt(40))) {
            for (int i = 0; i < OPS_PER_SEED; i++) {
                Request r = gen.next();
                long index = log.size() + 1;
                log.add(r);
                Object want = model.apply(r);
                answers.add(want);
                for (Member m : List.of(mem, lmdb)) {
                    if (r instanceof TxnRequest t && MvccStore.isReadOnly(t)) {
                        // The Raft-less path the server uses for read-only txns must answer the same.
                        Object local;
                        try {
                            local = m.store.readOnlyTxn(t);
                        } catch (MvccException e) {
                            local = e.code();
                        }
                        assertEquals(want, local, () -> "readOnlyTxn op " + index + " on " + m.disk.kind + ": " + r);
                    }
                    Object got = m.apply(index, r);
                    assertEquals(want, got, () -> "op " + index + " on " + m.disk.kind + ": " + r);
                    assertEquals(model.cur(), m.store.currentRevision(), "revision after op " + index);
                }
                if (i % 10 == 9) {
                    assertEquals(mem.store.hashKV(0).hash(), lmdb.store.hashKV(0).hash(), "hash after op " + index);
                }
                if (i % 25 == 24) {
                    mem.store.checkInvariants();
                    lmdb.store.checkInvariants();
                }
                int event = rnd.nextInt(60);
                if (event == 0 || event == 1) {
                    for (Member m : List.of(mem, lmdb)) {
                        m.restart(event == 1);
                        m.store.checkInvariants();
                        replay(m, log, answers);
                        assertEquals(model.cur(), m.store.currentRevision(), "revision after restart at op " + index);
                    }
                }
            }
            // Final full comparison of every non-compacted revision.
            for (Member m : List.of(mem, lmdb)) {
                for (long rev = Math.max(1, model.compacted); rev <= model.cur(); rev++) {
                    RangeRequest all = RangeRequest.builder(Model.b("\u0000")).fromKey().revision(rev).build();
                    assertEquals(model.apply(all), m.apply(0, all), "full range at " + rev + " on " + m.disk.kind);
                }
            }
            assertEquals(mem.store.hashKV(0), lmdb.store.hashKV(0));
        }
    }

    /** Re-sends the whole log, as a restarted member's Raft would from its last snapshot. */
    static void replay(Member m, List<Request> log, List<Object> answers) {
        long ci = m.store.consistentIndex();
        assertTrue(ci <= log.size());
        for (int i = 0; i < log.size(); i++) {
            long index = i + 1;
            Object got = m.apply(index, log.get(i));
            if (index <= ci) {
                assertInstanceOf(AlreadyApplied.class, got, "entry " + index + " <= consistent index " + ci + " must not re-apply");
            } else {
                // Deterministic apply: from the same state, the same entry gives the same answer.
                assertEquals(answers.get(i), got, "replayed entry " + index + ": " + log.get(i));
            }
        }
    }
}
