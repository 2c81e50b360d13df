package io.quorumlab.server.api;

import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.quorumlab.server.api.ApiFixture.bs;
import static io.quorumlab.server.api.ApiFixture.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Client TLS with client-certificate auth: gRPC, HTTPS and etcdctl on one port (certificates made by openssl). */
class TlsTest {
    @TempDir
    static Path dir;
    static ApiFixture fx;

    static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, () -> String.join(" ", cmd) + ": " + out);
    }

    static void issue(String name, String ext) throws Exception {
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + name);
        Files.writeString(dir.resolve(name + ".ext"), ext);
        sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
    }

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(new File("/usr/bin/openssl").canExecute(), "openssl not installed");
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=quorumlab-test-ca");
        issue("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        issue("client", "extendedKeyUsage=clientAuth\n");
        ClientServer.Tls tls = new ClientServer.Tls(dir.resolve("server.pem"), dir.resolve("server-key.pem"), dir.resolve("ca.pem"), true);
        fx = new ApiFixture(ClientServer.Config.defaults("127.0.0.1", 0).withTls(tls));
    }

    @AfterAll
    static void stop() {
        if (fx != null) fx.close();
    }

    static ManagedChannel channel(boolean withClientCert) throws Exception {
        var ssl = GrpcSslContexts.forClient().trustManager(dir.resolve("ca.pem").toFile());
        if (withClientCert) ssl.keyManager(dir.resolve("client.pem").toFile(), dir.resolve("client-key.pem").toFile());
        return NettyChannelBuilder.forAddress("127.0.0.1", fx.server.port()).sslContext(ssl.build()).build();
    }

    @Test
    void grpcNeedsAClientCertificate() throws Exception {
        ManagedChannel ok = channel(true), anonymous = channel(false);
        try {
            KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ok).withDeadlineAfter(10, TimeUnit.SECONDS);
            kv.put(PutRequest.newBuilder().setKey(bs("/tls/k")).setValue(bs("v")).build());
            assertEquals("v", str(kv.range(RangeRequest.newBuilder().setKey(bs("/tls/k")).build()).getKvs(0).getValue()));
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> KVGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).range(RangeRequest.newBuilder().setKey(bs("/tls/k")).build()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        } finally {
            ok.shutdownNow();
            anonymous.shutdownNow();
        }
    }

    @Test
    void aTrustedCaAloneAlreadyRequiresClientCertificatesAsInEtcd() throws Exception {
        // etcd's transport: ClientAuth = RequireAndVerifyClientCert when TrustedCAFile != "" || ClientCertAuth.
        ClientServer.Tls caOnly = new ClientServer.Tls(dir.resolve("server.pem"), dir.resolve("server-key.pem"), dir.resolve("ca.pem"), false);
        try (ApiFixture f = new ApiFixture(ClientServer.Config.defaults("127.0.0.1", 0).withTls(caOnly))) {
            var anon = GrpcSslContexts.forClient().trustManager(dir.resolve("ca.pem").toFile()).build();
            var withCert = GrpcSslContexts.forClient().trustManager(dir.resolve("ca.pem").toFile())
                    .keyManager(dir.resolve("client.pem").toFile(), dir.resolve("client-key.pem").toFile()).build();
            ManagedChannel a = NettyChannelBuilder.forAddress("127.0.0.1", f.server.port()).sslContext(anon).build();
            ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", f.server.port()).sslContext(withCert).build();
            try {
                RangeRequest get = RangeRequest.newBuilder().setKey(bs("/tls/ca-only")).build();
                KVGrpc.newBlockingStub(c).withDeadlineAfter(10, TimeUnit.SECONDS).range(get);
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> KVGrpc.newBlockingStub(a).withDeadlineAfter(10, TimeUnit.SECONDS).range(get));
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            } finally {
                a.shutdownNow();
                c.shutdownNow();
            }
        }
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "hung: " + List.of(cmd));
        assertEquals(0, p.exitValue(), () -> List.of(cmd) + ": " + out);
        return out;
    }

    @Test
    void httpsEndpointsOnTheSamePort() throws Exception {
        assumeTrue(new File("/usr/bin/curl").canExecute(), "curl not installed");
        String base = "https://127.0.0.1:" + fx.server.port();
        List<String> curl = List.of("/usr/bin/curl", "-sS", "--max-time", "10", "--cacert", dir.resolve("ca.pem").toString(),
                "--cert", dir.resolve("client.pem").toString(), "--key", dir.resolve("client-key.pem").toString());
        List<String> health = new ArrayList<>(curl);
        health.add(base + "/health");
        assertEquals("{\"health\":\"true\"}", run(health.toArray(String[]::new)));
        List<String> version = new ArrayList<>(curl);
        version.add(base + "/version");
        assertEquals(HttpEndpoints.VERSION_JSON, run(version.toArray(String[]::new)));
    }

    @Test
    void etcdctlOverTls() throws Exception {
        assumeTrue(new File(EtcdctlTest.ETCDCTL).canExecute(), "etcdctl not installed");
        List<String> ctl = List.of(EtcdctlTest.ETCDCTL, "--endpoints=https://127.0.0.1:" + fx.server.port(), "--dial-timeout=5s",
                "--cacert=" + dir.resolve("ca.pem"), "--cert=" + dir.resolve("client.pem"), "--key=" + dir.resolve("client-key.pem"));
        List<String> put = new ArrayList<>(ctl);
        put.addAll(List.of("put", "/tls/ctl", "v"));
        assertEquals("OK\n", run(put.toArray(String[]::new)));
        List<String> status = new ArrayList<>(ctl);
        status.addAll(List.of("endpoint", "status", "-w", "json"));
        assertTrue(run(status.toArray(String[]::new)).contains("\"version\":\"3.4.23\""));
    }
}
