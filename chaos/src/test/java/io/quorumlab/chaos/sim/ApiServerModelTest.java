package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.server.member.Member;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The API-server client model does what kube-apiserver does to etcd (KUBE.md): informers list and
 * then watch, writes are kube's transactions with GuaranteedUpdate's conflict loop, events live on
 * shared leases and go when those expire, and a broken watch is followed by a relist.
 * Replay any of these with {@code quorumlab sim run SCENARIO} and the YAML in the test.
 */
class ApiServerModelTest {

    private static ClusterSimulation built(String yaml) {
        return Scenario.parse(yaml, "inline").build();
    }

    @SuppressWarnings("unchecked")
    private static List<ApiServerModel> apiServers(ClusterSimulation sim) throws Exception {
        java.lang.reflect.Field f = ClusterSimulation.class.getDeclaredField("apiServers");
        f.setAccessible(true);
        return (List<ApiServerModel>) f.get(sim);
    }

    private static List<KeyValue> prefix(Member m, byte[] prefix) {
        return m.store().range(RangeRequest.builder(prefix).prefix().build()).kvs();
    }

    @Test
    void informersListThenWatchAndWritesAreKubesTransactions() throws Exception {
        ClusterSimulation sim = built("""
                placement: dedicated-nvme
                duration: 10m
                seed: 7
                workload: {burstsPerDay: 0}
                """);
        SimResult r = sim.run(null);
        long conflicts = 0;
        long grants = 0;
        for (ApiServerModel a : apiServers(sim)) {
            assertEquals(2, a.lists, "one LIST per informer (pods, events), no failure to relist after: " + r.toJson());
            assertTrue(a.watchEvents > 500, "the watch feeds the cache: " + a.watchEvents);
            // One lease per 60 s window of events: 10 minutes less the first 3 s.
            assertTrue(a.leaseGrants >= 9 && a.leaseGrants <= 11, "lease grants " + a.leaseGrants);
            conflicts += a.conflicts;
            grants += a.leaseGrants;
        }
        // Three API servers update the same pods: some preconditions fail (a cache a watch tick behind).
        assertTrue(conflicts > 0, "GuaranteedUpdate conflicts " + conflicts);
        Member m = sim.members().get("etcd1");
        List<KeyValue> events = prefix(m, ApiServerModel.EVENTS);
        Set<Long> leases = new HashSet<>();
        for (KeyValue kv : events) {
            assertNotEquals(0, kv.lease(), "every event is attached to a lease: " + Bytes.show(kv.key()));
            leases.add(kv.lease());
        }
        assertEquals(grants, leases.size(), "events share the leases granted");
        List<KeyValue> pods = prefix(m, ApiServerModel.PODS);
        assertTrue(pods.size() > 100 && pods.size() <= ApiServerModel.OBJECTS, "pods " + pods.size());
        assertTrue(pods.stream().anyMatch(kv -> kv.version() > 1), "pods are updated in place");
    }

    @Test
    void eventsGoWhenTheirLeaseExpires() throws Exception {
        ClusterSimulation sim = built("""
                placement: dedicated-nvme
                duration: 80m
                seed: 7
                workload: {burstsPerDay: 0, requestWeight: 30}
                """);
        sim.run(null);
        Member m = sim.members().get("etcd1");
        long created = 0;
        for (ApiServerModel a : apiServers(sim)) created += a.leaseGrants;
        Set<Long> live = new HashSet<>();
        for (KeyValue kv : prefix(m, ApiServerModel.EVENTS)) live.add(kv.lease());
        // TTL 1 h + 60 s: after 80 minutes the first ~19 minutes' leases and their events are gone.
        assertTrue(live.size() < created - 3 * 15, "leases alive " + live.size() + " of " + created + " granted");
        assertTrue(m.store().leaseLeases().ids().size() < created - 3 * 15, "the lessor revoked the expired leases");
        for (String node : List.of("cp1", "cp2", "cp3")) {
            assertTrue(m.store().range(RangeRequest.key(Bytes.of("/registry/events/default/ev-" + node + "-0"))).kvs().isEmpty(),
                    "the first event of " + node + "'s API server expired with its lease");
        }
    }

    @Test
    void anApiServerWhoseNodeLostPowerRelistsWhenItIsBack() throws Exception {
        ClusterSimulation sim = built("""
                placement: stacked
                duration: 4m
                seed: 3
                workload: {burstsPerDay: 0}
                faults:
                  - {at: 2m, kill: cp1, downFor: 30s}
                """);
        SimResult r = sim.run(null);
        List<ApiServerModel> api = apiServers(sim);
        // cp1's API server lists at start and again once its node is back (twice more when its client
        // first reaches another member while cp1's etcd is still recovering, then returns to it).
        assertTrue(api.get(0).lists >= 4, "cp1's API server lists again after the outage: " + api.get(0).lists + " " + r.toJson());
        assertEquals(2, api.get(1).lists, "cp2's API server kept its watches");
    }
}
