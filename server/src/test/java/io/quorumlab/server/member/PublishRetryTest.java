package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member publishes its name and client URLs through Raft until they are applied. While its apply
 * loop is stalled (here for 4 s from its election) the attempt is in flight: it must not be proposed
 * again every poll (it was, every 500 ms: 8 duplicate entries), but only after etcd's request
 * timeout (5 s + 2 x election).
 */
class PublishRetryTest {

    @Test
    void aStalledPublishIsNotReproposedEveryPoll(@TempDir Path dir) throws Exception {
        Map<String, String> cluster = Map.of("pub", "http://127.0.0.1:23971");
        MemberConfig cfg = MemberConfig.defaults("pub", dir.resolve("pub"), cluster).withTimeouts(100, 1000);
        RealRuntime rt = new RealRuntime("pub", 10, 1000);
        Member m = new Member(cfg, rt, new LocalTransport.Hub().join(cfg.memberId()), MemberMetrics.isolated());
        try {
            m.start();
            // Stall the apply loop as soon as this member leads: its first publish attempt comes after
            // (it polls every 500 ms) and is committed but cannot be applied.
            MemberTestSupport.awaitSelfLeader(m);
            CountDownLatch release = MemberTestSupport.stallApply(rt, 20);
            Thread.sleep(4_000); // publish proposed and committed, not applied
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (m.leaderId() != m.memberId() || m.appliedIndex() < 3) {
                assertTrue(System.nanoTime() < deadline, "no published leader");
                Thread.sleep(20);
            }
            Thread.sleep(1_000); // anything else proposed meanwhile commits and applies
            // Entries: 1 the bootstrap conf change, 2 the leader's empty entry, then the publish attempts.
            long publishes = m.appliedIndex() - 2;
            assertTrue(publishes >= 1 && publishes <= 1, publishes + " publish entries for one member during a 4 s apply stall");
        } finally {
            m.close();
            rt.close();
        }
    }
}
