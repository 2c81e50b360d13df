package io.quorumlab.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.sim.Workload;
import org.junit.jupiter.api.Test;

class KubeParametersTest {
    @Test
    void readsTheSimulatorsClientModel() {
        KubeParameters p = KubeParameters.fromSimulator();
        Workload w = Workload.defaults();
        assertEquals(w.writeFraction(), p.writeFraction());
        assertEquals(w.valueBytes(), p.valueBytes());
        assertEquals(w.apiRequestsPerSecond() * w.etcdCallsPerApiRequest(), p.etcdCallsPerSecond());
        assertTrue(p.objects() > 0 && p.maxAttempts() > 1 && p.firstBackoffNanos() > 0, p.toString());
    }

    @Test
    void requestMixFollowsTheSharesOverASeededSample() {
        KubeParameters p = KubeParameters.fromSimulator();
        KubeWorkload k = new KubeWorkload(p, 10, 5, 0.5, 0.05, 0, 100);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        int n = 100_000;
        int[] count = new int[KubeWorkload.Kind.values().length];
        for (int i = 0; i < n; i++) count[k.choose(rnd).ordinal()]++;
        double writes = count[KubeWorkload.Kind.CREATE.ordinal()] + count[KubeWorkload.Kind.UPDATE.ordinal()]
                + count[KubeWorkload.Kind.DELETE.ordinal()];
        assertEquals(p.writeFraction(), writes / n, 0.01, "seed 7");
        assertEquals(p.createShareOfWrites(), count[KubeWorkload.Kind.CREATE.ordinal()] / writes, 0.01, "seed 7");
        assertEquals(0.5, count[KubeWorkload.Kind.LIST.ordinal()] / (n - writes), 0.01, "seed 7");
    }
}
