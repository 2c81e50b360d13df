package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ClusterSimulationTest {
    static final long MINUTE = 60_000_000_000L;

    static SimResult run(ClusterSimulation.Params p) {
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        return s.run(null);
    }

    @Test
    void sameSeedGivesByteIdenticalJson() {
        ClusterSimulation.Params p = ClusterSimulation.Params.stacked(3 * MINUTE, 42);
        String a = run(p).toJson();
        String b = run(p).toJson();
        assertEquals(a, b);
        assertTrue(a.contains("\"walFsyncs\""), a);
    }

    @Test
    void clusterServesTheApiServersLoad() {
        SimResult r = run(ClusterSimulation.Params.dedicatedNvme(5 * MINUTE, 7));
        System.out.println(r.toJson());
        assertTrue(r.etcdCalls() > 10_000, "etcd calls: " + r.etcdCalls());
        assertTrue(r.walFsyncs() > 1000, "fsyncs: " + r.walFsyncs());
        assertEquals(0, r.apiFailed(), "no API request should fail on a healthy dedicated cluster");
    }
}
