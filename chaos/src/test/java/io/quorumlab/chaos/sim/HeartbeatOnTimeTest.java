package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.member.Member;
import org.junit.jupiter.api.Test;

/**
 * etcd_server_heartbeat_send_failures_total counts, as in etcd, heartbeats the leader sent more than two
 * heartbeat intervals late ("leader failed to send out heartbeat on time"): a 600 ms stall of the
 * leader's disk holds its loop in fdatasync, so its next heartbeat to each follower is late, while
 * leadership survives (the stall is shorter than the election timeout).
 * Replay: quorumlab sim run SCENARIO (the YAML below) --output json
 */
class HeartbeatOnTimeTest {

    private static ClusterSimulation run(String faults) {
        ClusterSimulation sim = Scenario.parse("""
                name: heartbeats
                placement: dedicated-nvme
                duration: 2m
                seed: 3
                workload: {burstsPerDay: 0}
                faults: %s
                """.formatted(faults), "inline").build();
        sim.run(null);
        return sim;
    }

    private static double failures(Member m) {
        return m.metrics().value("etcd_server_heartbeat_send_failures_total");
    }

    @Test
    void aLeaderHeldInASlowFsyncCountsItsLateHeartbeats() {
        ClusterSimulation calm = run("[]");
        assertEquals(0.0, failures(calm.members().get("etcd1")), "a healthy leader sends every heartbeat on time");
        ClusterSimulation stalled = run("[{at: 90s, diskStall: etcd1, for: 600ms}]");
        Member leader = stalled.members().get("etcd1");
        assertTrue(failures(leader) >= 2, "one late heartbeat per follower at least: " + failures(leader));
        assertEquals(0.0, failures(stalled.members().get("etcd2")), "followers send no heartbeats");
    }
}
