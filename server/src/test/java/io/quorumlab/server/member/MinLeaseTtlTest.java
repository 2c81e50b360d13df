package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lease floor as etcd computes it in ticks, minTTL = ((3 * electionTicks) / 2) * heartbeat
 * (integer division), then ceil to seconds. With --heartbeat-interval 200 --election-timeout 1400 a real
 * etcd 3.4.23 answers `lease grant 1` with TTL(2s): 10 ticks * 200 ms = 2.0 s. Quorumlab uses
 * ceil(1.5 * 1400 ms) = ceil(2.1 s) = 3.
 */
class MinLeaseTtlTest {
    @TempDir
    Path dir;

    @Test
    void leaseFloorFollowsEtcdTickArithmetic() throws Exception {
        Map<String, String> cluster = Map.of("m1", "http://127.0.0.1:23891");
        MemberConfig cfg = MemberConfig.defaults("m1", dir.resolve("m1"), cluster).withTimeouts(200, 1400);
        LocalTransport.Hub hub = new LocalTransport.Hub();
        RealRuntime rt = new RealRuntime("m1", 10, 1000);
        Member m = new Member(cfg, rt, hub.join(cfg.memberId()), MemberMetrics.isolated());
        try {
            m.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (m.leaderId() != m.memberId() && System.nanoTime() < deadline) Thread.sleep(20);
            long ticks = cfg.electionMillis() / cfg.heartbeatMillis();
            long etcdFloor = (long) Math.ceil((3 * ticks / 2) * cfg.heartbeatMillis() / 1000.0);
            LeaseGrantResponse g = (LeaseGrantResponse) m.propose(new LeaseGrantRequest(1, 0)).get(20, TimeUnit.SECONDS);
            assertEquals(etcdFloor, g.ttlSeconds(), "granted TTL for a 1 s request (etcd 3.4.23 says 2)");
        } finally {
            m.close();
            rt.close();
        }
    }
}
