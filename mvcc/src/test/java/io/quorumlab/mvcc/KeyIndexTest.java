package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyIndex}'s packed layout against a plain list-of-generations reference: random puts,
 * tombstones (several per revision, so sub-revisions are non-zero), compactions and reads at every
 * revision, with the same answers and the same removed revisions in the same order. About 1 s.
 * Replay one seed: {@code mvn -pl mvcc test -Dtest=KeyIndexTest -Dmvcc.keyIndexSeed=S}.
 */
class KeyIndexTest {
    /** The reference: one list of (main, sub) per generation, the last one open. */
    private static final class Ref {
        final List<List<long[]>> gens = new ArrayList<>(List.of(new ArrayList<>()));
        final List<long[]> meta = new ArrayList<>(List.of(new long[2])); // created, ver per generation

        List<long[]> open() { return gens.get(gens.size() - 1); }

        void put(long main, long sub) {
            if (open().isEmpty()) meta.get(gens.size() - 1)[0] = main;
            open().add(new long[] {main, sub});
            meta.get(gens.size() - 1)[1]++;
        }

        boolean tombstone(long main, long sub) {
            if (open().isEmpty()) return false;
            open().add(new long[] {main, sub});
            meta.get(gens.size() - 1)[1]++;
            gens.add(new ArrayList<>());
            meta.add(new long[2]);
            return true;
        }

        KeyIndex.Visible get(long at) {
            for (int g = gens.size() - 1; g >= 0; g--) {
                List<long[]> revs = gens.get(g);
                boolean closed = g < gens.size() - 1;
                if (revs.isEmpty()) continue;
                if (closed && revs.get(revs.size() - 1)[0] <= at) return null;
                if (revs.get(0)[0] <= at) {
                    int n = -1;
                    for (int i = 0; i < revs.size(); i++) if (revs.get(i)[0] <= at) n = i;
                    long ver = meta.get(g)[1] - (revs.size() - 1 - n);
                    return new KeyIndex.Visible(revs.get(n)[0], revs.get(n)[1], meta.get(g)[0], ver);
                }
            }
            return null;
        }

        void compact(long at, List<String> removed) {
            while (gens.size() > 1) {
                List<long[]> revs = gens.get(0);
                long tomb = revs.get(revs.size() - 1)[0];
                if (tomb > at) break;
                if (tomb == at) {
                    while (revs.size() > 1) removed.add(show(revs.remove(0), false));
                    return;
                }
                for (int i = 0; i < revs.size(); i++) removed.add(show(revs.get(i), i == revs.size() - 1));
                gens.remove(0);
                meta.remove(0);
            }
            List<long[]> revs = gens.get(0);
            int n = -1;
            for (int i = 0; i < revs.size(); i++) if (revs.get(i)[0] <= at) n = i;
            for (int i = 0; i < n; i++) removed.add(show(revs.remove(0), false));
        }

        boolean has(long main, long sub) {
            for (List<long[]> revs : gens) for (long[] r : revs) if (r[0] == main && r[1] == sub) return true;
            return false;
        }

        List<String> all() {
            List<String> out = new ArrayList<>();
            for (int g = 0; g < gens.size(); g++) {
                List<long[]> revs = gens.get(g);
                for (int i = 0; i < revs.size(); i++) out.add(show(revs.get(i), g < gens.size() - 1 && i == revs.size() - 1));
            }
            return out;
        }

        boolean isEmpty() { return gens.size() == 1 && gens.get(0).isEmpty(); }
    }

    private static String show(long[] r, boolean tomb) { return show(r[0], r[1], tomb); }

    private static String show(long main, long sub, boolean tomb) { return main + "/" + sub + (tomb ? "t" : ""); }

    @Test
    void packedLayoutMatchesReference() {
        String fixed = System.getProperty("mvcc.keyIndexSeed");
        long first = fixed != null ? Long.parseLong(fixed) : 1;
        int seeds = fixed != null ? 1 : 200;
        for (long seed = first; seed < first + seeds; seed++) {
            try {
                run(seed);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " failed; replay: mvn -pl mvcc test -Dtest=KeyIndexTest -Dmvcc.keyIndexSeed=" + seed, e);
            }
        }
    }

    private static void run(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        KeyIndex ki = new KeyIndex(new byte[] {1});
        Ref ref = new Ref();
        long rev = 1;
        long compacted = 0;
        for (int step = 0; step < 200; step++) {
            int op = rnd.nextInt(10);
            if (op < 6) {
                // One revision with 1-3 changes of this key: put, put+delete, delete+put (a from-key delete then a put).
                rev++;
                int changes = 1 + rnd.nextInt(3);
                for (int sub = 0; sub < changes; sub++) {
                    long s = rnd.nextInt(4) == 0 ? sub + rnd.nextInt(100) : sub; // other keys' changes may precede
                    if (sub > 0 && s <= lastSubAt(ref, rev)) s = lastSubAt(ref, rev) + 1;
                    if (rnd.nextBoolean()) {
                        ki.put(rev, s);
                        ref.put(rev, s);
                    } else {
                        assertEquals(ref.tombstone(rev, s), ki.tombstone(rev, s));
                    }
                }
            } else if (op < 8) {
                long at = compacted + 1 + rnd.nextInt((int) Math.max(1, rev - compacted));
                if (at > rev) continue;
                List<String> a = new ArrayList<>(), b = new ArrayList<>();
                ref.compact(at, a);
                ki.compact(at, (main, sub, tomb) -> b.add(show(main, sub, tomb)));
                assertEquals(a, b, "removed at compaction " + at);
                compacted = at;
            }
            for (long at = compacted; at <= rev + 1; at++) assertEquals(ref.get(at), ki.get(at), "get(" + at + ")");
            List<String> all = new ArrayList<>();
            ki.forEachRevision((main, sub, tomb) -> all.add(show(main, sub, tomb)));
            assertEquals(ref.all(), all);
            assertEquals(ref.isEmpty(), ki.isEmpty());
            assertEquals(all.size(), ki.revisionCount());
            if (step % 10 != 0) continue;
            for (long main = compacted; main <= rev; main++) {
                for (long sub = 0; sub < 4; sub++) assertEquals(ref.has(main, sub), ki.has(main, sub), "has " + main + "/" + sub);
            }
        }
    }

    private static long lastSubAt(Ref ref, long rev) {
        long last = -1;
        for (List<long[]> revs : ref.gens) for (long[] r : revs) if (r[0] == rev) last = Math.max(last, r[1]);
        return last;
    }
}
