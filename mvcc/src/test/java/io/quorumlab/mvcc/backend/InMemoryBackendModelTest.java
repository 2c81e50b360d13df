package io.quorumlab.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The in-memory backend against a model (one TreeMap per bucket for the durable state, another for
 * what readers see): random puts and deletes of revision-like keys (mostly appended, as MVCC writes
 * them), short and long keys, commits, crashes, reopens of an abandoned disk, snapshot restores and
 * failed restores, checking point reads, scans, sizeBytes and the bytes each commit reports.
 *
 * <p>Replay one seed: {@code mvn -B -o -pl mvcc test -Dtest=InMemoryBackendModelTest -Dmvcc.backendSeed=S}.
 */
class InMemoryBackendModelTest {
    private static final int OPS = 4_000;

    @Test
    void matchesModel() throws IOException {
        String only = System.getProperty("mvcc.backendSeed");
        int seeds = Integer.getInteger("mvcc.backendSeeds", 20);
        for (long seed = 1; seed <= seeds; seed++) {
            long s = only != null ? Long.parseLong(only) : seed;
            try {
                run(s);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + s + " failed; replay: mvn -B -o -pl mvcc test -Dtest=InMemoryBackendModelTest -Dmvcc.backendSeed=" + s, e);
            }
            if (only != null) return;
        }
    }

    private static final class Model {
        final Map<Bucket, TreeMap<ByteKey, byte[]>> durable = tables(), live = tables();
        long durableBytes, liveBytes, batchBytes;
        int batchEntries;

        static Map<Bucket, TreeMap<ByteKey, byte[]>> tables() {
            Map<Bucket, TreeMap<ByteKey, byte[]>> m = new EnumMap<>(Bucket.class);
            for (Bucket b : Bucket.values()) m.put(b, new TreeMap<>());
            return m;
        }

        static Map<Bucket, TreeMap<ByteKey, byte[]>> copy(Map<Bucket, TreeMap<ByteKey, byte[]>> from) {
            Map<Bucket, TreeMap<ByteKey, byte[]>> m = new EnumMap<>(Bucket.class);
            for (var e : from.entrySet()) m.put(e.getKey(), new TreeMap<>(e.getValue()));
            return m;
        }

        void write(Bucket b, byte[] key, byte[] value) {
            byte[] old = value == null ? live.get(b).remove(new ByteKey(key)) : live.get(b).put(new ByteKey(key), value);
            if (old != null) liveBytes -= key.length + old.length + 16;
            if (value != null) liveBytes += key.length + value.length + 16;
            batchEntries++;
            batchBytes += key.length + (value == null ? 0 : value.length) + 16;
        }

        void commit() {
            for (Bucket b : Bucket.values()) durable.put(b, new TreeMap<>(live.get(b)));
            durableBytes = liveBytes;
            batchEntries = 0;
            batchBytes = 0;
        }

        void lose() {
            for (Bucket b : Bucket.values()) live.put(b, new TreeMap<>(durable.get(b)));
            liveBytes = durableBytes;
            batchEntries = 0;
            batchBytes = 0;
        }
    }

    private static void run(long seed) throws IOException {
        Random r = new Random(seed);
        InMemoryBackend.Disk disk = new InMemoryBackend.Disk();
        List<Long> committed = new ArrayList<>();
        AtomicLong reported = new AtomicLong(-1);
        InMemoryBackend.CommitIo io = bytes -> {
            reported.set(bytes);
            committed.add(bytes);
        };
        // A huge batch limit: commits happen only where the test says.
        BackendConfig cfg = new BackendConfig(Long.MAX_VALUE / 4, Integer.MAX_VALUE, 1 << 20, System::nanoTime, false);
        InMemoryBackend be = new InMemoryBackend(disk, cfg, io);
        Model m = new Model();
        long nextRev = 1;
        List<byte[]> written = new ArrayList<>();
        for (int op = 0; op < OPS; op++) {
            int dice = r.nextInt(100);
            Bucket b = r.nextInt(4) == 0 ? Bucket.values()[1 + r.nextInt(3)] : Bucket.KEY;
            if (dice < 45) { // append a revision key (sometimes a tombstone-like 17-byte one)
                byte[] k = revKey(nextRev++, r.nextInt(3), r.nextInt(5) == 0);
                byte[] v = value(r);
                be.put(b, k, v);
                m.write(b, k, v);
                written.add(k);
            } else if (dice < 55) { // any key: short, long, out of order, or an overwrite
                byte[] k = r.nextBoolean() && !written.isEmpty() ? written.get(r.nextInt(written.size())) : randomKey(r);
                byte[] v = value(r);
                be.put(b, k, v);
                m.write(b, k, v);
                written.add(k);
            } else if (dice < 80) { // delete (compaction), present or not
                byte[] k = written.isEmpty() || r.nextInt(10) == 0 ? randomKey(r) : written.get(r.nextInt(written.size()));
                be.delete(b, k);
                m.write(b, k, null);
            } else if (dice < 88) {
                reported.set(-1);
                be.commit();
                if (m.batchEntries > 0) assertEquals(m.batchBytes, reported.get(), "bytes reported to CommitIo");
                m.commit();
            } else if (dice < 91) { // crash: the open batch is lost
                be.crash();
                m.lose();
                be = new InMemoryBackend(disk, cfg, io);
            } else if (dice < 93) { // a process that died without a word: the reopen drops its batch
                InMemoryBackend abandoned = be;
                be = new InMemoryBackend(disk, cfg, io);
                m.lose();
                assertThrows(IllegalStateException.class, () -> abandoned.put(Bucket.KEY, new byte[] {1}, new byte[] {1}));
            } else if (dice < 95) { // snapshot and restore it (or a corrupt copy of it, which changes nothing)
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                be.snapshot(out); // commits first
                m.commit();
                byte[] snap = out.toByteArray();
                if (r.nextBoolean()) {
                    snap[snap.length - 1] ^= 1;
                    InMemoryBackend target = be;
                    byte[] bad = snap;
                    assertThrows(IOException.class, () -> target.restore(new ByteArrayInputStream(bad)));
                } else {
                    be.restore(new ByteArrayInputStream(snap));
                }
            }
            if (op % 50 == 0 || dice >= 88) check(be, m, r, written);
        }
        check(be, m, r, written);
        be.close();
        InMemoryBackend reopened = new InMemoryBackend(disk, cfg, io);
        m.commit(); // close committed
        check(reopened, m, r, written);
    }

    private static void check(InMemoryBackend be, Model m, Random r, List<byte[]> written) {
        assertEquals(m.durableBytes, be.sizeBytes(), "sizeBytes");
        for (Bucket b : Bucket.values()) {
            TreeMap<ByteKey, byte[]> want = m.live.get(b);
            List<byte[]> got = new ArrayList<>();
            be.scan(b, new byte[0], null, (k, v) -> {
                got.add(k);
                assertArrayEquals(want.get(new ByteKey(k)), v, "scan value");
                return true;
            });
            assertEquals(want.size(), got.size(), b + " scan size");
            int i = 0;
            for (ByteKey k : want.keySet()) assertArrayEquals(k.bytes(), got.get(i++), b + " scan order");
            for (int j = 0; j < 20 && !written.isEmpty(); j++) {
                byte[] k = written.get(r.nextInt(written.size()));
                assertArrayEquals(want.get(new ByteKey(k)), be.get(b, k), "point read");
            }
            if (want.size() > 2) { // a bounded scan from the middle
                List<ByteKey> keys = new ArrayList<>(want.keySet());
                ByteKey from = keys.get(r.nextInt(keys.size())), to = keys.get(r.nextInt(keys.size()));
                if (from.compareTo(to) > 0) { ByteKey t = from; from = to; to = t; }
                List<byte[]> part = new ArrayList<>();
                be.scan(b, from.bytes(), to.bytes(), (k, v) -> part.add(k));
                assertEquals(want.subMap(from, true, to, false).size(), part.size(), b + " bounded scan");
            }
        }
    }

    private static byte[] revKey(long main, long sub, boolean tombstone) {
        byte[] k = new byte[tombstone ? 17 : 16];
        for (int i = 0; i < 8; i++) {
            k[i] = (byte) (main >>> (56 - 8 * i));
            k[8 + i] = (byte) (sub >>> (56 - 8 * i));
        }
        if (tombstone) k[16] = 't';
        return k;
    }

    private static byte[] randomKey(Random r) {
        byte[] k = new byte[r.nextInt(24)];
        for (int i = 0; i < k.length; i++) k[i] = (byte) (r.nextInt(4) == 0 ? 0 : r.nextInt(256));
        return k;
    }

    private static byte[] value(Random r) {
        byte[] v = new byte[r.nextInt(40)];
        r.nextBytes(v);
        return Arrays.copyOf(v, v.length);
    }
}
