package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.check.KvOp.Cond;
import io.quorumlab.chaos.check.KvOp.Kv;
import io.quorumlab.chaos.check.KvOp.Observed;
import io.quorumlab.chaos.check.KvOp.Relation;
import io.quorumlab.chaos.check.KvOp.Result;
import io.quorumlab.chaos.check.KvOp.Step;
import io.quorumlab.chaos.check.KvOp.StepKind;
import io.quorumlab.chaos.check.KvOp.Target;
import io.quorumlab.chaos.check.LinearizabilityChecker.PartitionResult;
import io.quorumlab.chaos.check.LinearizabilityChecker.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The search's prunings (lost-answer no-ops skipped, lost-answer twins taken in invocation order,
 * memoization) decide exactly what an exhaustive search decides, and keep the search small where
 * the unpruned one blew up: a leaderless spell after a crash (seed 101571 of SimulationCheckTest)
 * left 28 lost-answer operations on one key, most of them compares that fail and only read.
 */
class SearchPruningTest {
    static final String K = "a";

    private final List<KvOp> h = new ArrayList<>();

    private void add(long from, long to, KvOp.Form form, List<Cond> cmp, List<Step> then, List<Step> otherwise, Result r) {
        h.add(new KvOp(h.size(), 0, "", from, r == null ? Long.MAX_VALUE : to, form, cmp, then, otherwise, r, null));
    }

    private static Result one(long rev, boolean ok, Observed o) {
        return new Result(rev, ok, List.of(o));
    }

    private static Observed kv(String v, long mod, long version) {
        return new Observed(new Kv(v, mod, version), 0);
    }

    private static Cond modIs(long n) {
        return new Cond(K, Target.MOD, Relation.EQUAL, null, n);
    }

    private PartitionResult check(long budget) {
        return LinearizabilityChecker.checkPartition(List.of(K), h, budget);
    }

