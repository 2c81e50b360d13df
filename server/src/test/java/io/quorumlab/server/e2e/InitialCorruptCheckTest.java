package io.quorumlab.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.Bucket;
import io.quorumlab.mvcc.backend.LmdbBackend;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --experimental-initial-corrupt-check on a 3-member cluster: a healthy member restarts with it; a
 * member whose backend was corrupted while it was stopped (one stored value's byte flipped, the same
 * revision kept) is refused at start, naming the peers it disagrees with.
 */
class InitialCorruptCheckTest {
    @TempDir
    Path dir;
    private final EtcdServer[] servers = new EtcdServer[3];
    private final String[][] args = new String[3][];

    @AfterEach
    void stop() {
        for (EtcdServer s : servers) if (s != null) s.close();
    }

    private EtcdServer start(int i, boolean check) {
        String[] a = args[i];
        if (check) {
            a = Arrays.copyOf(a, a.length + 1);
            a[a.length - 1] = "--experimental-initial-corrupt-check";
        }
        return EtcdServer.start(ServerConfig.parse(a, Map.of()), new CollectorRegistry());
    }

    @Test
    void divergedMemberIsRefusedAtStartAndAHealthyOnePasses() throws Exception {
        StringBuilder ic = new StringBuilder();
        int[] client = new int[3], peer = new int[3];
        for (int i = 0; i < 3; i++) {
            client[i] = PeerTlsTest.freePort();
            peer[i] = PeerTlsTest.freePort();
            ic.append(i == 0 ? "" : ",").append("m").append(i + 1).append("=http://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < 3; i++) {
            String n = "m" + (i + 1);
            args[i] = new String[] {"--name", n, "--data-dir", dir.resolve(n).toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client[i], "--advertise-client-urls", "http://127.0.0.1:" + client[i],
                    "--listen-peer-urls", "http://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer[i],
                    "--initial-cluster", ic.toString(), "--heartbeat-interval", "50", "--election-timeout", "500"};
            servers[i] = start(i, true); // new members: nothing to compare, the check is skipped
        }
        EtcdServer leader = awaitLeader();
        for (int i = 0; i < 10; i++) leader.member().propose(PutRequest.of("k" + i, "v" + i)).get(10, TimeUnit.SECONDS);
        int victim = leader == servers[2] ? 1 : 2;
        awaitRevision(11);

        // A healthy restart with the check passes and serves.
        servers[victim].close();
        servers[victim] = start(victim, true);
        leader.member().propose(PutRequest.of("after-restart", "x")).get(10, TimeUnit.SECONDS);
        awaitRevision(12);
        // The exchange itself: both peers answered and agree.
        var healthy = servers[victim].member().initialHashCheck(TimeUnit.SECONDS.toNanos(10)).get(20, TimeUnit.SECONDS);
        assertEquals(List.of(), healthy.mismatched());
        assertEquals(2, healthy.compared(), "both peers compared: " + healthy);
        assertEquals(12, healthy.revision());

        // Stop it, flip a byte of one stored value (bit rot: same revision, different content), restart.
        long victimId = servers[victim].member().memberId();
        servers[victim].close();
        servers[victim] = null;
        corruptOneValue(dir.resolve("m" + (victim + 1)).resolve("member/snap/db"));
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> servers[victim] = start(victim, true));
        String msg = refused.getMessage();
        assertTrue(msg.startsWith(Long.toHexString(victimId) + " found data inconsistency with peers"), msg);
        for (int i = 0; i < 3; i++) {
            if (i == victim) continue;
            assertTrue(msg.contains(Long.toHexString(servers[i].member().memberId())), "names peer " + i + ": " + msg);
        }
        // Without the check (the default, as in etcd 3.4) the same data starts.
        servers[victim] = start(victim, false);
        assertEquals(victimId, servers[victim].member().memberId());
    }

    private static void corruptOneValue(Path db) {
        try (LmdbBackend b = new LmdbBackend(db, BackendConfig.defaults())) {
            byte[][] hit = new byte[2][];
            b.scan(Bucket.KEY, new byte[0], null, (k, v) -> {
                if (hit[0] == null && v.length > 0) {
                    hit[0] = k.clone();
                    hit[1] = v.clone();
                }
                return hit[0] == null;
            });
            assertTrue(hit[0] != null, "a stored key");
            hit[1][hit[1].length - 1] ^= 0x01; // the value's last byte
            b.put(Bucket.KEY, hit[0], hit[1]);
            b.commit();
        }
    }

    private void awaitRevision(long rev) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (EtcdServer s : servers) {
            while (s.member().store().currentRevision() < rev) {
                assertTrue(System.nanoTime() < deadline, "members reach revision " + rev);
                Thread.sleep(20);
            }
        }
    }

    private EtcdServer awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (EtcdServer s : servers) if (s.member().leaderId() == s.member().memberId()) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("no leader");
    }
}
