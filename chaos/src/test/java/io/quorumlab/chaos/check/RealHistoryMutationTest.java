package io.quorumlab.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.sim.ClusterSimulation;
import io.quorumlab.chaos.sim.Scenario;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A real simulated history (a kill with unsynced-data loss included) passes both checkers, and one
 * deliberate corruption of it — a stale read, a dropped or a repeated watch response — is caught.
 */
class RealHistoryMutationTest {
    static final long SECOND = 1_000_000_000L;

    private static List<KvOp> ops;
    private static List<WatchChecker.Session> sessions;
    private static String prefix;

    private static synchronized void record() {
        if (ops != null) return;
        ClusterSimulation sim = new ClusterSimulation(ClusterSimulation.Params.dedicatedNvme(16 * SECOND, 11)
                .withWorkload(SimulationCheckTest.LIGHT));
        sim.build();
        CheckedWorkload w = new CheckedWorkload(sim.sim(), sim.members(), CheckedWorkload.Config.defaults(), "/mutation/");
        w.windowObserver = (o, s) -> {
            ops = List.copyOf(o);
            sessions = List.copyOf(s);
        };
        w.start();
        prefix = "/mutation/w0/";
        sim.schedule(new Scenario.Kill(8 * SECOND, "etcd2", 2 * SECOND));
        sim.run(null);
        CheckReport r = w.report();
        assertTrue(r.ok(), r.toString());
        assertNotNull(ops);
    }

    @Test
    void unmodifiedHistoryPasses() {
        record();
        assertTrue(ops.size() > 500, "ops: " + ops.size());
        assertEquals(LinearizabilityChecker.Verdict.OK, LinearizabilityChecker.check(ops).verdict());
        assertEquals(List.of(), WatchChecker.check(sessions, ops, k -> k.startsWith(prefix)).violations());
    }

    @Test
    void staleReadIsCaught() {
        record();
        // A get G2 that began after a write W that began after an earlier get G1 of the same key had
        // returned: answering G2 with G1's result is a stale read.
        for (KvOp g2 : ops) {
            if (g2.form() != KvOp.Form.GET || g2.ambiguous()) continue;
            String key = g2.then().get(0).key();
            for (KvOp w : ops) {
                if (w.ambiguous() || !w.writtenKeys().contains(key) || w.returnNanos() >= g2.invokeNanos()) continue;
                for (KvOp g1 : ops) {
                    if (g1.form() != KvOp.Form.GET || g1.ambiguous() || !g1.then().get(0).key().equals(key)) continue;
                    if (g1.returnNanos() >= w.invokeNanos()) continue;
                    List<KvOp> broken = new ArrayList<>(ops);
                    broken.set(broken.indexOf(g2), new KvOp(g2.id(), g2.client(), g2.member(), g2.invokeNanos(), g2.returnNanos(),
                            g2.form(), g2.compare(), g2.then(), g2.otherwise(), g1.result(), null));
                    assertEquals(LinearizabilityChecker.Verdict.VIOLATION, LinearizabilityChecker.check(broken).verdict(),
                            "stale read not caught: " + g2 + " answered like " + g1 + " though " + w + " came between");
                    return;
                }
            }
        }
        throw new AssertionError("no get/write/get triple in the history");
    }

    @Test
    void droppedOrRepeatedWatchResponseIsCaught() {
        record();
        for (int i = 0; i < sessions.size(); i++) {
            WatchChecker.Session s = sessions.get(i);
            List<WatchChecker.Delivery> ds = s.deliveries();
            // An events response with events after it: dropping it leaves a hole the session vouched for.
            for (int j = 1; j + 1 < ds.size(); j++) {
                if (ds.get(j).events().isEmpty()) continue;
                List<WatchChecker.Delivery> dropped = new ArrayList<>(ds);
                dropped.remove(j);
                assertFalse(check(i, dropped).isEmpty(), "dropped " + ds.get(j) + " not caught");
                List<WatchChecker.Delivery> repeated = new ArrayList<>(ds);
                repeated.add(j + 1, ds.get(j));
                assertFalse(check(i, repeated).isEmpty(), "repeated " + ds.get(j) + " not caught");
                return;
            }
        }
        throw new AssertionError("no watch session with two events responses");
    }

    private static List<String> check(int index, List<WatchChecker.Delivery> deliveries) {
        List<WatchChecker.Session> broken = new ArrayList<>(sessions);
        WatchChecker.Session s = broken.get(index);
        broken.set(index, new WatchChecker.Session(s.watcher(), s.session(), s.member(), s.startRevision(), deliveries));
        return WatchChecker.check(broken, ops, k -> k.startsWith(prefix)).violations();
    }
}
