package io.quorumlab.mvcc;

import java.util.Arrays;

/**
 * Every revision of one key, grouped in generations: a generation starts with the put that
 * (re)creates the key and ends with the delete (tombstone) that removes it. The last generation
 * is always the open one, possibly empty. Answers "which revision of this key was visible at R".
 *
 * <p>Layout, for a small live set per key and per revision (a member holds one of these per key
 * for its whole life, and every put adds a revision until the next compaction): all revisions of
 * all generations sit in one ascending {@code long[]} of main revisions (8 bytes a revision), with
 * a parallel {@code int[]} of sub-revisions allocated only once a non-zero sub appears (a txn with
 * several writes; plain puts are always sub 0). Generation bounds are indices into that array: the
 * open generation's fields sit in this object, closed generations (rare: keys deleted and
 * re-created) in a {@code long[]} of triples. No object per revision or per generation.
 *
 * <p>Not thread-safe: the store mutates it under its write lock and reads it under its read lock.
 */
final class KeyIndex {
    /** What a read at some revision sees. */
    record Visible(long modMain, long modSub, long createRevision, long version) {}

    /** Receives the revisions a compaction removes. */
    interface RemovedSink {
        void removed(long main, long sub, boolean tombstone);
    }

    /** Receives every revision held, oldest first. */
    interface RevisionVisitor {
        void visit(long main, long sub, boolean tombstone);
    }

    /** Slots per closed generation in {@link #closed}: start index, create revision, version. */
    private static final int CLOSED_SLOTS = 3;
    private static final long[] NO_REVISIONS = new long[0];

    final byte[] key;
    /** Main revisions of every generation, ascending with {@link #subs}; capacity >= size. */
    private long[] mains = NO_REVISIONS;
    /** Sub-revisions parallel to {@link #mains}, or null while every one held is 0. */
    private int[] subs;
    private int size;
    /** The open generation is [openStart, size): its create revision and version (puts + tombstone, survives compaction). */
    private int openStart;
    private long openCreated;
    private long openVer;
    /** Closed generations oldest first, {@link #CLOSED_SLOTS} longs each; generation i ends where i+1 (or the open one) starts. */
    private long[] closed;
    private int closedCount;

    KeyIndex(byte[] key) {
        this.key = key;
    }

    private long sub(int i) { return subs == null ? 0 : subs[i]; }

    private void append(long main, long sub) {
        // (main, sub) must grow; equal mains happen when one txn puts and then deletes a key.
        assert size == 0 || main > mains[size - 1] || (main == mains[size - 1] && sub > sub(size - 1)) : "revisions must grow";
        if (sub < 0 || sub > Integer.MAX_VALUE) throw new IllegalArgumentException("sub-revision out of range: " + sub);
        if (size == mains.length) {
            int cap = Math.max(2, size + (size >> 1)); // 1.5x: less slack per key than doubling
            mains = Arrays.copyOf(mains, cap);
            if (subs != null) subs = Arrays.copyOf(subs, cap);
        }
        if (sub != 0 && subs == null) subs = new int[mains.length];
        mains[size] = main;
        if (subs != null) subs[size] = (int) sub;
        size++;
    }

    private void closeOpen() {
        if (closed == null) closed = new long[CLOSED_SLOTS];
        else if (closedCount * CLOSED_SLOTS == closed.length) closed = Arrays.copyOf(closed, closed.length * 2);
        int o = closedCount * CLOSED_SLOTS;
        closed[o] = openStart;
        closed[o + 1] = openCreated;
        closed[o + 2] = openVer;
        closedCount++;
        openStart = size;
        openCreated = 0;
        openVer = 0;
    }

    private int closedStart(int g) { return (int) closed[g * CLOSED_SLOTS]; }

    private int closedEnd(int g) { return g + 1 < closedCount ? closedStart(g + 1) : openStart; }

    void put(long main, long sub) {
        if (openStart == size) openCreated = main;
        append(main, sub);
        openVer++;
    }

    /** Rebuild from a stored kv, whose create revision and version say which generation it extends. */
    void restorePut(long main, long sub, long createRevision, long version) {
        if (openStart == size) openCreated = createRevision;
        append(main, sub);
        openVer = version;
    }

    /** @return false if there is no live generation to end (only while rebuilding a partly compacted store). */
    boolean tombstone(long main, long sub) {
        if (openStart == size) return false;
        append(main, sub);
        openVer++;
        closeOpen();
        return true;
    }

    /** Rebuild of a tombstone kept alone at the compaction revision (see {@link #compact}). */
    void restoreLoneTombstone(long main, long sub) {
        assert openStart == size;
        append(main, sub);
        openVer = 1;
        closeOpen();
    }

    boolean isEmpty() { return size == 0; }

