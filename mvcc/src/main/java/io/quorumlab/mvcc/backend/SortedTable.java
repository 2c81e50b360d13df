package io.quorumlab.mvcc.backend;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.AbstractMap;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.locks.StampedLock;

/**
 * One committed table of {@link InMemoryBackend}: keys in unsigned byte order in plain arrays.
 *
 * <p>Why not a skip list: MVCC writes the KEY bucket in strictly increasing revision order and
 * compaction removes old revisions, so a put is an append and a remove marks its slot dead; dead
 * slots are squeezed out in one pass once they are half the table. A skip list paid a node walk
 * and allocation for each of these (about 14 % of the simulator's time). A put below the last key
 * (other buckets, tests) shifts the arrays: correct, O(n), and rare where n is large.
 *
 * <p>Threading: one writer (the apply thread) under {@link #lock}'s write lock; point reads are
 * optimistic (validated, retried under the read lock if a write intervened), iterators take the
 * read lock per step and find their place again by key after the writer moved slots.
 */
final class SortedTable {
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final int INITIAL_CAPACITY = 16;
    /** Squeeze once dead slots are at least this many and at least half of all slots. */
    private static final int SQUEEZE_MIN_DEAD = 64;

    private final StampedLock lock;
    /**
     * Per slot, {@link #HEAD} longs: key bytes 0-7 and 8-15 (big-endian, zero-padded) and the key's
     * length. Comparisons of keys up to 16 bytes (MVCC's revision keys) end here without touching
     * the key arrays, which are scattered over the heap.
     */
    private long[] heads = new long[HEAD * INITIAL_CAPACITY];
    private byte[][] keys = new byte[INITIAL_CAPACITY][];
    /** null marks a dead slot (its key stays until the next squeeze, keeping the order searchable). */
    private byte[][] values = new byte[INITIAL_CAPACITY][];
    private int slots;
    private int dead;
    /** Bumped whenever entries change slots (squeeze, insert, clear): iterators then search again. */
    private long moves;

    SortedTable(StampedLock lock) { this.lock = lock; }

    private static final int HEAD = 3;
    /** Keys up to this long compare by their heads alone. */
    private static final int HEAD_KEY_BYTES = 16;

    /** Key bytes [from, from + 8) as a big-endian unsigned long, zero-padded past the key's end. */
    static long word(byte[] key, int from) {
        if (key.length >= from + 8) return (long) LONG.get(key, from);
        long w = 0;
        for (int i = from; i < from + 8; i++) w = (w << 8) | (i < key.length ? key[i] & 0xff : 0);
        return w;
    }

    private static void setHead(long[] heads, int slot, byte[] key) {
        heads[HEAD * slot] = word(key, 0);
        heads[HEAD * slot + 1] = word(key, 8);
        heads[HEAD * slot + 2] = key.length;
    }

    /** Order of the slot's key against key (whose words are w0, w1). */
    private static int compare(long[] heads, byte[][] keys, int slot, byte[] key, long w0, long w1) {
        int h = HEAD * slot;
        int c = Long.compareUnsigned(heads[h], w0);
        if (c != 0) return c;
        c = Long.compareUnsigned(heads[h + 1], w1);
        if (c != 0) return c;
        int length = (int) heads[h + 2];
        // Equal padded heads: the shorter key is a prefix of the longer one.
        if (length <= HEAD_KEY_BYTES && key.length <= HEAD_KEY_BYTES) return Integer.compare(length, key.length);
        return Arrays.compareUnsigned(keys[slot], key);
    }

    /** Slot of key, or -(insertion point) - 1. Any lock held. */
    private int search(byte[] key) {
        return search(heads, keys, slots, key);
    }

