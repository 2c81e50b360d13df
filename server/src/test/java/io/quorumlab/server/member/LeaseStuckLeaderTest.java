package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd issue 15247, part 2 (review r9l): the leader's member loop is stuck (here held for 4 s, as in a long
 * fdatasync) and the others elect a new leader, which never sees renewals made on the stuck member and
 * revokes the lease. The stuck member answered those keep-alives from its lessor; now a leader whose loop
 * has not ticked for an election timeout refuses them ("etcdserver: not leader"), so the client renews
 * elsewhere (etcd 3.5.8+ confirms leadership before Renew).
 */
class LeaseStuckLeaderTest {
    @TempDir
    Path dir;

    private final LocalTransport.Hub hub = new LocalTransport.Hub();
    private final List<Member> members = new ArrayList<>();
    private final List<RealRuntime> runtimes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
    }

    @Test
    void aStuckLeaderRefusesRenewalsAfterAnElectionTimeout() throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) cluster.put("s" + i, "http://127.0.0.1:" + (23990 + i));
        for (String name : cluster.keySet()) {
            MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500);
            RealRuntime rt = new RealRuntime(name, 10, 1000);
            Member m = new Member(cfg, rt, hub.join(cfg.memberId()), MemberMetrics.isolated());
            m.start();
            members.add(m);
            runtimes.add(rt);
        }
        int li = awaitLeader();
        Member old = members.get(li);
        long id = ((LeaseGrantResponse) old.propose(new LeaseGrantRequest(2, 0)).get(10, TimeUnit.SECONDS)).id();
        old.propose(new PutRequest(Bytes.of("lock"), Bytes.of("me"), id, false, false, false)).get(10, TimeUnit.SECONDS);
        assertEquals(2, old.leaseKeepAlive(id).get(5, TimeUnit.SECONDS).ttl(), "a live leader renews");

        CountDownLatch release = new CountDownLatch(1), held = new CountDownLatch(1);
        runtimes.get(li).execute(() -> { // the member loop is stuck, as in a long fdatasync
            held.countDown();
            try {
                release.await(8, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(5, TimeUnit.SECONDS));
        long stuckAt = System.nanoTime();
        int positiveLate = 0, refused = 0;
        try {
            while (System.nanoTime() - stuckAt < TimeUnit.SECONDS.toNanos(4)) {
                long asked = System.nanoTime();
                try {
                    long ttl = old.leaseKeepAlive(id).get(1, TimeUnit.SECONDS).ttl();
                    // The last tick may precede the stall by up to a heartbeat: allow that much.
                    if (ttl > 0 && asked - stuckAt > TimeUnit.MILLISECONDS.toNanos(500 + 100)) positiveLate++;
                } catch (ExecutionException e) {
                    assertTrue(e.getCause() instanceof EtcdException ee && ee.error() == EtcdError.NOT_LEADER, e.toString());
                    refused++;
                }
                Thread.sleep(100);
            }
        } finally {
            release.countDown();
        }
        assertEquals(0, positiveLate, "renewals answered by a leader stuck for longer than an election timeout");
        assertTrue(refused > 0, "no renewal was refused");
    }

    private int awaitLeader() throws InterruptedException {
        return MemberTestSupport.awaitPublishedLeader(members);
    }
}