    /**
     * The shape of seed 101571: acknowledged puts v0..v7 (revisions 2..9), then lost-answer operations
     * on the key — CAS txns on stale revisions and value compares on overwritten values (each a no-op
     * wherever it runs: the compare fails and the else branch only reads), a put, a delete, a
     * version-compare put — and a read. Without the no-op pruning every subset of the 20 no-ops is a
     * distinct memo entry for the same state (2^20 of them): the search ran out of budget.
     */
    private void leaderlessSpell(Observed finalRead, long finalRev) {
        for (int i = 0; i < 8; i++) {
            add(2L * i, 2L * i + 1, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v" + i)), List.of(), one(2 + i, true, Observed.NONE));
        }
        // The writes first: the search tries them first, and each dead end under them used to be
        // explored once per subset of the no-ops.
        add(17, 0, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "lostput")), List.of(), null);
        add(18, 0, KvOp.Form.DELETE, List.of(), List.of(Step.delete(K)), List.of(), null);
        add(19, 0, KvOp.Form.TXN, List.of(new Cond(K, Target.VERSION, Relation.GREATER, null, 1)),
                List.of(new Step(StepKind.PUT, K, "lostv", true)), List.of(Step.get(K)), null);
        for (int i = 0; i < 20; i++) {
            Cond stale = i < 7 ? modIs(2 + i) : new Cond(K, Target.VALUE, Relation.EQUAL, i < 14 ? "v" + (i - 7) : "gone" + i, 0);
            add(20 + i, 0, KvOp.Form.TXN, List.of(stale), List.of(Step.put(K, "lost" + i)), List.of(Step.get(K)), null);
        }
        add(50, 51, KvOp.Form.GET, List.of(), List.of(Step.get(K)), List.of(), one(finalRev, true, finalRead));
    }

    @Test
    void lostAnswerNoOpsDoNotMultiplyTheSearch() {
        leaderlessSpell(kv("v7", 9, 8), 9);
        PartitionResult r = check(100_000);
        assertEquals(Verdict.OK, r.verdict(), r.toString());
        assertTrue(r.steps() < 20_000, "steps: " + r.steps());
    }

    @Test
    void violationsAmongLostAnswerNoOpsAreStillCaught() {
        // Stale read: v6 was overwritten by the acknowledged put of v7, and no lost write writes v6.
        leaderlessSpell(kv("v6", 8, 7), 9);
        PartitionResult r = check(100_000);
        assertEquals(Verdict.VIOLATION, r.verdict(), r.toString());
        h.clear();
        // v7 at a version it never had: no lost write rewrites v7.
        leaderlessSpell(kv("v7", 9, 9), 10);
        r = check(100_000);
        assertEquals(Verdict.VIOLATION, r.verdict(), r.toString());
    }

    /**
     * Lost-answer writes of many kinds, none of which took effect: the search tries definite
     * operations first, so it finds that explanation at once instead of first exhausting every
     * order of the lost writes that the read then refutes.
     */
    @Test
    void lostWritesThatNeverTookEffectAreFoundFirst() {
        add(0, 1, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v0")), List.of(), one(2, true, Observed.NONE));
        for (int i = 0; i < 8; i++) {
            add(10 + i, 0, KvOp.Form.TXN, List.of(new Cond(K, Target.VERSION, Relation.GREATER, null, i)),
                    List.of(new Step(StepKind.PUT, K, "lost" + i, true)), List.of(Step.get(K)), null);
        }
        add(20, 0, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "lostput")), List.of(), null);
        add(21, 0, KvOp.Form.PUT, List.of(), List.of(new Step(StepKind.PUT, K, "lostprev", true)), List.of(), null);
        add(22, 0, KvOp.Form.TXN, List.of(modIs(2)), List.of(Step.put(K, "lostcas")), List.of(Step.get(K)), null);
        add(23, 0, KvOp.Form.DELETE, List.of(), List.of(Step.delete(K)), List.of(), null);
        add(30, 31, KvOp.Form.GET, List.of(), List.of(Step.get(K)), List.of(), one(2, true, kv("v0", 2, 1)));
        PartitionResult r = check(100_000);
        assertEquals(Verdict.OK, r.verdict(), r.toString());
        assertTrue(r.steps() < 1_000, "steps: " + r.steps());
        // The same read at a version only the lost writes could explain (v0 rewritten by none): caught.
        h.set(h.size() - 1, new KvOp(h.size() - 1, 0, "", 30, 31, KvOp.Form.GET, List.of(), List.of(Step.get(K)), List.of(),
                one(5, true, kv("v0", 2, 3)), null));
        r = check(1_000_000);
        assertEquals(Verdict.VIOLATION, r.verdict(), r.toString());
    }

    @Test
    void aNoOpInOneStateMayStillTakeEffectInALaterOne() {
        // B's compare fails at first (a no-op there, skipped) but holds once the lost put A has run.
        add(0, 1, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v0")), List.of(), one(2, true, Observed.NONE));
        add(2, 0, KvOp.Form.TXN, List.of(new Cond(K, Target.VALUE, Relation.EQUAL, "v2", 0)), List.of(Step.put(K, "v3")),
                List.of(Step.get(K)), null); // B
        add(3, 0, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v2")), List.of(), null); // A, invoked after B
        add(10, 11, KvOp.Form.GET, List.of(), List.of(Step.get(K)), List.of(), one(4, true, kv("v3", 4, 3)));
        assertEquals(Verdict.OK, check(100_000).verdict());
        h.clear();
        // The same read, but A invoked only after it returned: v3 cannot have been written yet.
        add(0, 1, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v0")), List.of(), one(2, true, Observed.NONE));
        add(2, 0, KvOp.Form.TXN, List.of(new Cond(K, Target.VALUE, Relation.EQUAL, "v2", 0)), List.of(Step.put(K, "v3")),
                List.of(Step.get(K)), null);
        add(12, 0, KvOp.Form.PUT, List.of(), List.of(Step.put(K, "v2")), List.of(), null);
        add(10, 11, KvOp.Form.GET, List.of(), List.of(Step.get(K)), List.of(), one(4, true, kv("v3", 4, 3)));
        assertEquals(Verdict.VIOLATION, check(100_000).verdict());
    }

    /**
     * Random small histories from a real single-key store (some answers lost, some perturbed so that
     * many are violations): the pruned search agrees with an exhaustive one on every history.
     */
    @Test
    void prunedSearchAgreesWithExhaustiveSearch() {
        long first = Long.getLong("chaos.pruneSeed", 1);
        int count = Integer.getInteger("chaos.pruneSeeds", 1500);
        int ok = 0, bad = 0;
        for (long seed = first; seed < first + count; seed++) {
            h.clear();
            generate(new SplittableRandom(seed));
            Verdict expected = exhaustive(h) ? Verdict.OK : Verdict.VIOLATION;
            PartitionResult r = check(1_000_000);
            assertEquals(expected, r.verdict(), "seed " + seed + " (replay: mvn -B -o -pl chaos -am test -Dtest=SearchPruningTest"
                    + " -Dsurefire.failIfNoSpecifiedTests=false -Dchaos.pruneSeed=" + seed + " -Dchaos.pruneSeeds=1): " + r + "\n" + h);
            if (expected == Verdict.OK) ok++;
            else bad++;
        }
        assertTrue(ok > count / 5 && bad > count / 5, "both verdicts should be common: ok=" + ok + " violations=" + bad);
    }

    // --- the generator: a real store on one key, executed at random points inside random intervals ---

    private String value;
    private long mod, version, rev;

    private void generate(SplittableRandom r) {
        value = null;
        mod = version = 0;
        rev = 1;
        int n = 4 + r.nextInt(5);
        long[] invoke = new long[n], ret = new long[n], at = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            invoke[i] = r.nextInt(60);
            ret[i] = invoke[i] + 1 + r.nextInt(25);
            at[i] = invoke[i] + r.nextLong(ret[i] - invoke[i] + 1) * 2 + 1; // odd: never ties with an endpoint (times doubled)
            invoke[i] *= 2;
            ret[i] = ret[i] * 2 + 2;
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Long.compare(at[a], at[b]));
        KvOp[] ops = new KvOp[n];
        int seq = 0;
        for (int i : order) {
            boolean lost = r.nextInt(3) == 0;
            boolean applied = !lost || r.nextBoolean();
            ops[i] = execute(i, invoke[i], ret[i], r, lost, applied, seq++);
        }
        for (KvOp op : ops) h.add(op);
        if (r.nextBoolean()) perturb(r);
    }

    /** Issues one random operation against the store; a lost one takes effect only if {@code applied}. */
    private KvOp execute(int id, long invoke, long ret, SplittableRandom r, boolean lost, boolean applied, int seq) {
        String v = "v" + seq;
        int kind = r.nextInt(6);
        List<Cond> cmp = List.of();
        List<Step> then;
        List<Step> otherwise = List.of();
        KvOp.Form form = KvOp.Form.TXN;
        if (kind == 0) {
            form = KvOp.Form.GET;
            then = List.of(Step.get(K));
        } else if (kind == 1) {
            form = KvOp.Form.PUT;
            then = List.of(new Step(StepKind.PUT, K, v, r.nextBoolean()));
        } else if (kind == 2) {
            form = KvOp.Form.DELETE;
            then = List.of(Step.delete(K));
        } else if (kind == 3) {
            cmp = List.of(modIs(r.nextInt(3) == 0 ? 0 : mod + r.nextInt(3) - 1));
            then = List.of(Step.put(K, v));
            otherwise = List.of(Step.get(K));
        } else if (kind == 4) {
            cmp = List.of(new Cond(K, Target.VALUE, Relation.EQUAL, r.nextBoolean() && value != null ? value : "v" + r.nextInt(Math.max(1, seq)), 0));
            then = List.of(Step.delete(K));
            otherwise = List.of(Step.get(K));
        } else {
            cmp = List.of(new Cond(K, Target.VERSION, r.nextBoolean() ? Relation.EQUAL : Relation.GREATER, null, r.nextInt(3)));
            then = List.of(new Step(StepKind.PUT, K, v, true));
            otherwise = List.of(Step.get(K));
        }
        Result res = null;
        if (applied) {
            boolean holds = cmp.isEmpty() || holds(cmp.get(0));
            List<Step> branch = holds ? then : otherwise;
            List<Observed> obs = new ArrayList<>();
            for (Step s : branch) obs.add(apply(s));
            res = new Result(rev, holds, obs);
        }
        return new KvOp(id, 0, "", invoke, lost ? Long.MAX_VALUE : ret, form, cmp, then, otherwise, lost ? null : res, null);
    }

    private boolean holds(Cond c) {
        if (c.target() == Target.VALUE) return value != null && value.equals(c.value());
        long x = c.target() == Target.MOD ? mod : version;
        return c.relation() == Relation.EQUAL ? x == c.number() : x > c.number();
    }

    private Observed apply(Step s) {
        Observed current = value == null ? new Observed(null, 0) : kv(value, mod, version);
        if (s.kind() == StepKind.GET) return current;
        if (s.kind() == StepKind.PUT) {
            rev++;
            version = value == null ? 1 : version + 1;
            value = s.value();
            mod = rev;
            return s.prevKv() ? current : Observed.NONE;
        }
        if (value == null) return new Observed(null, 0);
        rev++;
        value = null;
        mod = version = 0;
        return new Observed(null, 1);
    }

    /** Changes one definite answer a little: its header revision, or a read's version or mod_revision. */
    private void perturb(SplittableRandom r) {
        List<Integer> definite = new ArrayList<>();
        for (int i = 0; i < h.size(); i++) if (!h.get(i).ambiguous()) definite.add(i);
        if (definite.isEmpty()) return;
        int i = definite.get(r.nextInt(definite.size()));
        KvOp op = h.get(i);
        Result res = op.result();
        List<Observed> obs = new ArrayList<>(res.observed());
        long revision = res.revision();
        int j = 0;
        if (obs.get(j).kv() != null && r.nextBoolean()) {
            Kv kv = obs.get(j).kv();
            obs.set(j, r.nextBoolean() ? kv(kv.value(), kv.modRevision(), kv.version() + (r.nextBoolean() ? 1 : -1))
                    : kv(kv.value(), kv.modRevision() + (r.nextBoolean() ? 1 : -1), kv.version()));
        } else {
            revision += r.nextBoolean() ? 1 : -1;
        }
        h.set(i, new KvOp(op.id(), op.client(), op.member(), op.invokeNanos(), op.returnNanos(), op.form(), op.compare(), op.then(),
                op.otherwise(), new Result(revision, res.succeeded(), obs), null));
    }

    // --- the reference: every order of every subset of the lost-answer operations, no pruning ---

    static boolean exhaustive(List<KvOp> ops) {
        KvModel model = new KvModel(List.of(K), LinearizabilityChecker.observedValues(ops));
        return place(model, ops, new boolean[ops.size()], model.initial());
    }

    private static boolean place(KvModel model, List<KvOp> ops, boolean[] placed, KvModel.State s) {
        boolean allDefinite = true;
        for (int i = 0; i < ops.size(); i++) if (!placed[i] && !ops.get(i).ambiguous()) allDefinite = false;
        if (allDefinite) return true; // lost answers not placed never happened
        for (int i = 0; i < ops.size(); i++) {
            if (placed[i] || !mayGoNext(ops, placed, i)) continue;
            placed[i] = true;
            for (KvModel.State next : model.step(s, ops.get(i))) {
                if (place(model, ops, placed, next)) return true;
            }
            placed[i] = false;
        }
        return false;
    }

    /** Real time: no unplaced definite operation returned before this one was invoked. */
    private static boolean mayGoNext(List<KvOp> ops, boolean[] placed, int i) {
        for (int d = 0; d < ops.size(); d++) {
            if (d != i && !placed[d] && !ops.get(d).ambiguous() && ops.get(d).returnNanos() < ops.get(i).invokeNanos()) return false;
        }
        return true;
    }
}
