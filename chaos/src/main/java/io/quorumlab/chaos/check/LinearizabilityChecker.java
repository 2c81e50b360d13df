package io.quorumlab.chaos.check;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks that a KV history is linearizable against {@link KvModel}, in the style of Wing &amp; Gong
 * with Lowe's memoization (as Porcupine does): depth-first over which pending operation takes effect
 * next, remembering every (set of linearized operations, model state) already explored.
 *
 * <p>Keys touched together by some operation (a multi-key txn) form one partition; partitions are
 * checked independently, which is sound because linearizability is local and the model's only
 * cross-key quantity, the global revision, is checked separately over the whole history
 * ({@link #checkRevisions}). A search that exceeds its step budget reports "unknown", never hangs.
 *
 * <p>Lost-answer operations are where the search space comes from; three rules keep it small, each
 * complete (a linearization exists iff the pruned search finds one; SearchPruningTest checks this
 * against an exhaustive search): interchangeable lost answers are taken in invocation order
 * ({@link #earlierTwins}), one is never taken where it would change nothing ({@link #withoutNoOps}),
 * and in each configuration definite operations are tried before lost-answer ones.
 */
public final class LinearizabilityChecker {
    /** Search steps (operations tried) allowed per partition before the answer is "unknown". */
    public static final long DEFAULT_BUDGET = 2_000_000;
    /** Cap on the operations listed around a violation. */
    private static final int EXCERPT_OPS = 10;

    public enum Verdict { OK, VIOLATION, UNKNOWN }

    /** One partition's answer; {@code detail} explains a violation or an unknown. */
    public record PartitionResult(List<String> keys, int ops, Verdict verdict, long steps, String detail) {}

    /** The whole history's answer. */
    public record Outcome(int ops, int ambiguous, List<PartitionResult> partitions, List<String> revisionViolations) {
        public Verdict verdict() {
            if (!revisionViolations.isEmpty()) return Verdict.VIOLATION;
            Verdict v = Verdict.OK;
            for (PartitionResult p : partitions) {
                if (p.verdict() == Verdict.VIOLATION) return Verdict.VIOLATION;
                if (p.verdict() == Verdict.UNKNOWN) v = Verdict.UNKNOWN;
            }
            return v;
        }

        public List<String> violations() {
            List<String> out = new ArrayList<>(revisionViolations);
            for (PartitionResult p : partitions) if (p.verdict() == Verdict.VIOLATION) out.add("keys " + p.keys() + ": " + p.detail());
            return out;
        }

        public List<String> unknowns() {
            List<String> out = new ArrayList<>();
            for (PartitionResult p : partitions) if (p.verdict() == Verdict.UNKNOWN) out.add("keys " + p.keys() + ": " + p.detail());
            return out;
        }
    }

    private LinearizabilityChecker() {}

    public static Outcome check(List<KvOp> history) {
        return check(history, DEFAULT_BUDGET);
    }

    public static Outcome check(List<KvOp> history, long budgetPerPartition) {
        int ambiguous = 0;
        for (KvOp op : history) if (op.ambiguous()) ambiguous++;
        List<PartitionResult> results = new ArrayList<>();
        for (Map.Entry<List<String>, List<KvOp>> e : partition(history).entrySet()) {
            results.add(checkPartition(e.getKey(), e.getValue(), budgetPerPartition));
        }
        return new Outcome(history.size(), ambiguous, results, checkRevisions(history));
    }

    /** Groups operations by connected keys (union-find over the keys each operation touches). */
    static Map<List<String>, List<KvOp>> partition(List<KvOp> history) {
        Map<String, String> parent = new HashMap<>();
        for (KvOp op : history) {
            List<String> ks = op.keys();
            for (String k : ks) parent.putIfAbsent(k, k);
            for (int i = 1; i < ks.size(); i++) union(parent, ks.get(0), ks.get(i));
        }
        Map<String, List<String>> keysOf = new TreeMap<>();
        for (String k : parent.keySet()) keysOf.computeIfAbsent(find(parent, k), x -> new ArrayList<>()).add(k);
        Map<String, List<KvOp>> opsOf = new HashMap<>();
        for (KvOp op : history) {
            if (op.keys().isEmpty()) continue;
            opsOf.computeIfAbsent(find(parent, op.keys().get(0)), x -> new ArrayList<>()).add(op);
        }
        Map<List<String>, List<KvOp>> out = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : keysOf.entrySet()) {
            List<String> ks = e.getValue();
            ks.sort(null);
            out.put(List.copyOf(ks), opsOf.getOrDefault(e.getKey(), List.of()));
        }
        return out;
    }

    private static String find(Map<String, String> parent, String k) {
        String p = parent.get(k);
        while (!p.equals(k)) {
            String gp = parent.get(p);
            parent.put(k, gp);
            k = p;
            p = gp;
        }
        return k;
    }

    private static void union(Map<String, String> parent, String a, String b) {
        String ra = find(parent, a), rb = find(parent, b);
        if (ra.equals(rb)) return;
        if (ra.compareTo(rb) < 0) parent.put(rb, ra);
        else parent.put(ra, rb);
    }

    /** An entry of the time-ordered call/return list; a lost answer has no return entry. */
    private static final class Entry {
        final int op;
        final boolean call;
        final long time;
        Entry match;
        Entry prev;
        Entry next;

        Entry(int op, boolean call, long time) {
            this.op = op;
            this.call = call;
            this.time = time;
        }
    }

    /** A linearized operation: the configuration before it, its other choices, and the pass that took it. */
    private record Frame(Entry entry, KvModel.State before, List<KvModel.State> choices, int nextChoice, boolean lostPass) {}

    private record CacheKey(long[] linearized, KvModel.State state, int hash) {
        static CacheKey of(long[] bits, KvModel.State s) {
            return new CacheKey(bits.clone(), s, 31 * Arrays.hashCode(bits) + s.hashCode());
        }

        @Override public int hashCode() {
            return hash;
        }

        @Override public boolean equals(Object o) {
            return o instanceof CacheKey c && c.hash == hash && c.state.equals(state) && Arrays.equals(c.linearized, linearized);
        }
    }

    static PartitionResult checkPartition(List<String> keys, List<KvOp> ops, long budget) {
        Set<String> observed = observedValues(ops);
        KvModel model = new KvModel(keys, observed);
        int n = ops.size();
        int[] earlierTwin = earlierTwins(ops, observed);
        List<Entry> entries = new ArrayList<>(2 * n);
        int definite = 0;
        for (int i = 0; i < n; i++) {
            KvOp op = ops.get(i);
            Entry call = new Entry(i, true, op.invokeNanos());
            entries.add(call);
            if (!op.ambiguous()) {
                Entry ret = new Entry(i, false, op.returnNanos());
                call.match = ret;
                entries.add(ret);
                definite++;
            }
        }
        // At equal times calls come first: touching intervals count as concurrent (the permissive reading).
        entries.sort(Comparator.comparingLong((Entry e) -> e.time).thenComparing(e -> !e.call));
        Entry head = new Entry(-1, true, Long.MIN_VALUE);
        Entry last = head;
        for (Entry e : entries) {
            last.next = e;
            e.prev = last;
            last = e;
        }
        if (definite == 0) return new PartitionResult(keys, n, Verdict.OK, 0, "");

        long[] bits = new long[(n + 63) / 64];
        Set<CacheKey> cache = new HashSet<>();
        ArrayDeque<Frame> stack = new ArrayDeque<>();
        KvModel.State state = model.initial();
        int linearizedDefinite = 0;
        int bestDepth = -1;
        String bestFailure = "";
        long steps = 0;
        Entry entry = head.next;
        // Each configuration is tried in two passes over the calls before the first pending return:
        // definite operations first, then lost-answer ones. The order changes nothing of what the
        // search can reach (every candidate of a configuration is still tried before it is given up),
        // only what it tries first: "the lost answers never took effect" is the common explanation,
        // and taking lost-answer writes eagerly sent the search into large dead subtrees first.
        boolean lostPass = false;
        while (true) {
            if (entry == null) {
                // Only calls of lost-answer operations remain unlinked: they need not have happened.
                return new PartitionResult(keys, n, Verdict.OK, steps, "");
            }
            if (++steps > budget) {
                return new PartitionResult(keys, n, Verdict.UNKNOWN, steps, "search budget of " + budget + " steps exceeded with "
                        + linearizedDefinite + "/" + definite + " definite operations placed");
            }
            if (entry.call) {
                KvOp op = ops.get(entry.op);
                if (op.ambiguous() != lostPass) {
                    entry = entry.next;
                    continue;
                }
                int twin = earlierTwin[entry.op];
                if (twin >= 0 && !isSet(bits, twin)) {
                    // Interchangeable with an earlier-invoked lost-answer operation: that one goes first.
                    entry = entry.next;
                    continue;
                }
                List<KvModel.State> choices = model.step(state, op);
                if (op.ambiguous()) choices = withoutNoOps(choices, state);
                int taken = tryChoices(entry, state, choices, 0, bits, cache, stack, lostPass);
                if (taken >= 0) {
                    state = choices.get(taken);
                    if (!op.ambiguous()) linearizedDefinite++;
                    entry = head.next;
                    lostPass = false;
                } else {
                    entry = entry.next;
                }
                continue;
            }
            // A return whose operation is not yet linearized: nothing before it can go first any more.
            if (!lostPass) {
                lostPass = true;
                entry = head.next;
                continue;
            }
            if (linearizedDefinite > bestDepth) {
                bestDepth = linearizedDefinite;
                bestFailure = explain(model, ops, entry.op, state, linearizedDefinite);
            }
            boolean resumed = false;
            while (!stack.isEmpty()) {
                Frame f = stack.pop();
                KvOp op = ops.get(f.entry().op);
                state = f.before();
                if (!op.ambiguous()) linearizedDefinite--;
                unlift(f.entry());
                clear(bits, f.entry().op);
                int taken = tryChoices(f.entry(), state, f.choices(), f.nextChoice(), bits, cache, stack, f.lostPass());
                if (taken >= 0) {
                    state = f.choices().get(taken);
                    if (!op.ambiguous()) linearizedDefinite++;
                    entry = head.next;
                    lostPass = false;
                } else {
                    entry = f.entry().next;
                    lostPass = f.lostPass();
                }
                resumed = true;
                break;
            }
            if (!resumed) return new PartitionResult(keys, n, Verdict.VIOLATION, steps, bestFailure);
        }
    }

    /**
     * A lost-answer operation's choices less those that leave the state as it is (a failed compare
     * whose other branch only reads, a delete of an absent key). Taking such a choice is never needed:
     * in any linearization that has it, dropping the operation there leaves every later state the same,
     * and a lost-answer operation has no return to keep it in the order, so the shorter order is a
     * linearization too ("it never happened"). Without this, every subset of the pending no-op
     * operations is a distinct memo entry for one and the same state: 2^k configurations.
     */
    static List<KvModel.State> withoutNoOps(List<KvModel.State> choices, KvModel.State state) {
        if (!choices.contains(state)) return choices;
        List<KvModel.State> out = new ArrayList<>(choices.size());
        for (KvModel.State c : choices) if (!c.equals(state)) out.add(c);
        return out;
    }

    /** Takes the first choice from {@code from} on that leads to an unexplored configuration; -1 if none. */
    private static int tryChoices(Entry entry, KvModel.State before, List<KvModel.State> choices, int from, long[] bits,
                                  Set<CacheKey> cache, ArrayDeque<Frame> stack, boolean lostPass) {
        set(bits, entry.op);
        for (int c = from; c < choices.size(); c++) {
            if (cache.add(CacheKey.of(bits, choices.get(c)))) {
                lift(entry);
                stack.push(new Frame(entry, before, choices, c + 1, lostPass));
                return c;
            }
        }
        clear(bits, entry.op);
        return -1;
    }

    private static void lift(Entry e) {
        e.prev.next = e.next;
        if (e.next != null) e.next.prev = e.prev;
        Entry m = e.match;
        if (m != null) {
            m.prev.next = m.next;
            if (m.next != null) m.next.prev = m.prev;
        }
    }

    private static void unlift(Entry e) {
        Entry m = e.match;
        if (m != null) {
            m.prev.next = m;
            if (m.next != null) m.next.prev = m;
        }
        e.prev.next = e;
        if (e.next != null) e.next.prev = e;
    }

    /** "key=value" for every value an answer showed (get, prev_kv) or a compare named. */
    static Set<String> observedValues(List<KvOp> ops) {
        Set<String> out = new HashSet<>();
        for (KvOp op : ops) {
            for (KvOp.Cond c : op.compare()) if (c.target() == KvOp.Target.VALUE) out.add(c.key() + "=" + c.value());
            if (op.result() == null) continue;
            List<KvOp.Step> branch = op.result().succeeded() ? op.then() : op.otherwise();
            for (int i = 0; i < branch.size() && i < op.result().observed().size(); i++) {
                KvOp.Kv kv = op.result().observed().get(i).kv();
                if (kv != null) out.add(branch.get(i).key() + "=" + kv.value());
            }
        }
        return out;
    }

    /**
     * For each lost-answer operation, the previous one (by invocation) that is identical up to values
     * nobody observed, else -1. Such twins are interchangeable in any linearization, so the search
     * only ever takes the earliest-invoked untaken one: k of m twins are explored once, not C(m, k) times.
     */
    static int[] earlierTwins(List<KvOp> ops, Set<String> observed) {
        int[] twin = new int[ops.size()];
        Arrays.fill(twin, -1);
        Integer[] order = new Integer[ops.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingLong((Integer i) -> ops.get(i).invokeNanos()).thenComparing(i -> i));
        Map<String, Integer> lastOfClass = new HashMap<>();
        for (int i : order) {
            KvOp op = ops.get(i);
            if (!op.ambiguous()) continue;
            String sig = op.form() + "|" + op.compare() + "|" + shape(op.then(), observed) + "|" + shape(op.otherwise(), observed);
            Integer prev = lastOfClass.put(sig, i);
            if (prev != null) twin[i] = prev;
        }
        return twin;
    }

    private static String shape(List<KvOp.Step> steps, Set<String> observed) {
        StringBuilder sb = new StringBuilder();
        for (KvOp.Step s : steps) {
            sb.append(s.kind()).append(' ').append(s.key());
            if (s.kind() == KvOp.StepKind.PUT) {
                sb.append('=').append(observed.contains(s.key() + "=" + s.value()) ? s.value() : "?").append(s.prevKv() ? "+prev" : "");
            }
            sb.append(';');
        }
        return sb.toString();
    }

    private static boolean isSet(long[] bits, int i) {
        return (bits[i >>> 6] & (1L << (i & 63))) != 0;
    }

    private static void set(long[] bits, int i) {
        bits[i >>> 6] |= 1L << (i & 63);
    }

    private static void clear(long[] bits, int i) {
        bits[i >>> 6] &= ~(1L << (i & 63));
    }

    private static String explain(KvModel model, List<KvOp> ops, int stuck, KvModel.State state, int placed) {
        KvOp op = ops.get(stuck);
        StringBuilder sb = new StringBuilder();
        sb.append("no linearization: after ").append(placed).append(" definite operations (state ").append(model.describe(state))
                .append(") this one cannot take effect: ").append(op);
        sb.append("; concurrent or just before:");
        int shown = 0;
        for (int i = 0; i < ops.size() && shown < EXCERPT_OPS; i++) {
            KvOp o = ops.get(i);
            if (i == stuck) continue;
            long lo = op.invokeNanos() - 200_000_000L;
            if (o.returnNanos() >= lo && o.invokeNanos() <= op.returnNanos()) {
                sb.append("\n    ").append(o);
                shown++;
            }
        }
        return sb.toString();
    }

    /**
     * Whole-history revision rules the per-partition model cannot see: definite writes have distinct
     * revisions, and an operation invoked after another returned has a header revision at least as
     * high (strictly higher if it wrote) — revisions are one global sequence.
     */
    static List<String> checkRevisions(List<KvOp> history) {
        List<String> out = new ArrayList<>();
        Map<Long, KvOp> writers = new HashMap<>();
        List<KvOp> definite = new ArrayList<>();
        for (KvOp op : history) {
            if (op.ambiguous()) continue;
            definite.add(op);
            if (op.writtenKeys().isEmpty()) continue;
            KvOp other = writers.putIfAbsent(op.result().revision(), op);
            if (other != null) out.add("two writes at revision " + op.result().revision() + ":\n    " + other + "\n    " + op);
        }
        List<KvOp> byInvoke = new ArrayList<>(definite);
        byInvoke.sort(Comparator.comparingLong(KvOp::invokeNanos));
        List<KvOp> byReturn = new ArrayList<>(definite);
        byReturn.sort(Comparator.comparingLong(KvOp::returnNanos));
        int r = 0;
        KvOp highest = null;
        for (KvOp b : byInvoke) {
            while (r < byReturn.size() && byReturn.get(r).returnNanos() < b.invokeNanos()) {
                KvOp a = byReturn.get(r++);
                if (highest == null || a.result().revision() > highest.result().revision()) highest = a;
            }
            if (highest == null) continue;
            long h = highest.result().revision();
            boolean wrote = !b.writtenKeys().isEmpty();
            if (wrote ? b.result().revision() <= h : b.result().revision() < h) {
                out.add("revision went back in real time: " + b + "\n    was invoked after " + highest + " returned");
            }
        }
        return out;
    }
}
