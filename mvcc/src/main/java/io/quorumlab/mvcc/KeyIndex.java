package io.quorumlab.mvcc;

import java.util.ArrayList;
import java.util.Arrays;

/**
 * Every revision of one key, grouped in generations: a generation starts with the put that
 * (re)creates the key and ends with the delete (tombstone) that removes it. The last generation
 * is always the open one, possibly empty. Answers "which revision of this key was visible at R".
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

    static final class Generation {
        long created;
        /** Puts and the tombstone in this generation since creation (etcd counts both); survives compaction. */
        long ver;
        long[] mains = new long[2];
        long[] subs = new long[2];
        int size;
        boolean closed;

        void append(long main, long sub) {
            // (main, sub) must grow; equal mains happen when one txn puts and then deletes a key.
            assert size == 0 || main > mains[size - 1] || (main == mains[size - 1] && sub > subs[size - 1]) : "revisions must grow";
            if (size == mains.length) {
                mains = Arrays.copyOf(mains, size * 2);
                subs = Arrays.copyOf(subs, size * 2);
            }
            mains[size] = main;
            subs[size] = sub;
            size++;
        }

        /** Index of the largest revision with main <= rev, or -1. */
        int floor(long rev) {
            int lo = 0, hi = size - 1, ans = -1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (mains[mid] <= rev) { ans = mid; lo = mid + 1; } else hi = mid - 1;
            }
            return ans;
        }

        void dropFirst(int n) {
            System.arraycopy(mains, n, mains, 0, size - n);
            System.arraycopy(subs, n, subs, 0, size - n);
            size -= n;
        }
    }

    final byte[] key;
    final ArrayList<Generation> gens = new ArrayList<>(1);

    KeyIndex(byte[] key) {
        this.key = key;
        gens.add(new Generation());
    }

    private Generation open() { return gens.get(gens.size() - 1); }

    void put(long main, long sub) {
        Generation g = open();
        if (g.size == 0) g.created = main;
        g.append(main, sub);
        g.ver++;
    }

    /** Rebuild from a stored kv, whose create revision and version say which generation it extends. */
    void restorePut(long main, long sub, long createRevision, long version) {
        Generation g = open();
        if (g.size == 0) {
            g.created = createRevision;
        }
        g.append(main, sub);
        g.ver = version;
    }

    /** @return false if there is no live generation to end (only while rebuilding a partly compacted store). */
    boolean tombstone(long main, long sub) {
        Generation g = open();
        if (g.size == 0) return false;
        g.append(main, sub);
        g.ver++;
        g.closed = true;
        gens.add(new Generation());
        return true;
    }

    /** Rebuild of a tombstone kept alone at the compaction revision (see {@link #compact}). */
    void restoreLoneTombstone(long main, long sub) {
        Generation g = open();
        assert g.size == 0;
        g.append(main, sub);
        g.ver = 1;
        g.closed = true;
        gens.add(new Generation());
    }

    boolean isEmpty() { return gens.size() == 1 && gens.get(0).size == 0; }

    /** The put visible at {@code atRev}, or null if the key did not exist then. */
    Visible get(long atRev) {
        for (int i = gens.size() - 1; i >= 0; i--) {
            Generation g = gens.get(i);
            if (g.size == 0) continue;
            if (g.closed && g.mains[g.size - 1] <= atRev) return null; // deleted by atRev
            if (g.mains[0] <= atRev) {
                int n = g.floor(atRev);
                assert n >= 0 && !(g.closed && n == g.size - 1);
                return new Visible(g.mains[n], g.subs[n], g.created, g.ver - (g.size - 1 - n));
            }
        }
        return null;
    }

    /** True if this index still holds revision (main, sub). */
    boolean has(long main, long sub) {
        for (Generation g : gens) {
            int n = g.floor(main);
            if (n >= 0 && g.mains[n] == main && g.subs[n] == sub) return true;
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
        int drop = 0;
        while (drop < gens.size() - 1) {
            Generation g = gens.get(drop);
            assert g.closed;
            long tomb = g.mains[g.size - 1];
            if (tomb > atRev) break;
            if (tomb == atRev) {
                for (int i = 0; i < g.size - 1; i++) sink.removed(g.mains[i], g.subs[i], false);
                g.dropFirst(g.size - 1);
                break;
            }
            for (int i = 0; i < g.size; i++) sink.removed(g.mains[i], g.subs[i], i == g.size - 1);
            drop++;
        }
        if (drop > 0) gens.subList(0, drop).clear();
        Generation g = gens.get(0);
        int n = g.floor(atRev);
        if (n > 0) {
            for (int i = 0; i < n; i++) sink.removed(g.mains[i], g.subs[i], false);
            g.dropFirst(n);
        }
    }

    /** Latest revision main of this key (for invariants). */
    long lastMain() {
        for (int i = gens.size() - 1; i >= 0; i--) {
            Generation g = gens.get(i);
            if (g.size > 0) return g.mains[g.size - 1];
        }
        return 0;
    }
}
