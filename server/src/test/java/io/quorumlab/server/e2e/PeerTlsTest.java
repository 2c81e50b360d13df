package io.quorumlab.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer TLS with client-certificate auth between members (certificates made by openssl), a member whose
 * certificate another CA signed kept out, and the seed guide's etcd.conf.yml shape (client and peer
 * transport security blocks) starting a member unchanged.
 */
class PeerTlsTest {
    @TempDir
    Path dir;
    private final List<EtcdServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        for (EtcdServer s : servers) s.close();
    }

    private void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError(String.join(" ", cmd) + ": " + out);
    }

    private void ca(String name) throws Exception {
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + "-key.pem", "-out", name + ".pem",
                "-days", "2", "-subj", "/CN=" + name);
    }

    /** A certificate for 127.0.0.1 signed by {@code ca}, key in PKCS#8 (what Netty reads). */
    private void cert(String name, String ca) throws Exception {
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + "-raw.pem", "-out", name + ".csr", "-subj", "/CN=" + name);
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
        sh("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", name + "-raw.pem", "-out", name + "-key.pem");
    }

    static int freePort() throws Exception {
        return io.quorumlab.server.TestPorts.free();
    }

    @Test
    void membersTalkOverMutualTlsAndAStrangerIsKeptOut() throws Exception {
        assumeTrue(new File("/usr/bin/openssl").canExecute(), "openssl not installed");
        ca("ca");
        ca("other-ca");
        for (String n : List.of("p1", "p2")) cert(n, "ca");
        cert("p3", "other-ca"); // signed by a CA the others do not trust
        int[] client = new int[3], peer = new int[3];
        StringBuilder ic = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = freePort();
            peer[i] = freePort();
            ic.append(i == 0 ? "" : ",").append("p").append(i + 1).append("=https://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < 3; i++) {
            String n = "p" + (i + 1);
            String trusted = i < 2 ? "ca.pem" : "other-ca.pem";
            String[] args = {"--name", n, "--data-dir", dir.resolve(n).toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client[i], "--advertise-client-urls", "http://127.0.0.1:" + client[i],
                    "--listen-peer-urls", "https://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "https://127.0.0.1:" + peer[i],
                    "--initial-cluster", ic.toString(), "--heartbeat-interval", "50", "--election-timeout", "500",
                    "--peer-cert-file", dir.resolve(n + ".pem").toString(), "--peer-key-file", dir.resolve(n + "-key.pem").toString(),
                    "--peer-trusted-ca-file", dir.resolve(trusted).toString(), "--peer-client-cert-auth"};
            servers.add(EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry()));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        EtcdServer leader = null;
        while (leader == null) {
            assertTrue(System.nanoTime() < deadline, "p1 and p2 elect a leader over TLS");
            for (EtcdServer s : servers.subList(0, 2)) if (s.member().leaderId() == s.member().memberId()) leader = s;
            Thread.sleep(20);
        }
        for (int i = 0; i < 20; i++) leader.member().propose(PutRequest.of("k" + i, "v")).get(10, TimeUnit.SECONDS);
        EtcdServer follower = servers.get(0) == leader ? servers.get(1) : servers.get(0);
        while (follower.member().store().currentRevision() < 21) {
            assertTrue(System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(10), "the trusted follower replicates");
            Thread.sleep(20);
        }
        assertEquals(1, servers.get(2).member().store().currentRevision(), "the member with a foreign certificate gets nothing");
    }

    @Test
    void seedGuideConfigFileStartsAMember() throws Exception {
        assumeTrue(new File("/usr/bin/openssl").canExecute(), "openssl not installed");
        ca("ca");
        cert("server", "ca");
        cert("peer", "ca");
        int c = freePort(), p = freePort();
        String yaml = """
                name: etcd-1
                data-dir: %s
                initial-advertise-peer-urls: https://127.0.0.1:%d
                listen-peer-urls: https://127.0.0.1:%d
                listen-client-urls: https://127.0.0.1:%d
                advertise-client-urls: https://127.0.0.1:%d
                initial-cluster-token: etcd-cluster-1
                initial-cluster: etcd-1=https://127.0.0.1:%d
                initial-cluster-state: new
                snapshot-count: 10000
                heartbeat-interval: 100
                election-timeout: 1000
                quota-backend-bytes: 8589934592
                auto-compaction-mode: periodic
                auto-compaction-retention: "1"
                client-transport-security:
                  cert-file: %s
                  key-file: %s
                  client-cert-auth: true
                  trusted-ca-file: %s
                peer-transport-security:
                  cert-file: %s
                  key-file: %s
                  client-cert-auth: true
                  trusted-ca-file: %s
                log-level: info
                logger: zap
                """.formatted(dir.resolve("data"), p, p, c, c, p, dir.resolve("server.pem"), dir.resolve("server-key.pem"),
                dir.resolve("ca.pem"), dir.resolve("peer.pem"), dir.resolve("peer-key.pem"), dir.resolve("ca.pem"));
        Path file = dir.resolve("etcd.conf.yml");
        Files.writeString(file, yaml);
        EtcdServer s = EtcdServer.start(ServerConfig.parse(new String[] {"--config-file", file.toString()}, Map.of()),
                new CollectorRegistry());
        servers.add(s);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (s.member().leaderId() != s.member().memberId()) {
            assertTrue(System.nanoTime() < deadline, "the member elects itself");
            Thread.sleep(20);
        }
        s.member().propose(PutRequest.of("seed", "config")).get(10, TimeUnit.SECONDS);
        assertEquals("etcd-1", s.config().name());
    }
}
