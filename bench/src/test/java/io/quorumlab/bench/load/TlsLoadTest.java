package io.quorumlab.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.bench.report.RunResult;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --cacert/--cert/--key: load over client TLS with client-certificate auth (certificates made by openssl). */
class TlsLoadTest {
    @TempDir
    Path dir;

    private void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + "\n" + out);
    }

    private void cert(String name) throws Exception {
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + "-raw.pem", "-out", name + ".csr", "-subj", "/CN=" + name);
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
        sh("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", name + "-raw.pem", "-out", name + "-key.pem");
    }

    @Test
    void putOverMutualTlsAndAClientWithoutACertificateIsRefused() throws Exception {
        assumeTrue(new File("/usr/bin/openssl").canExecute(), "openssl not installed");
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ca");
        cert("server");
        cert("client");
        int c = WorkloadsTest.freePort(), p = WorkloadsTest.freePort();
        String[] args = {"--name", "t", "--data-dir", dir.resolve("t").toString(),
                "--listen-client-urls", "https://127.0.0.1:" + c, "--advertise-client-urls", "https://127.0.0.1:" + c,
                "--listen-peer-urls", "http://127.0.0.1:" + p, "--initial-advertise-peer-urls", "http://127.0.0.1:" + p,
                "--initial-cluster", "t=http://127.0.0.1:" + p, "--cert-file", dir.resolve("server.pem").toString(),
                "--key-file", dir.resolve("server-key.pem").toString(), "--trusted-ca-file", dir.resolve("ca.pem").toString(),
                "--client-cert-auth"};
        try (EtcdServer s = EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (s.member().leaderId() != s.member().memberId()) {
                assertTrue(System.nanoTime() < deadline, "no leader");
                Thread.sleep(20);
            }
            LoadConfig.Tls tls = new LoadConfig.Tls(dir.resolve("ca.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"));
            RunResult ok = Driver.run(KvWorkloads.put(16, 32, 10, false),
                    new LoadConfig(List.of("127.0.0.1:" + c), 2, 1, 20, 0, 0, tls, null, 1), null);
            assertEquals(20, ok.primary().ok(), ok.table());
            RunResult refused = Driver.run(KvWorkloads.put(16, 32, 10, false),
                    new LoadConfig(List.of("127.0.0.1:" + c), 1, 1, 2, 0, 0, new LoadConfig.Tls(dir.resolve("ca.pem"), null, null), null, 1),
                    null);
            assertEquals(0, refused.primary().ok(), refused.table());
            assertEquals(2, refused.primary().errorCount(), refused.table());
        }
    }
}
