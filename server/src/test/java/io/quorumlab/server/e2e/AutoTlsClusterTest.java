package io.quorumlab.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import io.quorumlab.server.tls.Pem;
import io.quorumlab.server.tls.TrustAll;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --auto-tls and --peer-auto-tls on a real 3-member cluster: each member makes its own self-signed
 * certificates under {@code <data-dir>/fixtures}, peers replicate over TLS without verifying each other
 * (as etcd), etcdctl needs --insecure-skip-tls-verify, and --cipher-suites refuses a TLS 1.2 client (on
 * the client and the peer port) that offers only a suite not listed.
 */
class AutoTlsClusterTest {
    static final String LISTED = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    static final String NOT_LISTED = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    static final String ETCDCTL = System.getProperty("quorumlab.etcdctl", "/usr/bin/etcdctl");

    @TempDir
    Path dir;
    private final List<EtcdServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        for (EtcdServer s : servers) s.close();
    }

    @Test
    void autoTlsClusterWithRestrictedCipherSuites() throws Exception {
        int[] client = new int[3], peer = new int[3];
        StringBuilder ic = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = PeerTlsTest.freePort();
            peer[i] = PeerTlsTest.freePort();
            ic.append(i == 0 ? "" : ",").append("a").append(i + 1).append("=https://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < 3; i++) {
            String n = "a" + (i + 1);
            String[] args = {"--name", n, "--data-dir", dir.resolve(n).toString(),
                    "--listen-client-urls", "https://127.0.0.1:" + client[i], "--advertise-client-urls", "https://localhost:" + client[i],
                    "--listen-peer-urls", "https://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "https://127.0.0.1:" + peer[i],
                    "--initial-cluster", ic.toString(), "--heartbeat-interval", "50", "--election-timeout", "500",
                    "--auto-tls", "--peer-auto-tls", "--cipher-suites", LISTED};
            servers.add(EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry()));
        }
        EtcdServer leader = awaitLeader();
        for (int i = 0; i < 10; i++) leader.member().propose(PutRequest.of("k" + i, "v")).get(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (EtcdServer s : servers) {
            while (s.member().store().currentRevision() < 11) {
                assertTrue(System.nanoTime() < deadline, "every member replicates over peer auto TLS");
                Thread.sleep(20);
            }
        }

        // Each member made its own certificates, for the listen and advertise hosts.
        X509Certificate c1 = Pem.certificates(dir.resolve("a1/fixtures/client/cert.pem")).get(0);
        X509Certificate p1 = Pem.certificates(dir.resolve("a1/fixtures/peer/cert.pem")).get(0);
        X509Certificate p2 = Pem.certificates(dir.resolve("a2/fixtures/peer/cert.pem")).get(0);
        assertNotEquals(p1, p2);
        assertTrue(Files.isRegularFile(dir.resolve("a1/fixtures/client/key.pem")));
        List<String> sans = new ArrayList<>();
        for (List<?> san : c1.getSubjectAlternativeNames()) sans.add(String.valueOf(san.get(1)));
        assertEquals(List.of("127.0.0.1", "localhost"), sans);

        // Cipher suites: a TLS 1.2 client offering only an unlisted suite is refused, on both ports.
        for (int port : new int[] {client[0], peer[0]}) {
            assertEquals(LISTED, handshake(port, LISTED));
            assertThrows(SSLHandshakeException.class, () -> handshake(port, NOT_LISTED), "port " + port);
        }

        if (new File(ETCDCTL).canExecute()) {
            // etcdctl 3.4 dials plaintext unless told otherwise when given no certificate files.
            String ep = "--endpoints=https://127.0.0.1:" + client[0];
            assertEquals("OK\n", etcdctl(0, ep, "--insecure-transport=false", "--insecure-skip-tls-verify", "put", "/auto/tls", "yes"));
            assertEquals("/auto/tls\nyes\n", etcdctl(0, ep, "--insecure-transport=false", "--insecure-skip-tls-verify", "get",
                    "/auto/tls"));
            etcdctl(1, ep, "--insecure-transport=false", "--command-timeout=3s", "get", "/auto/tls"); // unknown authority
        }
    }

    /** A TLS 1.2 handshake offering only {@code suite}; returns the negotiated suite. */
    static String handshake(int port, String suite) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLSv1.2");
        ctx.init(null, new TrustManager[] {TrustAll.INSTANCE}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            s.setEnabledCipherSuites(new String[] {suite});
            s.startHandshake();
            return s.getSession().getCipherSuite();
        }
    }

    private EtcdServer awaitLeader() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (EtcdServer s : servers) if (s.member().leaderId() == s.member().memberId()) return s;
            Thread.sleep(20);
        }
        throw new AssertionError("no leader over peer auto TLS");
    }

    private static String etcdctl(int wantExit, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ETCDCTL, "--dial-timeout=3s"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "etcdctl hung: " + cmd);
        if (wantExit == 0) assertEquals(0, p.exitValue(), () -> cmd + ": " + out);
        else assertNotEquals(0, p.exitValue(), () -> cmd + " should fail: " + out);
        return out;
    }
}
