package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.Bucket;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CrashRecoveryTest {
    /** A store that applied entries 1..n of the child's log exactly once. */
    static MvccStore reference(long n) {
        MvccStore r = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread());
        for (long i = 1; i <= n; i++) r.apply(i, CrashChild.entry(i));
        return r;
    }

    /** SIGKILL a JVM in the middle of LMDB batches; the reopened store is exactly entries 1..ci, and replay is a no-op up to ci. */
    @Test
    void killedProcessRecoversToConsistentIndex() throws Exception {
        try (TestStores.Disk disk = new TestStores.Disk(TestStores.Kind.LMDB)) {
            String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
            ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(),
                    disk.dir.toString());
            pb.redirectErrorStream(true);
            Process p = pb.start();
            long reported = 0;
            StringBuilder out = new StringBuilder();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; reported < 6000 && (line = r.readLine()) != null; ) {
                    out.append(line).append('\n');
                    if (line.startsWith("applied ")) reported = Long.parseLong(line.substring(8));
                }
                p.destroyForcibly(); // SIGKILL: no shutdown hooks, the open batch dies with the process
                p.waitFor();
            }
            assertTrue(reported >= 6000, "child did not make progress:\n" + out);
            BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE);
            try (MvccStore s = new MvccStore(new LmdbBackend(disk.dir, cfg), TestStores.noSyncThread())) {
                s.checkInvariants();
                long ci = s.consistentIndex();
                assertTrue(ci >= reported - 700 - 500 && ci > 0, "lost more than a batch: ci=" + ci + " reported=" + reported);
                assertEquals(ci + 1, s.currentRevision(), "one revision per entry, nothing half-applied");
                try (MvccStore ref = reference(ci)) {
                    assertEquals(ref.hashKV(0).hash(), s.hashKV(0).hash());
                }
                long end = ci + 300;
                for (long i = 1; i <= end; i++) {
                    Response resp = s.apply(i, CrashChild.entry(i));
                    if (i <= ci) assertInstanceOf(AlreadyApplied.class, resp, "double apply of entry " + i);
                    else assertEquals(i + 1, resp.header().revision());
                }
                try (MvccStore ref = reference(end)) {
                    assertEquals(ref.hashKV(0).hash(), s.hashKV(0).hash());
                }
            }
        }
    }

    /** A compaction big enough to commit part-way, then a crash: recovery finishes it and replay skips it. */
    @ParameterizedTest
    @EnumSource(TestStores.Kind.class)
    void crashMidCompactionResumes(TestStores.Kind kind) {
        BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withBatch(Long.MAX_VALUE / 4, 600)
                .withUnsafeNoFsync(true);
        try (TestStores.Disk disk = new TestStores.Disk(kind, cfg); MvccStore ref = reference(0)) {
            MvccStore s = new MvccStore(disk.open(), TestStores.noSyncThread());
            long i = 1;
            for (; i <= 4000; i++) {
                s.apply(i, CrashChild.entry(i));
                ref.apply(i, CrashChild.entry(i));
            }
            s.commit();
            CompactionRequest c = new CompactionRequest(3500, false);
            s.apply(i, c);
            ref.apply(i, c);
            assertTrue(s.backend().pendingWrites() > 0, "the tail of the compaction must still be uncommitted");
            s.watchHub().close();
            s.backend().crash();

            try (MvccStore r = new MvccStore(disk.open(), TestStores.noSyncThread())) {
                r.checkInvariants();
                assertEquals(3500, r.compactRevision());
                assertInstanceOf(AlreadyApplied.class, r.apply(i, c), "the compaction entry was applied once");
                assertEquals(ref.hashKV(0), r.hashKV(0));
                assertEquals(count(ref.backend()), count(r.backend()), "superseded revisions all removed");
                RangeRequest all = RangeRequest.builder(Bytes.of("k")).prefix().revision(3500).build();
                assertEquals(ref.range(all), r.range(all));
            }
        }
    }

    static long count(Backend b) {
        long[] n = {0};
        b.scan(Bucket.KEY, Bytes.EMPTY, null, (k, v) -> {
            n[0]++;
            return true;
        });
        return n[0];
    }
}
