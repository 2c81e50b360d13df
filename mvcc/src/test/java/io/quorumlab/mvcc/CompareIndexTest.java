package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The two shortcuts of the apply path against the slow paths they replace, on seeded random histories:
 * a CREATE/MOD/VERSION compare answered from the key index must equal the same compare on the kvs decoded
 * from the backend (puts, deletes, re-created keys, txns with several writes, leases, compactions, and
 * restarts that rebuild the index from a partly compacted backend); and {@link KeyIndexMap}'s hash table
 * must find exactly what its ordered map holds. About 1 s. Replay one seed:
 * {@code mvn -pl mvcc test -Dtest=CompareIndexTest -Dmvcc.compareSeed=S}.
 */
class CompareIndexTest {
    private static final String[] KEYS = {"a", "ab", "abc", "b", "b\u0000", "ba", "c", "/registry/pods/default/p1", "/registry/pods/default/p2", "z\u00ff"};

    @Test
    void indexCompareAgreesWithDecodedCompare() {
        forSeeds("compareSeed", 60, CompareIndexTest::history);
    }

    @Test
    void hashTableFindsWhatTheOrderedMapHolds() {
        forSeeds("compareSeed", 40, CompareIndexTest::keyIndexMap);
    }

    private interface SeededRun {
        void run(long seed);
    }

