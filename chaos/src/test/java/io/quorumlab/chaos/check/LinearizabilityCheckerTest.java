package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.check.KvOp.Cond;
import io.quorumlab.chaos.check.KvOp.Kv;
import io.quorumlab.chaos.check.KvOp.Observed;
import io.quorumlab.chaos.check.KvOp.Relation;
import io.quorumlab.chaos.check.KvOp.Result;
import io.quorumlab.chaos.check.KvOp.Step;
import io.quorumlab.chaos.check.KvOp.Target;
import io.quorumlab.chaos.check.LinearizabilityChecker.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Hand-built histories: valid concurrent ones (with lost answers) must pass, and each kind of
 * broken one must be caught. Times are in arbitrary units; revisions start at 1 (empty store).
 */
class LinearizabilityCheckerTest {
    private final List<KvOp> h = new ArrayList<>();

    private static Result put(long rev) {
        return new Result(rev, true, List.of(Observed.NONE));
    }

    private static Result got(long rev, String value, long mod, long version) {
        return new Result(rev, true, List.of(new Observed(value == null ? null : new Kv(value, mod, version), 0)));
    }

    private static Result deleted(long rev, long n) {
        return new Result(rev, true, List.of(new Observed(null, n)));
    }

    private void put(long from, long to, String key, String value, Result r) {
        h.add(KvOp.put(h.size(), 0, from, r == null ? Long.MAX_VALUE : to, key, value, r));
    }

    private void get(long from, long to, String key, Result r) {
        h.add(KvOp.get(h.size(), 0, from, to, key, r));
    }

    private void del(long from, long to, String key, Result r) {
        h.add(KvOp.delete(h.size(), 0, from, r == null ? Long.MAX_VALUE : to, key, r));
    }

    private void txn(long from, long to, List<Cond> cmp, List<Step> then, List<Step> otherwise, Result r) {
        h.add(new KvOp(h.size(), 0, "", from, r == null ? Long.MAX_VALUE : to, KvOp.Form.TXN, cmp, then, otherwise, r, null));
    }

    private Verdict verdict() {
        return LinearizabilityChecker.check(h).verdict();
    }

    private void assertCaught() {
        LinearizabilityChecker.Outcome o = LinearizabilityChecker.check(h);
        assertEquals(Verdict.VIOLATION, o.verdict(), "history should be rejected: " + h);
        assertTrue(!o.violations().isEmpty() && !o.violations().get(0).isBlank());
    }

    @Test
    void sequentialHistoryPasses() {
        put(0, 1, "a", "x1", put(2));
        get(2, 3, "a", got(2, "x1", 2, 1));
        put(4, 5, "a", "x2", put(3));
        get(6, 7, "a", got(3, "x2", 3, 2));
        del(8, 9, "a", deleted(4, 1));
        get(10, 11, "a", got(4, null, 0, 0));
        del(12, 13, "a", deleted(4, 0)); // nothing to delete: no new revision
        assertEquals(Verdict.OK, verdict());
    }

    @Test
    void concurrentWritesMayLandInEitherOrder() {
        put(0, 10, "a", "x1", put(3));
        put(0, 10, "a", "x2", put(2));
        get(5, 11, "a", got(3, "x1", 3, 2)); // x2 went first (rev 2), then x1 (rev 3)
        assertEquals(Verdict.OK, verdict());
    }

    @Test
    void staleReadIsCaught() {
        put(0, 1, "a", "x1", put(2));
        put(2, 3, "a", "x2", put(3));
        get(4, 5, "a", got(2, "x1", 2, 1)); // a follower served x1 after x2 was acknowledged
        assertCaught();
    }

    @Test
    void readGoingBackInTimeIsCaught() {
        put(0, 10, "a", "x1", put(2));
        put(0, 10, "a", "x2", put(3));
        get(11, 12, "a", got(3, "x2", 3, 2));
        get(13, 14, "a", got(3, "x1", 2, 1));
        assertCaught();
    }

    @Test
    void lostAcknowledgedWriteIsCaught() {
        put(0, 1, "a", "x1", put(2));
        put(2, 3, "a", "x2", put(3));
        // x2 is there but as the first version: x1 was lost (e.g. not fsynced before a crash).
        get(4, 5, "a", got(3, "x2", 3, 1));
        assertCaught();
        h.clear();
        put(0, 1, "a", "x1", put(2));
        get(4, 5, "a", got(5, null, 0, 0));
        assertCaught();
    }

    @Test
    void wrongModRevisionIsCaught() {
        put(0, 1, "a", "x1", put(2));
        get(2, 3, "a", got(4, "x1", 3, 1));
        assertCaught();
    }

    @Test
    void lostAnswerMayHaveHappenedLateOrNever() {
        put(0, 1, "a", "x0", put(2));
        put(2, 0, "a", "x1", null); // timed out: unknown
        get(3, 4, "a", got(2, "x0", 2, 1));  // not yet applied...
        get(5, 6, "a", got(9, "x1", 7, 2));  // ...applied later, at revision 7
        assertEquals(Verdict.OK, verdict());
        h.clear();
        put(0, 1, "a", "x0", put(2));
        put(2, 0, "a", "x1", null);
        get(5, 6, "a", got(9, "x0", 2, 1)); // never applied
        assertEquals(Verdict.OK, verdict());
    }

