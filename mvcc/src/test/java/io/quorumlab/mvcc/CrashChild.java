package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.nio.file.Path;

/** Child JVM for {@link CrashRecoveryTest}: applies a deterministic log to LMDB until killed. */
public final class CrashChild {
    static PutRequest entry(long index) { return PutRequest.of("k" + (index % 97), "value-" + index); }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withBatch(50_000_000L, 700);
        MvccStore s = new MvccStore(new LmdbBackend(dir, cfg), TestStores.noSyncThread());
        for (long i = s.consistentIndex() + 1; ; i++) {
            s.apply(i, entry(i));
            if (i % 500 == 0) {
                System.out.println("applied " + i);
                System.out.flush();
            }
        }
    }
}
