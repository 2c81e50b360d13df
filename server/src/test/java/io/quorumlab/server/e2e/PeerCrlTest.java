package io.quorumlab.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import io.quorumlab.server.tls.TestPki;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --peer-crl-file: three members with certificates from one CA (made in the test) and a CRL revoking
 * the third member's certificate. The other two form the cluster; the revoked member gets nothing.
 */
class PeerCrlTest {
    @TempDir
    Path dir;
    private final List<EtcdServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        for (EtcdServer s : servers) s.close();
    }

    @Test
    void aRevokedMemberIsKeptOut() throws Exception {
        TestPki pki = new TestPki(dir, "peer-ca");
        List<TestPki.Issued> certs = new ArrayList<>();
        for (int i = 1; i <= 3; i++) certs.add(pki.issue("r" + i));
        Path crl = dir.resolve("peer.crl");
        pki.writeCrl(crl, certs.get(2).cert());
        int[] client = new int[3], peer = new int[3];
        StringBuilder ic = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = PeerTlsTest.freePort();
            peer[i] = PeerTlsTest.freePort();
            ic.append(i == 0 ? "" : ",").append("r").append(i + 1).append("=https://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < 3; i++) {
            String n = "r" + (i + 1);
            String[] args = {"--name", n, "--data-dir", dir.resolve(n).toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client[i], "--advertise-client-urls", "http://127.0.0.1:" + client[i],
                    "--listen-peer-urls", "https://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "https://127.0.0.1:" + peer[i],
                    "--initial-cluster", ic.toString(), "--heartbeat-interval", "50", "--election-timeout", "500",
                    "--peer-cert-file", certs.get(i).certFile().toString(), "--peer-key-file", certs.get(i).keyFile().toString(),
                    "--peer-trusted-ca-file", pki.caFile().toString(), "--peer-client-cert-auth", "--peer-crl-file", crl.toString()};
            servers.add(EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry()));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        EtcdServer leader = null;
        while (leader == null) {
            assertTrue(System.nanoTime() < deadline, "r1 and r2 elect a leader");
            for (EtcdServer s : servers.subList(0, 2)) if (s.member().leaderId() == s.member().memberId()) leader = s;
            Thread.sleep(20);
        }
        for (int i = 0; i < 10; i++) leader.member().propose(PutRequest.of("k" + i, "v")).get(10, TimeUnit.SECONDS);
        EtcdServer follower = servers.get(0) == leader ? servers.get(1) : servers.get(0);
        while (follower.member().store().currentRevision() < 11) {
            assertTrue(System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(10), "the valid follower replicates");
            Thread.sleep(20);
        }
        assertEquals(1, servers.get(2).member().store().currentRevision(), "the revoked member gets nothing");
    }
}
