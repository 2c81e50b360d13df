package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A member that joins after the leader compacted its log is caught up by a snapshot, and the snapshot
 * carries the member table: afterwards it lists every member with its URLs and, as leader, removes
 * members it never saw added in the log. (The bundled migration at its own load: every external
 * member there joins by snapshot. Before the fix, the snapshot-joined leader answered "member not
 * found" to the removal of each stacked member.)
 */
class SnapshotJoinTest {

    @Test
    void aMemberJoinedBySnapshotKnowsTheWholeMemberTable() throws Exception {
        Scenario file = Scenario.load(Path.of("scenarios", "migrate-stacked-to-external.yaml"));
        ClusterSimulation sim = file.build();
        SimResult r = sim.run(null);
        String replay = "\nreplay: quorumlab sim run chaos/scenarios/migrate-stacked-to-external.yaml --output json\n" + r.toJson();
        boolean bySnapshot = false;
        for (SimResult.FaultRecord f : r.faults()) {
            assertFalse(f.outcome().startsWith("failed"), f + replay);
            if (f.fault().startsWith("promote etcd") && f.outcome().contains("by a snapshot")) bySnapshot = true;
        }
        assertTrue(bySnapshot, "at the bundled load a learner catches up by a snapshot" + replay);
        assertEquals(List.of("etcd1", "etcd2", "etcd3"), r.finalMembers().stream().sorted().toList(), replay);
        // Every remaining member's table: the three external members, names and peer URLs, nobody else.
        Map<String, Member> members = sim.members();
        List<String> expected = null;
        for (String name : List.of("etcd1", "etcd2", "etcd3")) {
            List<String> table = members.get(name).members().stream()
                    .map(m -> m.name() + "=" + String.join(",", m.peerUrls())).sorted().toList();
            assertEquals(3, table.size(), name + " lists " + table + replay);
            assertTrue(table.stream().allMatch(t -> t.startsWith("etcd") && t.contains("=http://")), name + " lists " + table);
            if (expected == null) expected = table;
            assertEquals(expected, table, name + "'s member table differs from etcd1's");
        }
        for (MemberInfo m : members.get("etcd1").members()) assertFalse(m.learner(), m + replay);
    }
}
