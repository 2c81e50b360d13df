package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.check.KvOp.Result;
import io.quorumlab.chaos.check.KvOp.Observed;
import io.quorumlab.chaos.check.KvOp.Step;
import io.quorumlab.chaos.check.WatchChecker.Delivery;
import io.quorumlab.chaos.check.WatchChecker.Event;
import io.quorumlab.chaos.check.WatchChecker.Session;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Valid watch histories pass; each deliberately broken one is caught, with a reason. */
class WatchCheckerTest {
    /** The writes: a=x1 @2, b=y1 @3, a and b together @4 (one txn), delete a @5. */
    private static List<KvOp> writes() {
        List<KvOp> h = new ArrayList<>();
        h.add(KvOp.put(0, 0, 1, 2, "a", "x1", new Result(2, true, List.of(Observed.NONE))));
        h.add(KvOp.put(1, 0, 3, 4, "b", "y1", new Result(3, true, List.of(Observed.NONE))));
        h.add(new KvOp(2, 1, "", 5, 6, KvOp.Form.TXN, List.of(), List.of(Step.put("a", "x2"), Step.put("b", "y2")), List.of(),
                new Result(4, true, List.of(Observed.NONE, Observed.NONE)), null));
        h.add(KvOp.delete(3, 0, 7, 8, "a", new Result(5, true, List.of(new Observed(null, 1)))));
        return h;
    }

    private static final Event A2 = Event.put("a", "x1", 2, 1);
    private static final Event B3 = Event.put("b", "y1", 3, 1);
    private static final Event A4 = Event.put("a", "x2", 4, 2);
    private static final Event B4 = Event.put("b", "y2", 4, 2);
    private static final Event A5 = Event.delete("a", 5);

    private static Delivery ev(long at, Event... es) {
        long rev = 0;
        for (Event e : es) rev = Math.max(rev, e.modRevision());
        return Delivery.events(at, rev, List.of(es));
    }

    private static Session session(int watcher, int n, long start, Delivery... ds) {
        return new Session(watcher, n, "m" + watcher, start, List.of(ds));
    }

    private static List<String> check(List<KvOp> history, Session... sessions) {
        return WatchChecker.check(List.of(sessions), history, k -> true).violations();
    }

    private static void assertCaught(String expected, List<String> violations) {
        assertTrue(!violations.isEmpty(), "should be caught: " + expected);
        assertTrue(String.join("\n", violations).contains(expected), "expected '" + expected + "' in " + violations);
    }

    @Test
    void validHistoriesPass() {
        Session one = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, B3), ev(6, A4, B4), Delivery.progress(7, 4), ev(8, A5),
                Delivery.progress(9, 5));
        // Catch-up may deliver several revisions in one response; a crash ends session 0 at revision 3
        // and session 1 resumes from 4 on another member.
        Session two = session(1, 0, 2, Delivery.created(0, 1), ev(4, A2, B3));
        Session twoResumed = session(1, 1, 4, Delivery.created(5, 3), Delivery.progress(6, 3), ev(7, A4, B4), ev(9, A5));
        assertEquals(List.of(), check(writes(), one, two, twoResumed));
    }

    @Test
    void lostAnswerWritesMayAppear() {
        List<KvOp> h = writes();
        h.add(new KvOp(4, 2, "", 9, Long.MAX_VALUE, KvOp.Form.PUT, List.of(), List.of(Step.put("c", "z1")), List.of(), null, "timeout"));
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, B3), ev(6, A4, B4), ev(8, A5),
                ev(10, Event.put("c", "z1", 6, 1)));
        assertEquals(List.of(), check(h, s));
    }

    @Test
    void duplicatedEventIsCaught() {
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(3, A2), ev(4, B3));
        assertCaught("not after the last delivered revision", check(writes(), s));
    }

    @Test
    void reorderedEventsAreCaught() {
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, B3), ev(3, A2));
        assertCaught("reordered or duplicated", check(writes(), s));
        Session within = session(0, 0, 0, Delivery.created(0, 1), Delivery.events(3, 3, List.of(B3, A2)));
        assertCaught("out of order within a response", check(writes(), within));
    }

    @Test
    void missingEventIsCaught() {
        Session full = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, B3), ev(6, A4, B4));
        Session gap = session(1, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(6, A4, B4));
        assertCaught("missed PUT b=y1", check(writes(), full, gap));
    }

    @Test
    void lostAcknowledgedWriteIsCaught() {
        // Nobody saw b=y1 at revision 3, though the watch vouched for revisions up to 4.
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(6, A4, B4));
        assertCaught("acknowledged write missing", check(writes(), s));
    }

    @Test
    void progressAheadOfEventsIsCaught() {
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), Delivery.progress(3, 4), ev(4, B3));
        assertCaught("progress ran ahead of events", check(writes(), s));
        // A progress notification vouches for everything up to its revision: the later events are then missing.
        Session quiet = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), Delivery.progress(3, 4));
        assertCaught("acknowledged write missing", check(writes(), quiet));
    }

    @Test
    void revisionSplitAcrossResponsesIsCaught() {
        Session s = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, B3), ev(6, A4), ev(6, B4));
        assertCaught("a revision split across responses", check(writes(), s));
    }

    @Test
    void resumedWatchMustContinueExactly() {
        Session first = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, B3));
        Session again = session(0, 1, 3, Delivery.created(5, 3), ev(5, B3), ev(6, A4, B4));
        assertCaught("resumed watch repeats revision 3", check(writes(), first, again));
        Session skipping = session(0, 1, 4, Delivery.created(5, 3), ev(8, A5), Delivery.progress(9, 5));
        assertCaught("acknowledged write missing from every watcher covering revision 4", check(writes(), first, skipping));
    }

    @Test
    void eventsMustComeFromIssuedWrites() {
        Session phantom = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2), ev(4, Event.put("b", "nobody", 3, 1)));
        assertCaught("disagrees with the acknowledged write", check(writes(), phantom));
        Session wrongRev = session(0, 0, 6, Delivery.created(0, 1), ev(2, Event.put("a", "x1", 6, 1)));
        assertCaught("disagrees with the answer of the write", check(writes(), wrongRev));
        Session unwritten = session(0, 0, 5, Delivery.created(0, 5), ev(2, Event.put("q", "zz", 9, 1)));
        assertCaught("carries a value nobody wrote", check(writes(), unwritten));
    }

    @Test
    void watchersMustAgree() {
        Session a = session(0, 0, 0, Delivery.created(0, 1), ev(2, A2));
        Session b = session(1, 0, 0, Delivery.created(0, 1), ev(2, Event.put("a", "x1", 2, 7)));
        assertCaught("watchers disagree", check(writes(), a, b));
    }
}
