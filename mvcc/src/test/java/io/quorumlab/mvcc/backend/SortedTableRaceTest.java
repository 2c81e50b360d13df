package io.quorumlab.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The in-memory backend's optimistic point reads and per-step iterators
 * racing its writer (inserts that shift slots, appends, removes that squeeze, grow/shrink, crash
 * rollbacks replayed by a reopen). Keys "pinned" at the start are never written again, so every
 * read of one must find its value and every full scan must list each, in strictly ascending order.
 * Also a single-threaded check: a scan interleaved with writes step by step.
 * Replay: {@code mvn -B -o -pl mvcc -am test -Dtest=SortedTableRaceTest -Dsurefire.failIfNoSpecifiedTests=false -Dmvcc.raceSeed=S}
 */
class SortedTableRaceTest {
    static byte[] randomKey(Random r) {
        byte[] k = new byte[1 + r.nextInt(24)];
        r.nextBytes(k);
        k[0] = (byte) ('a' + r.nextInt(3));
        return k;
    }

    @Test
    void readersRacingTheWriter() throws Exception {
        long seed = Long.getLong("mvcc.raceSeed", 7);
        Random r = new Random(seed);
        InMemoryBackend.Disk disk = new InMemoryBackend.Disk();
        InMemoryBackend be = new InMemoryBackend(disk, BackendConfig.defaults());
        TreeMap<ByteKey, byte[]> pinned = new TreeMap<>();
        for (int i = 0; i < 300; i++) {
            byte[] k = randomKey(r);
            byte[] v = ("pin" + i).getBytes();
            pinned.put(new ByteKey(k), v);
            be.put(Bucket.KEY, k, v);
        }
        be.commit();
        List<byte[]> pinnedKeys = new ArrayList<>();
        for (ByteKey k : pinned.keySet()) pinnedKeys.add(k.bytes());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<InMemoryBackend> current = new AtomicReference<>(be);
        Thread[] readers = new Thread[2];
        for (int t = 0; t < readers.length; t++) {
            final int id = t;
            readers[t] = new Thread(() -> {
                Random rr = new Random(seed * 31 + id);
                try {
                    while (!stop.get()) {
                        InMemoryBackend b = current.get();
                        if (rr.nextInt(20) == 0) {
                            byte[][] last = {null};
                            int[] seen = {0};
                            b.scan(Bucket.KEY, new byte[0], null, (k, v) -> {
                                if (last[0] != null && Arrays.compareUnsigned(last[0], k) >= 0) throw new AssertionError("scan out of order");
                                last[0] = k;
                                byte[] want = pinned.get(new ByteKey(k));
                                if (want != null) {
                                    if (!Arrays.equals(want, v)) throw new AssertionError("pinned key scanned with a wrong value");
                                    seen[0]++;
                                }
                                return true;
                            });
                            if (seen[0] != pinned.size()) throw new AssertionError("scan saw " + seen[0] + " of " + pinned.size() + " pinned keys");
                        } else {
                            byte[] k = pinnedKeys.get(rr.nextInt(pinnedKeys.size()));
                            byte[] v = b.get(Bucket.KEY, k);
                            if (!Arrays.equals(pinned.get(new ByteKey(k)), v)) throw new AssertionError("pinned key read as " + (v == null ? "null" : new String(v)));
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            readers[t].start();
        }
        List<byte[]> mine = new ArrayList<>();
        long deadline = System.nanoTime() + 3_000_000_000L;
        long seq = 0;
        try {
            while (System.nanoTime() < deadline && failure.get() == null) {
                int k = r.nextInt(100);
                if (k < 40) {
                    byte[] key = randomKey(r);
                    if (pinned.containsKey(new ByteKey(key))) continue;
                    be.put(Bucket.KEY, key, ("w" + seq++).getBytes());
                    mine.add(key);
                } else if (k < 55) {
                    byte[] key = new byte[17];
                    key[0] = 'z';
                    long s = seq++;
                    for (int i = 0; i < 8; i++) key[1 + i] = (byte) (s >>> (56 - 8 * i));
                    be.put(Bucket.KEY, key, new byte[] {1});
                    mine.add(key);
                } else if (k < 90 && !mine.isEmpty()) {
                    be.delete(Bucket.KEY, mine.remove(r.nextInt(mine.size())));
                } else if (k < 98) {
                    be.commit();
                } else {
                    // a crash: the open batch is rolled back while readers go on reading
                    be.crash();
                    be = new InMemoryBackend(disk, BackendConfig.defaults());
                    current.set(be);
                    mine.clear();
                    be.scan(Bucket.KEY, new byte[0], null, (kk, vv) -> {
                        if (!pinned.containsKey(new ByteKey(kk))) mine.add(kk);
                        return true;
                    });
                }
            }
        } finally {
            stop.set(true);
            for (Thread t : readers) t.join();
        }
        if (failure.get() != null) throw new AssertionError("seed " + seed + " failed; replay: mvn -B -o -pl mvcc -am test -Dtest=SortedTableRaceTest"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dmvcc.raceSeed=" + seed, failure.get());
    }

    /** One thread: a scan advanced one entry at a time between writes, against a TreeMap. */
    @Test
    void scanInterleavedWithWrites() {
        for (long seed = 1; seed <= 40; seed++) {
            try {
                interleaved(seed);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " failed", e);
            }
        }
    }

    private static void interleaved(long seed) {
        Random r = new Random(seed);
        InMemoryBackend.Disk disk = new InMemoryBackend.Disk();
        InMemoryBackend be = new InMemoryBackend(disk, BackendConfig.defaults());
        TreeMap<ByteKey, byte[]> model = new TreeMap<>();
        for (int round = 0; round < 30; round++) {
            for (int i = 0; i < 200; i++) {
                byte[] k = randomKey(r);
                byte[] v = new byte[] {(byte) i};
                be.put(Bucket.KEY, k, v);
                model.put(new ByteKey(k), v);
            }
            // keys live from the scan's start to its end must each be seen once, in order
            TreeMap<ByteKey, byte[]> untouched = new TreeMap<>(model);
            var it = disk.tables.get(Bucket.KEY).iterate(new byte[0]);
            byte[] last = null;
            TreeMap<ByteKey, byte[]> seen = new TreeMap<>();
            while (it.hasNext()) {
                var e = it.next();
                if (last != null) assertEquals(true, Arrays.compareUnsigned(last, e.getKey()) < 0, "order");
                last = e.getKey();
                seen.put(new ByteKey(e.getKey()), e.getValue());
                for (int w = r.nextInt(40); w > 0; w--) {
                    if (r.nextInt(3) == 0 || model.isEmpty()) {
                        byte[] k = randomKey(r);
                        be.put(Bucket.KEY, k, new byte[] {9});
                        model.put(new ByteKey(k), new byte[] {9});
                        untouched.remove(new ByteKey(k));
                    } else {
                        ByteKey k = new ArrayList<>(model.keySet()).get(r.nextInt(model.size()));
                        be.delete(Bucket.KEY, k.bytes());
                        model.remove(k);
                        untouched.remove(k);
                    }
                }
                if (r.nextInt(10) == 0) be.commit();
            }
            for (var e : untouched.entrySet()) {
                if (!Arrays.equals(e.getValue(), seen.get(e.getKey()))) throw new AssertionError("round " + round + ": untouched key missed or wrong");
            }
        }
    }
}
