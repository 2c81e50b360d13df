package io.quorumlab.bench.jmh;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.WatchStream;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The mvcc store on one thread, as the member's apply loop drives it, over a preloaded key space of
 * {@code keys} keys with 256 B values ({@code /registry/pods/ns/%08d}).
 *
 * <ul>
 *   <li>{@code put}: apply one Put of 256 B to a random existing key (a new revision), with the
 *       backend's default batching (100 ms / 10,000 writes; LMDB commits with fsync);</li>
 *   <li>{@code pointRange}: Range of one random key;</li>
 *   <li>{@code range1000}: Range of 1,000 consecutive keys (score = ranges/s);</li>
 *   <li>{@code watchFanOut1000}: apply one Put to a key watched by 1,000 watchers (one stream each),
 *       then drain every stream (score = puts/s; events delivered = score x 1,000).</li>
 * </ul>
 * Each iteration ends with a compaction to the current revision (outside the timed region), so
 * history stays bounded. LMDB files live under {@code bench/target/jmh-mvcc}. The trial prints heap
 * in use after GC and the LMDB file size ("mvcc-bench" lines). Run:
 * {@code java -cp cli/target/quorumlab.jar org.openjdk.jmh.Main MvccBenchmark -prof gc}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g"})
public class MvccBenchmark {
    static final int VALUE_BYTES = 256;
    static final int RANGE_KEYS = 1000;
    static final int WATCHERS = 1000;

    static Path benchRoot() {
        return Path.of(System.getProperty("mvcc.bench.dir", "bench/target/jmh-mvcc")).toAbsolutePath();
    }

    static Backend newBackend(String kind, Path dir) {
        BackendConfig cfg = BackendConfig.defaults().withMapSize(16L << 30);
        return switch (kind) {
            case "memory" -> new InMemoryBackend(new InMemoryBackend.Disk(), cfg);
            case "lmdb" -> new LmdbBackend(dir, cfg);
            default -> throw new IllegalArgumentException("backend " + kind);
        };
    }

    static StoreConfig storeConfig() {
        // No watch sync thread (nothing lags here) and no quota: the benchmark owns the key space.
        return StoreConfig.defaults().withWatchSyncInterval(0).withQuota(-1);
    }

    /** A store preloaded with {@code keys} keys; the apply role follows the JMH worker thread. */
    @State(Scope.Benchmark)
    public static class Loaded {
        @Param({"memory", "lmdb"})
        String backend;

        @Param({"100000", "1000000"})
        int keys;

        Path dir;
        MvccStore store;
        byte[][] keyBytes;
        final byte[] value = new byte[VALUE_BYTES];
        long raftIndex;
        long rnd = 0x9E3779B97F4A7C15L;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), backend + "-");
            new SplittableRandom(3).nextBytes(value);
            store = new MvccStore(newBackend(backend, dir.resolve("db")), storeConfig());
            keyBytes = new byte[keys][];
            for (int i = 0; i < keys; i++) {
                keyBytes[i] = Bytes.of(String.format("/registry/pods/ns/%08d", i));
                store.apply(++raftIndex, PutRequest.of(keyBytes[i], value));
            }
            store.commit();
            RangeResponse r = store.range(RangeRequest.range(keyBytes[0], keyBytes[RANGE_KEYS]));
            if (r.kvs().size() != RANGE_KEYS) {
                throw new IllegalStateException("range returned " + r.kvs().size() + " keys, expected " + RANGE_KEYS);
            }
        }

        @Setup(Level.Iteration)
        public void takeApplyRole() {
            store.transferApplyOwnership();
        }

        @TearDown(Level.Iteration)
        public void compact() {
            store.transferApplyOwnership();
            if (store.currentRevision() > store.compactRevision()) { // read-only iterations add no revisions
                store.apply(++raftIndex, new CompactionRequest(store.currentRevision(), true));
            }
            store.commit();
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException {
            store.transferApplyOwnership();
            store.commit();
            Runtime rt = Runtime.getRuntime();
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            System.out.printf("%nmvcc-bench %s backend=%s keys=%d heapUsedMB=%d dbBytes=%d dbInUseBytes=%d revision=%d%n",
                    bp.getBenchmark().replaceAll(".*\\.", ""), backend, keys, (rt.totalMemory() - rt.freeMemory()) >> 20,
                    store.dbSizeBytes(), store.dbSizeInUseBytes(), store.currentRevision());
            store.close();
            WalBenchmark.deleteTree(dir);
        }

        /** xorshift64: no allocation, no contention. */
        int nextKey(int bound) {
            long x = rnd;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rnd = x;
            return (int) Long.remainderUnsigned(x, bound);
        }
    }

    @Benchmark
    public Response put(Loaded s) {
        return s.store.apply(++s.raftIndex, PutRequest.of(s.keyBytes[s.nextKey(s.keys)], s.value));
    }

    @Benchmark
    public RangeResponse pointRange(Loaded s) {
        return s.store.range(RangeRequest.key(s.keyBytes[s.nextKey(s.keys)]));
    }

    @Benchmark
    public RangeResponse range1000(Loaded s) {
        int from = s.nextKey(s.keys - RANGE_KEYS);
        return s.store.range(RangeRequest.range(s.keyBytes[from], s.keyBytes[from + RANGE_KEYS]));
    }

    /** 1,000 watch streams, one watcher each, all on the same key. */
    @State(Scope.Benchmark)
    public static class Watched {
        @Param({"memory", "lmdb"})
        String backend;

        Path dir;
        MvccStore store;
        WatchStream[] streams;
        final byte[] key = Bytes.of("/registry/configmaps/ns/watched");
        final byte[] value = new byte[VALUE_BYTES];
        long raftIndex;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), "watch-" + backend + "-");
            new SplittableRandom(4).nextBytes(value);
            store = new MvccStore(newBackend(backend, dir.resolve("db")), storeConfig());
            streams = new WatchStream[WATCHERS];
            for (int i = 0; i < WATCHERS; i++) {
                streams[i] = store.watchHub().newStream();
                streams[i].watch(WatchCreateRequest.of(key, Bytes.EMPTY, 0));
                while (streams[i].poll() != null) {
                    // drop the "created" response
                }
            }
            if (store.watchHub().syncedCount() != WATCHERS) {
                throw new IllegalStateException("synced watchers " + store.watchHub().syncedCount());
            }
        }

        @Setup(Level.Iteration)
        public void takeApplyRole() {
            store.transferApplyOwnership();
        }

        @TearDown(Level.Iteration)
        public void compact() {
            store.transferApplyOwnership();
            if (store.currentRevision() > store.compactRevision()) { // read-only iterations add no revisions
                store.apply(++raftIndex, new CompactionRequest(store.currentRevision(), true));
            }
            store.commit();
            for (WatchStream w : streams) {
                while (w.poll() != null) {
                    // nothing is expected; keeps outboxes empty if compaction notified anyone
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            store.transferApplyOwnership();
            store.close();
            WalBenchmark.deleteTree(dir);
        }
    }

    @Benchmark
    public int watchFanOut1000(Watched s) {
        s.store.apply(++s.raftIndex, PutRequest.of(s.key, s.value));
        int events = 0;
        for (WatchStream w : s.streams) {
            for (WatchResponse r; (r = w.poll()) != null; ) {
                events += r.events().size();
            }
        }
        if (events != WATCHERS) {
            throw new IllegalStateException("delivered " + events + " events to " + WATCHERS + " watchers");
        }
        return events;
    }
}
