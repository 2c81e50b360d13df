package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The key index's live heap per key and per revision (a {@code main}, not a test). An LMDB store
 * (values off-heap) gets {@code keys} distinct 8-byte keys, one put each, then {@code revisions}
 * puts of random keys of that space (the benchmark's shape), then a compaction at the last
 * revision; after each phase the backend commits, the heap is collected and its used size read.
 * Run with the serial collector so "used after a full collection" is exact:
 * {@code java -XX:+UseSerialGC -cp <mvcc test-classes:classes:deps> io.quorumlab.mvcc.IndexFootprint [keys] [revisions]}.
 */
public final class IndexFootprint {
    public static void main(String[] args) throws Exception {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int revisions = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        byte[] value = new byte[256];
        Path dir = Files.createTempDirectory("footprint");
        try (MvccStore s = new MvccStore(new LmdbBackend(dir, BackendConfig.defaults().withMapSize(8L << 30)),
                StoreConfig.defaults().withWatchSyncInterval(0).withQuota(-1))) {
            long index = 0;
            long empty = usedAfterGc(s);
            for (int i = 0; i < keys; i++) s.apply(++index, PutRequest.of(key(i), value));
            long afterKeys = usedAfterGc(s);
            SplittableRandom rnd = new SplittableRandom(1);
            for (int i = 0; i < revisions; i++) s.apply(++index, PutRequest.of(key(rnd.nextInt(keys)), value));
            long afterRevisions = usedAfterGc(s);
            s.apply(++index, new CompactionRequest(s.currentRevision(), false));
            long afterCompaction = usedAfterGc(s);
            System.out.printf("keys=%d revisions=%d heapMB empty=%.1f afterKeys=%.1f afterRevisions=%.1f afterCompaction=%.1f%n",
                    keys, revisions, mb(empty), mb(afterKeys), mb(afterRevisions), mb(afterCompaction));
            System.out.printf("bytes per key=%.1f bytes per revision=%.1f bytes per key after compaction=%.1f%n",
                    (afterKeys - empty) / (double) keys, (afterRevisions - afterKeys) / (double) revisions,
                    (afterCompaction - empty) / (double) keys);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static byte[] key(int i) { return Bytes.of(String.format("k%07d", i)); }

    private static double mb(long bytes) { return bytes / 1048576.0; }

    private static long usedAfterGc(MvccStore s) throws InterruptedException {
        s.commit(); // the uncommitted overlay is not the index
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, mem.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