    /**
     * Binary search over the given arrays; with no lock held (an optimistic read racing the writer)
     * it may return garbage or throw, which the caller's failed validation then discards.
     */
    private static int search(long[] heads, byte[][] keys, int slots, byte[] key) {
        long w0 = word(key, 0), w1 = word(key, 8);
        int lo = 0, hi = slots - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = compare(heads, keys, mid, key, w0, w1);
            if (c < 0) lo = mid + 1;
            else if (c > 0) hi = mid - 1;
            else return mid;
        }
        return -(lo + 1);
    }

    /** The first slot whose key is >= key (may be dead; slots if none). */
    private int ceilingSlot(byte[] key) {
        int s = search(key);
        return s >= 0 ? s : -s - 1;
    }

    /** The first slot whose key is > key. */
    private int higherSlot(byte[] key) {
        int s = search(key);
        return s >= 0 ? s + 1 : -s - 1;
    }

    // ---- reads (any thread) ----------------------------------------------------------------------

    byte[] get(byte[] key) {
        // Optimistic first: in the simulator every read is on the writer's own thread, and a read
        // lock's two atomic updates cost more than the search.
        long stamp = lock.tryOptimisticRead();
        if (stamp != 0) {
            try {
                long[] hs = heads;
                byte[][] ks = keys, vs = values;
                int s = search(hs, ks, slots, key);
                byte[] v = s >= 0 ? vs[s] : null;
                if (lock.validate(stamp)) return v;
            } catch (RuntimeException racedWithWriter) {
                // torn arrays seen mid-write: read again under the lock
            }
        }
        stamp = lock.readLock();
        try {
            int s = search(key);
            return s >= 0 ? values[s] : null;
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /** Live entries, under the caller's lock. */
    int size() { return slots - dead; }

    /**
     * Live entries with key >= from, in order; weakly consistent like a concurrent map's iterator:
     * each step sees the table as of that step, and never an entry twice or out of order.
     */
    Iterator<Map.Entry<byte[], byte[]>> iterate(byte[] from) {
        return new Iterator<>() {
            private byte[] lastKey; // null until the first entry
            private long seenMoves = -1;
            private int slot;
            private Map.Entry<byte[], byte[]> next;
            private boolean done;

            @Override public boolean hasNext() {
                if (next != null) return true;
                if (done) return false;
                long stamp = lock.readLock();
                try {
                    if (seenMoves != moves) {
                        slot = lastKey == null ? ceilingSlot(from) : higherSlot(lastKey);
                        seenMoves = moves;
                    }
                    while (slot < slots && values[slot] == null) slot++;
                    if (slot == slots) {
                        done = true;
                        return false;
                    }
                    next = new AbstractMap.SimpleImmutableEntry<>(keys[slot], values[slot]);
                    lastKey = keys[slot];
                    slot++;
                    return true;
                } finally {
                    lock.unlockRead(stamp);
                }
            }

            @Override public Map.Entry<byte[], byte[]> next() {
                if (!hasNext()) throw new NoSuchElementException();
                Map.Entry<byte[], byte[]> e = next;
                next = null;
                return e;
            }
        };
    }

    /** A squeezed copy that later writes to this table do not change (for a frozen snapshot view). */
    SortedTable copy(StampedLock copyLock) {
        SortedTable c = new SortedTable(copyLock);
        long stamp = lock.readLock();
        try {
            int n = Math.max(size(), INITIAL_CAPACITY);
            c.heads = new long[HEAD * n];
            c.keys = new byte[n][];
            c.values = new byte[n][];
            for (int i = 0; i < slots; i++) {
                if (values[i] == null) continue;
                System.arraycopy(heads, HEAD * i, c.heads, HEAD * c.slots, HEAD);
                c.keys[c.slots] = keys[i];
                c.values[c.slots] = values[i];
                c.slots++;
            }
        } finally {
            lock.unlockRead(stamp);
        }
        return c;
    }

    // ---- writes (the writer, holding the write lock) -------------------------------------------

    /** Stores value under key; returns the previous value or null. */
    byte[] put(byte[] key, byte[] value) {
        assert lock.isWriteLocked() && value != null;
        int s;
        if (slots == 0) {
            s = -1;
        } else {
            int c = compare(heads, keys, slots - 1, key, word(key, 0), word(key, 8));
            s = c < 0 ? -(slots + 1) : search(key);
        }
        if (s >= 0) {
            byte[] old = values[s];
            if (old == null) dead--;
            values[s] = value;
            return old;
        }
        int at = -s - 1;
        if (slots == keys.length) {
            if (dead >= slots / 4 && dead > 0) {
                squeeze();
                at = -search(key) - 1;
            } else {
                grow();
            }
        }
        if (at < slots) {
            System.arraycopy(heads, HEAD * at, heads, HEAD * (at + 1), HEAD * (slots - at));
            System.arraycopy(keys, at, keys, at + 1, slots - at);
            System.arraycopy(values, at, values, at + 1, slots - at);
            moves++;
        }
        setHead(heads, at, key);
        keys[at] = key;
        values[at] = value;
        slots++;
        return null;
    }

    /** Removes key; returns its value or null if absent. */
    byte[] remove(byte[] key) {
        assert lock.isWriteLocked();
        int s = search(key);
        if (s < 0 || values[s] == null) return null;
        byte[] old = values[s];
        values[s] = null;
        dead++;
        if (dead >= SQUEEZE_MIN_DEAD && dead >= slots / 2) squeeze();
        return old;
    }

    /** Everything a table holds, taken out whole by {@link #takeContents} and put back by {@link #restoreContents}. */
    record Contents(long[] heads, byte[][] keys, byte[][] values, int slots, int dead) {}

    /** Empties the table, handing back what it held. */
    Contents takeContents() {
        assert lock.isWriteLocked();
        Contents c = new Contents(heads, keys, values, slots, dead);
        heads = new long[HEAD * INITIAL_CAPACITY];
        keys = new byte[INITIAL_CAPACITY][];
        values = new byte[INITIAL_CAPACITY][];
        slots = 0;
        dead = 0;
        moves++;
        return c;
    }

    /** Replaces the (empty) table's contents with what {@link #takeContents} took. */
    void restoreContents(Contents c) {
        assert lock.isWriteLocked() && size() == 0;
        heads = c.heads();
        keys = c.keys();
        values = c.values();
        slots = c.slots();
        dead = c.dead();
        moves++;
    }

    private void grow() {
        int n = keys.length * 2;
        heads = Arrays.copyOf(heads, HEAD * n);
        keys = Arrays.copyOf(keys, n);
        values = Arrays.copyOf(values, n);
    }

    /** Drops dead slots in one ordered pass; shrinks arrays that are mostly empty afterwards. */
    private void squeeze() {
        int w = 0;
        for (int r = 0; r < slots; r++) {
            if (values[r] == null) continue;
            if (w != r) {
                for (int i = 0; i < HEAD; i++) heads[HEAD * w + i] = heads[HEAD * r + i];
                keys[w] = keys[r];
                values[w] = values[r];
            }
            w++;
        }
        Arrays.fill(keys, w, slots, null);
        Arrays.fill(values, w, slots, null);
        assert w == slots - dead;
        slots = w;
        dead = 0;
        moves++;
        if (keys.length > INITIAL_CAPACITY && slots < keys.length / 4) {
            int n = Math.max(INITIAL_CAPACITY, keys.length / 2);
            heads = Arrays.copyOf(heads, HEAD * n);
            keys = Arrays.copyOf(keys, n);
            values = Arrays.copyOf(values, n);
        }
    }
}
