package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.Bucket;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class HashTest {
    /** Straight from the bucket, no chunks: what hashKV must equal when nothing is compacted. */
    static long direct(MvccStore s, long upTo) {
        CRC32C crc = new CRC32C();
        crc.update(Bytes.of("key"));
        s.backend().scan(Bucket.KEY, Bytes.EMPTY, Codec.revKey(upTo + 1, 0, false), (k, v) -> {
            crc.update(k);
            crc.update(v);
            return true;
        });
        return crc.getValue();
    }

    @Test
    void chunkedHashEqualsDirectHashAndAgreesAcrossBackends() {
        BackendConfig cfg = BackendConfig.defaults().withMapSize(TestStores.TEST_MAP_SIZE).withUnsafeNoFsync(true);
        try (TestStores.Disk dm = new TestStores.Disk(TestStores.Kind.MEMORY, cfg); TestStores.Disk dl = new TestStores.Disk(TestStores.Kind.LMDB, cfg);
             MvccStore m = new MvccStore(dm.open(), TestStores.noSyncThread()); MvccStore l = new MvccStore(dl.open(), TestStores.noSyncThread())) {
            for (int i = 1; i <= 25_000; i++) {
                Request r = i % 10 == 0 ? DeleteRangeRequest.key(Bytes.of("k" + (i % 333))) : PutRequest.of("k" + (i % 333), "v" + i);
                m.apply(i, r);
                l.apply(i, r);
            }
            assertEquals(direct(m, m.currentRevision()), m.hashKV(0).hash());
            assertEquals(direct(m, 12_345), m.hashKV(12_345).hash());
            assertEquals(m.hashKV(0), l.hashKV(0));
            m.apply(25_001, new CompactionRequest(15_000, false));
            l.apply(25_001, new CompactionRequest(15_000, false));
            assertEquals(m.hashKV(20_000), l.hashKV(20_000));
            assertEquals(ErrorCode.COMPACTED, assertThrows(MvccException.class, () -> m.hashKV(15_000)).code());
        }
    }
}
