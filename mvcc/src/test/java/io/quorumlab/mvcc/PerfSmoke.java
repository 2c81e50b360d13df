package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Rough single-thread apply and point-read rates (not a benchmark: JMH suites belong to `bench`).
 * Run: java -cp target/test-classes:target/classes:$(deps) io.quorumlab.mvcc.PerfSmoke [keys]
 */
public final class PerfSmoke {
    public static void main(String[] args) throws Exception {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        byte[] value = new byte[256];
        for (String kind : new String[] {"memory", "lmdb"}) {
            Path dir = Files.createTempDirectory("perf");
            BackendConfig cfg = BackendConfig.defaults().withMapSize(8L << 30);
            Backend b = kind.equals("lmdb") ? new LmdbBackend(dir, cfg) : new InMemoryBackend(new InMemoryBackend.Disk(), cfg);
            try (MvccStore s = new MvccStore(b, StoreConfig.defaults().withWatchSyncInterval(0).withQuota(-1))) {
                byte[][] k = new byte[keys][];
                for (int i = 0; i < keys; i++) k[i] = Bytes.of(String.format("/registry/pods/ns/%08d", i));
                long t0 = System.nanoTime();
                for (int i = 0; i < keys; i++) s.apply(i + 1, PutRequest.of(k[i], value));
                s.commit();
                double putSec = (System.nanoTime() - t0) / 1e9;
                long t1 = System.nanoTime();
                int reads = Math.min(keys, 200_000);
                for (int i = 0; i < reads; i++) s.range(RangeRequest.key(k[(i * 7919) % keys]));
                double getSec = (System.nanoTime() - t1) / 1e9;
                Runtime rt = Runtime.getRuntime();
                rt.gc();
                System.out.printf("%s keys=%d put/s=%.0f get/s=%.0f heapMB=%d dbBytes=%d inUse=%d%n", kind, keys, keys / putSec,
                        reads / getSec, (rt.totalMemory() - rt.freeMemory()) >> 20, s.dbSizeBytes(), s.dbSizeInUseBytes());
            }
        }
    }
}
