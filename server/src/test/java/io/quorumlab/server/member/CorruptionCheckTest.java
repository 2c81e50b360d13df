package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.AlarmResponse;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The leader's periodic HashKV comparison: silent on a healthy cluster, CORRUPT alarm on a divergent member. */
class CorruptionCheckTest {
    @TempDir
    Path dir;
    private final List<Member> members = new ArrayList<>();
    private final List<RealRuntime> runtimes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
    }

    private Member awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            for (Member m : members) if (m.leaderId() == m.memberId()) return m;
            Thread.sleep(20);
        }
        throw new AssertionError("no leader");
    }

    private List<AlarmResponse.Member> alarms(Member m) throws Exception {
        AlarmResponse r = (AlarmResponse) m.propose(new AlarmRequest(AlarmRequest.Action.GET, 0, AlarmRequest.AlarmType.NONE))
                .get(10, TimeUnit.SECONDS);
        return r.alarms();
    }

    @Test
    void aDivergentMemberIsFlaggedCorrupt() throws Exception {
        LocalTransport.Hub hub = new LocalTransport.Hub();
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) cluster.put("c" + i, "http://127.0.0.1:" + (24800 + i));
        for (String name : cluster.keySet()) {
            MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500);
            RealRuntime rt = new RealRuntime(name, 10, 1000);
            Member m = new Member(cfg, rt, hub.join(cfg.memberId()), MemberMetrics.isolated());
            m.setCorruptCheckPeriod(300_000_000L);
            m.start();
            members.add(m);
            runtimes.add(rt);
        }
        Member leader = awaitLeader();
        for (int i = 0; i < 20; i++) leader.propose(PutRequest.of("k" + i, "v")).get(10, TimeUnit.SECONDS);
        Thread.sleep(1500); // several healthy rounds
        assertTrue(alarms(leader).isEmpty(), "a healthy cluster raises no alarm: " + alarms(leader));

        // Corrupt one follower behind Raft's back: a write applied only there (not from the log).
        Member victim = members.stream().filter(m -> m != leader).findFirst().orElseThrow();
        int idx = members.indexOf(victim);
        CompletableFuture<Void> done = new CompletableFuture<>();
        runtimes.get(idx).executeApply(() -> {
            victim.store().apply(0, PutRequest.of("k0", "garbage"));
            done.complete(null);
        });
        done.get(5, TimeUnit.SECONDS);
        // Later writes advance both to the same revision; their hashes now differ.
        leader.propose(PutRequest.of("after", "x")).get(10, TimeUnit.SECONDS);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        List<AlarmResponse.Member> a = alarms(leader);
        while (a.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            a = alarms(leader);
        }
        assertEquals(1, a.size(), "one CORRUPT alarm: " + a);
        assertEquals(AlarmRequest.AlarmType.CORRUPT, a.get(0).alarm());
        assertEquals(victim.memberId(), a.get(0).memberId());
        // As in etcd, a corrupt cluster refuses writes until an operator intervenes.
        java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class,
                () -> leader.propose(PutRequest.of("more", "x")).get(10, TimeUnit.SECONDS));
        assertEquals("etcdserver: corrupt cluster", refused.getCause().getMessage());
    }
}