    /** Index of the largest revision in [from, to) with main <= rev, or from - 1. */
    private int floor(int from, int to, long rev) {
        int lo = from, hi = to - 1, ans = from - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (mains[mid] <= rev) { ans = mid; lo = mid + 1; } else hi = mid - 1;
        }
        return ans;
    }

    /** The put visible at {@code atRev}, or null if the key did not exist then. */
    Visible get(long atRev) {
        if (openStart < size && mains[openStart] <= atRev) return visibleIn(openStart, size, false, openCreated, openVer, atRev);
        for (int g = closedCount - 1; g >= 0; g--) {
            int start = closedStart(g), end = closedEnd(g);
            if (mains[end - 1] <= atRev) return null; // deleted by atRev
            if (mains[start] <= atRev) {
                int o = g * CLOSED_SLOTS;
                return visibleIn(start, end, true, closed[o + 1], closed[o + 2], atRev);
            }
        }
        return null;
    }

    /** Whether {@link #get} would find a put at {@code atRev}, without locating it (a range's count). */
    boolean existsAt(long atRev) {
        if (openStart < size && mains[openStart] <= atRev) return true;
        for (int g = closedCount - 1; g >= 0; g--) {
            if (mains[closedEnd(g) - 1] <= atRev) return false; // deleted by atRev
            if (mains[closedStart(g)] <= atRev) return true;
        }
        return false;
    }

    private Visible visibleIn(int start, int end, boolean isClosed, long created, long ver, long atRev) {
        int n = floor(start, end, atRev);
        assert n >= start && !(isClosed && n == end - 1);
        return new Visible(mains[n], sub(n), created, ver - (end - 1 - n));
    }

    /** True if this index still holds revision (main, sub). */
    boolean has(long main, long sub) {
        // Revisions ascend across generations too: find the last with this main, walk back over equal mains.
        for (int i = floor(0, size, main); i >= 0 && mains[i] == main; i--) {
            if (sub(i) == sub) return true;
        }
        return false;
    }

    /**
     * Removes every revision superseded at {@code atRev}: whole generations deleted before atRev,
     * and in the first surviving generation everything before the revision visible at atRev.
     * A tombstone exactly at atRev is kept (alone) until the next compaction: a watcher resuming
     * from the compaction revision must still receive that delete. etcd 3.4.23 drops it and loses
     * the event; later etcd releases fixed this the same way.
     */
    void compact(long atRev, RemovedSink sink) {
        // Everything removed is a prefix [0, cut) of the revision array.
        int drop = 0;
        int cut = 0;
        boolean partial = false;
        while (drop < closedCount) {
            int start = closedStart(drop), end = closedEnd(drop);
            long tomb = mains[end - 1];
            if (tomb > atRev) break;
            if (tomb == atRev) {
                for (int i = start; i < end - 1; i++) sink.removed(mains[i], sub(i), false);
                cut = end - 1;
                partial = true;
                break;
            }
            for (int i = start; i < end; i++) sink.removed(mains[i], sub(i), i == end - 1);
            cut = end;
            drop++;
        }
        if (!partial) {
            // The first surviving generation keeps the revision visible at atRev and everything after.
            boolean open = drop == closedCount;
            int start = open ? openStart : closedStart(drop), end = open ? size : closedEnd(drop);
            int n = floor(start, end, atRev);
            for (int i = start; i < n; i++) sink.removed(mains[i], sub(i), false);
            if (n > start) cut = n;
        }
        if (cut == 0 && drop == 0) return;
        removePrefix(cut, drop);
    }

    private void removePrefix(int cut, int drop) {
        int newSize = size - cut;
        // Give memory back: a key rewritten often and then compacted must not keep its peak capacity.
        int cap = mains.length > 2 * newSize + 2 ? Math.max(newSize, 1) : mains.length;
        long[] m = cap == mains.length ? mains : new long[cap];
        System.arraycopy(mains, cut, m, 0, newSize);
        if (newSize == 0 && m != mains) m = NO_REVISIONS;
        int[] s = subs;
        if (s != null) {
            boolean any = false;
            for (int i = cut; i < size && !any; i++) any = s[i] != 0;
            if (!any) s = null;
            else {
                if (cap != s.length) s = new int[m.length];
                System.arraycopy(subs, cut, s, 0, newSize);
            }
        }
        mains = m;
        subs = s;
        size = newSize;
        openStart = Math.max(openStart - cut, 0);
        closedCount -= drop;
        if (closedCount == 0) closed = null;
        else {
            if (drop > 0) System.arraycopy(closed, drop * CLOSED_SLOTS, closed, 0, closedCount * CLOSED_SLOTS);
            for (int g = 0; g < closedCount; g++) closed[g * CLOSED_SLOTS] = Math.max(closed[g * CLOSED_SLOTS] - cut, 0);
        }
    }

    /** Every revision held, oldest first; the last revision of each closed generation is its tombstone. */
    void forEachRevision(RevisionVisitor v) {
        int g = 0;
        for (int i = 0; i < size; i++) {
            while (g < closedCount && i >= closedEnd(g)) g++;
            boolean tomb = g < closedCount && i == closedEnd(g) - 1;
            v.visit(mains[i], sub(i), tomb);
        }
    }

    /** Revisions held (for footprint measurements and invariants). */
    int revisionCount() { return size; }

    /** Latest revision main of this key (for invariants). */
    long lastMain() { return size == 0 ? 0 : mains[size - 1]; }
}
