package io.quorumlab.mvcc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The store's key index: every {@link KeyIndex} in etcd's unsigned key order for ranges, plus an
 * open-addressing hash table of the same objects for point lookups. Most reads and every compare or
 * put look one key up; in the tree that walks ~log2(keys) nodes comparing keys that share long
 * prefixes ({@code /registry/pods/...}), in the table it hashes the key once and usually probes one slot.
 * The table holds references and hashes only (no entry objects): about 16-32 bytes per key at its load of 1/4-1/2.
 *
 * <p>Not thread-safe, like {@link KeyIndex}: mutated under the store's write lock, read under its read lock.
 */
final class KeyIndexMap {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int MIN_SLOTS = 16;

    private final TreeMap<byte[], KeyIndex> ordered = new TreeMap<>(Arrays::compareUnsigned);
    /** Linear probing; length a power of two, at most half full. */
    private KeyIndex[] slots = new KeyIndex[MIN_SLOTS];
    /** Each slot's key hash: a probe passes other keys' slots without loading their (scattered) indexes. */
    private int[] hashes = new int[MIN_SLOTS];

    int size() { return ordered.size(); }

    /** The index of {@code key}, or null. */
    KeyIndex get(byte[] key) {
        KeyIndex[] t = slots;
        int[] hs = hashes;
        int mask = t.length - 1;
        int h = hash(key);
        for (int i = h & mask; ; i = (i + 1) & mask) {
            KeyIndex ki = t[i];
            if (ki == null || (hs[i] == h && Arrays.equals(ki.key, key))) return ki;
        }
    }

    /** The index of {@code key}, created empty if absent. */
    KeyIndex getOrCreate(byte[] key) {
        KeyIndex ki = get(key);
        if (ki == null) {
            ki = new KeyIndex(key);
            add(ki);
        }
        return ki;
    }

    /** Adds an index for a key not held yet. */
    void add(KeyIndex ki) {
        if (ordered.putIfAbsent(ki.key, ki) != null) throw new IllegalStateException("key already indexed");
        if (2 * ordered.size() > slots.length) resize(slots.length * 2);
        insert(slots, hashes, ki, hash(ki.key));
    }

    /** Every index in key order; {@code remove()} removes from both structures. */
    Iterator<KeyIndex> iterator() {
        Iterator<KeyIndex> it = ordered.values().iterator();
        return new Iterator<>() {
            private KeyIndex last;

            @Override public boolean hasNext() { return it.hasNext(); }

            @Override public KeyIndex next() { return last = it.next(); }

            @Override public void remove() {
                it.remove();
                unhash(last);
            }
        };
    }

    /** Every index in key order (read-only). */
    Collection<KeyIndex> values() { return java.util.Collections.unmodifiableCollection(ordered.values()); }

    /** Indexes with key >= {@code from}, in key order (read-only view). */
    Collection<KeyIndex> tail(byte[] from) { return ordered.tailMap(from, true).values(); }

    /** Indexes with {@code from <= key < to}, in key order (read-only view). */
    Collection<KeyIndex> range(byte[] from, byte[] to) { return ordered.subMap(from, true, to, false).values(); }

    void removeIf(Predicate<KeyIndex> p) {
        for (Iterator<KeyIndex> it = iterator(); it.hasNext(); ) {
            if (p.test(it.next())) it.remove();
        }
    }

    void clear() {
        ordered.clear();
        slots = new KeyIndex[MIN_SLOTS];
        hashes = new int[MIN_SLOTS];
    }

    /** Keys held in the hash table (for tests: it must always equal {@link #size()}). */
    int hashedCount() {
        int n = 0;
        for (KeyIndex ki : slots) if (ki != null) n++;
        return n;
    }

    private void resize(int length) {
        KeyIndex[] bigger = new KeyIndex[length];
        int[] biggerHashes = new int[length];
        for (int i = 0; i < slots.length; i++) if (slots[i] != null) insert(bigger, biggerHashes, slots[i], hashes[i]);
        slots = bigger;
        hashes = biggerHashes;
    }

    private static void insert(KeyIndex[] table, int[] tableHashes, KeyIndex ki, int h) {
        int mask = table.length - 1;
        int i = h & mask;
        while (table[i] != null) i = (i + 1) & mask;
        table[i] = ki;
        tableHashes[i] = h;
    }

    /** Removes from the hash table, shifting later members of the probe run back (no tombstones). */
    private void unhash(KeyIndex ki) {
        int mask = slots.length - 1;
        int i = hash(ki.key) & mask;
        while (slots[i] != ki) {
            if (slots[i] == null) throw new IllegalStateException("key index missing from the hash table");
            i = (i + 1) & mask;
        }
        slots[i] = null;
        for (int j = (i + 1) & mask; slots[j] != null; j = (j + 1) & mask) {
            int home = hashes[j] & mask;
            // slots[j] may move to the hole at i unless its home lies cyclically in (i, j].
            boolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                slots[i] = slots[j];
                hashes[i] = hashes[j];
                slots[j] = null;
                i = j;
            }
        }
        if (slots.length > MIN_SLOTS && 8 * ordered.size() < slots.length) resize(slots.length / 2);
    }

    /** 8 bytes per step, then a full avalanche: keys sharing long prefixes still spread over the low bits. */
    static int hash(byte[] key) {
        long h = 0x9E3779B97F4A7C15L ^ key.length;
        int i = 0;
        for (; i + Long.BYTES <= key.length; i += Long.BYTES) {
            h = (h ^ (long) LONGS.get(key, i)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 29;
        }
        long tail = 0;
        for (; i < key.length; i++) tail = (tail << 8) | (key[i] & 0xff);
        h = (h ^ tail) * 0x94D049BB133111EBL;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) h;
    }
}