    private static void forSeeds(String property, int count, SeededRun run) {
        String fixed = System.getProperty("mvcc." + property);
        long first = fixed != null ? Long.parseLong(fixed) : 1;
        int seeds = fixed != null ? 1 : count;
        for (long seed = first; seed < first + seeds; seed++) {
            try {
                run.run(seed);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " failed; replay: mvn -pl mvcc test -Dtest=CompareIndexTest -Dmvcc." + property + "=" + seed, e);
            }
        }
    }

    private static void history(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        InMemoryBackend.Disk disk = new InMemoryBackend.Disk();
        MvccStore store = new MvccStore(new InMemoryBackend(disk, io.quorumlab.mvcc.backend.BackendConfig.defaults()), TestStores.noSyncThread());
        long index = 0;
        store.apply(++index, new LeaseGrantRequest(1000, 7));
        try {
            for (int step = 0; step < 150; step++) {
                int what = rnd.nextInt(20);
                try {
                    if (what < 9) store.apply(++index, put(rnd));
                    else if (what < 12) store.apply(++index, new DeleteRangeRequest(key(rnd), rangeEnd(rnd), false));
                    else if (what < 17) store.apply(++index, txn(rnd));
                    else if (what < 19) {
                        long cur = store.currentRevision();
                        long from = Math.max(1, store.compactRevision());
                        if (cur > from) store.apply(++index, new CompactionRequest(from + 1 + rnd.nextInt((int) (cur - from)), false));
                    } else {
                        store.close();
                        store = new MvccStore(new InMemoryBackend(disk, io.quorumlab.mvcc.backend.BackendConfig.defaults()), TestStores.noSyncThread());
                    }
                } catch (MvccException e) {
                    // a refused request (e.g. compacted) changes nothing
                }
                checkCompares(store, rnd, step);
            }
            store.checkInvariants();
        } finally {
            store.close();
        }
    }

    private static void checkCompares(MvccStore store, SplittableRandom rnd, int step) {
        long cur = store.currentRevision();
        long low = Math.max(1, store.compactRevision());
        store.lock().readLock().lock();
        try {
            for (int i = 0; i < 30; i++) {
                long rev = i < 20 ? cur : low + rnd.nextLong(cur - low + 1);
                Compare c = compare(rnd, cur);
                assertEquals(store.compareByReading(c, rev), store.compare(c, rev), "step " + step + " rev " + rev + ": " + c);
            }
        } finally {
            store.lock().readLock().unlock();
        }
    }

    private static byte[] key(SplittableRandom rnd) { return Bytes.of(KEYS[rnd.nextInt(KEYS.length)]); }

    private static byte[] rangeEnd(SplittableRandom rnd) {
        return switch (rnd.nextInt(4)) {
            case 0, 1 -> Bytes.EMPTY;
            case 2 -> Bytes.FROM_KEY;
            default -> key(rnd);
        };
    }

    private static PutRequest put(SplittableRandom rnd) { return put(rnd, key(rnd)); }

    private static PutRequest put(SplittableRandom rnd, byte[] key) {
        return new PutRequest(key, Bytes.of("v" + rnd.nextInt(5)), rnd.nextInt(4) == 0 ? 7 : 0, false, false, false);
    }

    /** Several distinct-key writes in one revision (sub-revisions > 0), sometimes a from-key delete then a put. */
    private static TxnRequest txn(SplittableRandom rnd) {
        List<RequestOp> ops = new ArrayList<>();
        List<String> used = new ArrayList<>();
        if (rnd.nextInt(4) == 0) ops.add(new DeleteRangeRequest(Bytes.of("b"), Bytes.FROM_KEY, false));
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            String k = KEYS[rnd.nextInt(KEYS.length)];
            if (used.contains(k)) continue;
            used.add(k);
            ops.add(put(rnd, Bytes.of(k)));
        }
        List<Compare> cmps = new ArrayList<>();
        if (rnd.nextBoolean()) cmps.add(Compare.number(key(rnd), Compare.Target.VERSION, Compare.Result.GREATER, rnd.nextInt(3)));
        return new TxnRequest(cmps, ops, List.of());
    }

    private static Compare compare(SplittableRandom rnd, long cur) {
        Compare.Result result = Compare.Result.values()[rnd.nextInt(4)];
        Compare.Target target = Compare.Target.values()[rnd.nextInt(Compare.Target.values().length)];
        Compare c = target == Compare.Target.VALUE
                ? Compare.value(key(rnd), result, Bytes.of(rnd.nextInt(6) == 0 ? "" : "v" + rnd.nextInt(5)))
                : Compare.number(key(rnd), target, result, target == Compare.Target.LEASE ? (rnd.nextBoolean() ? 7 : 0) : rnd.nextLong(cur + 2));
        return rnd.nextInt(3) == 0 ? c.withRangeEnd(rangeEnd(rnd)) : c;
    }

    /** Random adds, lookups and iterator removals (which shift probe runs back) against a TreeMap. */
    private static void keyIndexMap(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        KeyIndexMap map = new KeyIndexMap();
        TreeMap<byte[], KeyIndex> ref = new TreeMap<>(Arrays::compareUnsigned);
        int space = 1 + rnd.nextInt(2000);
        for (int step = 0; step < 3000; step++) {
            byte[] k = Bytes.of("/registry/k/" + rnd.nextInt(space));
            int what = rnd.nextInt(10);
            if (what < 5) {
                KeyIndex ki = map.getOrCreate(k);
                ref.putIfAbsent(k, ki);
                assertSame(ref.get(k), ki);
            } else if (what < 8) {
                assertSame(ref.get(k), map.get(k));
            } else {
                // Remove every key whose number has some residue: many removals at once, as a compaction does.
                int mod = 2 + rnd.nextInt(5), r = rnd.nextInt(mod);
                for (Iterator<KeyIndex> it = map.iterator(); it.hasNext(); ) {
                    KeyIndex ki = it.next();
                    if (Integer.parseInt(new String(ki.key, StandardCharsets.UTF_8).substring("/registry/k/".length())) % mod == r) {
                        it.remove();
                        assertSame(ki, ref.remove(ki.key));
                    }
                }
            }
            if (step % 100 == 0 || what >= 8) {
                assertEquals(ref.size(), map.size());
                assertEquals(ref.size(), map.hashedCount());
                for (Map.Entry<byte[], KeyIndex> e : ref.entrySet()) assertSame(e.getValue(), map.get(e.getKey()));
                assertEquals(new ArrayList<>(ref.values()), new ArrayList<>(map.values()));
            }
        }
        for (int i = 0; i < 50; i++) assertNull(map.get(Bytes.of("/absent/" + i)));
        Map<Integer, Integer> lowBits = new HashMap<>();
        for (int i = 0; i < 4096; i++) lowBits.merge(KeyIndexMap.hash(Bytes.of("/registry/pods/default/pod-" + i)) & 1023, 1, Integer::sum);
        // 4,096 shared-prefix keys over 1,024 slots: a good spread puts at most ~16 in one (a bad one piles them up).
        assertTrue(lowBits.values().stream().mapToInt(Integer::intValue).max().orElse(0) <= 20, "hash spread " + lowBits);
    }
}