    @Test
    void lostAnswerCannotBeUndone() {
        put(0, 1, "a", "x0", put(2));
        put(2, 0, "a", "x1", null);
        get(3, 4, "a", got(5, "x1", 5, 2));
        get(5, 6, "a", got(6, "x0", 2, 1)); // back to x0 without a write
        assertCaught();
    }

    @Test
    void writeCannotTakeEffectBeforeItWasInvoked() {
        get(0, 1, "a", got(1, "x1", 2, 1));
        put(2, 3, "a", "x1", put(2));
        assertCaught();
    }

    @Test
    void failedCompareIsAnAnswer() {
        put(0, 1, "a", "x1", put(2));
        Cond modIs5 = new Cond("a", Target.MOD, Relation.EQUAL, null, 5);
        txn(2, 3, List.of(modIs5), List.of(Step.put("a", "x2")), List.of(Step.get("a")),
                new Result(2, false, List.of(new Observed(new Kv("x1", 2, 1), 0))));
        Cond modIs2 = new Cond("a", Target.MOD, Relation.EQUAL, null, 2);
        txn(4, 5, List.of(modIs2), List.of(Step.put("a", "x3")), List.of(Step.get("a")), new Result(3, true, List.of(Observed.NONE)));
        get(6, 7, "a", got(3, "x3", 3, 2));
        assertEquals(Verdict.OK, verdict());
    }

    @Test
    void compareThatCouldNotHoldIsCaught() {
        put(0, 1, "a", "x1", put(2));
        Cond valueIsX0 = new Cond("a", Target.VALUE, Relation.EQUAL, "x0", 0);
        txn(2, 3, List.of(valueIsX0), List.of(Step.delete("a")), List.of(Step.get("a")), new Result(3, true, List.of(new Observed(null, 1))));
        assertCaught();
        h.clear();
        // etcd: a value compare on a missing key fails, whatever the value.
        txn(0, 1, List.of(new Cond("a", Target.VALUE, Relation.NOT_EQUAL, "x", 0)), List.of(Step.put("a", "x1")), List.of(),
                new Result(2, true, List.of(Observed.NONE)));
        assertCaught();
        h.clear();
        put(0, 1, "a", "x1", put(2));
        Cond versionIs0 = new Cond("a", Target.VERSION, Relation.EQUAL, null, 0);
        txn(2, 3, List.of(versionIs0), List.of(Step.put("a", "x2")), List.of(Step.get("a")), new Result(3, true, List.of(Observed.NONE)));
        assertCaught();
    }

    @Test
    void casOnLostAnswerRevisionResolvesIt() {
        put(0, 0, "a", "x1", null);
        Cond modIs4 = new Cond("a", Target.MOD, Relation.EQUAL, null, 4);
        txn(5, 6, List.of(modIs4), List.of(Step.put("a", "x2")), List.of(), new Result(5, true, List.of(Observed.NONE)));
        get(7, 8, "a", got(5, "x2", 5, 2));
        assertEquals(Verdict.OK, verdict());
        h.clear();
        put(0, 0, "a", "x1", null);
        txn(5, 6, List.of(new Cond("a", Target.MOD, Relation.EQUAL, null, 4)), List.of(Step.put("a", "x2")), List.of(),
                new Result(5, true, List.of(Observed.NONE)));
        put(7, 8, "a", "x3", new Result(6, true, List.of(new Observed(new Kv("x2", 5, 2), 0)))); // prevKv
        assertEquals(Verdict.OK, verdict());
    }

    @Test
    void tornMultiKeyTxnIsCaught() {
        txn(0, 1, List.of(), List.of(Step.put("pa", "v1"), Step.put("pb", "v1")), List.of(),
                new Result(2, true, List.of(Observed.NONE, Observed.NONE)));
        txn(2, 10, List.of(), List.of(Step.put("pa", "v2"), Step.put("pb", "v2")), List.of(),
                new Result(3, true, List.of(Observed.NONE, Observed.NONE)));
        txn(3, 9, List.of(), List.of(Step.get("pa"), Step.get("pb")), List.of(),
                new Result(3, true, List.of(new Observed(new Kv("v2", 3, 2), 0), new Observed(new Kv("v1", 2, 1), 0))));
        assertCaught();
    }

    @Test
    void revisionsMustGrowInRealTimeAcrossKeys() {
        put(0, 1, "a", "x1", put(5));
        put(2, 3, "b", "y1", put(4)); // invoked after a's write returned, yet an older revision
        assertCaught();
        h.clear();
        put(0, 1, "a", "x1", put(5));
        put(2, 3, "b", "y1", put(5));
        assertCaught();
        h.clear();
        put(0, 1, "a", "x1", put(5));
        get(2, 3, "b", got(4, null, 0, 0)); // a read that ignores an acknowledged write elsewhere
        assertCaught();
    }

    @Test
    void searchStopsAtItsBudgetWithUnknown() {
        // Many concurrent lost-answer writes and reads that pin a late value: a big search space.
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 40; i++) put(i, 0, "a", "x" + i, null);
        for (int i = 0; i < 40; i++) get(100 + 2L * i, 101 + 2L * i, "a", got(200, "x" + r.nextInt(40), 150, 30));
        LinearizabilityChecker.Outcome o = LinearizabilityChecker.check(h, 5_000);
        assertEquals(Verdict.UNKNOWN, o.verdict(), o.toString());
        assertEquals(1, o.unknowns().size());
    }
}
