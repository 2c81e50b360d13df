package io.quorumlab.server.api;

import static io.quorumlab.server.api.ApiFixture.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.quorumlab.server.tls.Pem;
import io.quorumlab.server.tls.TestPki;
import io.quorumlab.server.tls.TlsSetup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --client-crl-file: a client whose certificate the CRL lists is refused at the handshake while a
 * valid one works; a CRL rewritten on disk takes effect for the next connection. CA, certificates
 * and CRLs are made in the test (BouncyCastle).
 */
class CrlTest {
    @TempDir
    Path dir;

    private ManagedChannel channel(int port, Path ca, TestPki.Issued client) throws Exception {
        var ssl = GrpcSslContexts.forClient().trustManager(ca.toFile())
                .keyManager(Pem.privateKey(client.keyFile()), Pem.certificates(client.certFile()).toArray(new java.security.cert.X509Certificate[0]));
        return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl.build()).build();
    }

    private void put(ManagedChannel ch, String key) {
        KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .put(PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v")).build());
    }

    private void assertRefused(ManagedChannel ch) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> put(ch, "/crl/refused"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }

    @Test
    void revokedClientCertificateIsRefused() throws Exception {
        TestPki pki = new TestPki(dir, "crl-test-ca");
        TestPki.Issued server = pki.issue("server");
        TestPki.Issued good = pki.issue("good-client");
        TestPki.Issued revoked = pki.issue("revoked-client");
        Path crl = dir.resolve("client.crl");
        pki.writeCrl(crl, revoked.cert());
        TlsSetup setup = new TlsSetup(server.certFile(), server.keyFile(), pki.caFile(), true, crl, false, List.of());
        try (ApiFixture fx = new ApiFixture(ClientServer.Config.defaults("127.0.0.1", 0).withTls(new ClientServer.Tls(setup)))) {
            int port = fx.server.port();
            ManagedChannel ok = channel(port, pki.caFile(), good);
            ManagedChannel bad = channel(port, pki.caFile(), revoked);
            try {
                put(ok, "/crl/ok");
                assertRefused(bad);
            } finally {
                ok.shutdownNow();
                bad.shutdownNow();
            }
            // An operator revokes the other certificate too: new connections see the new CRL.
            Thread.sleep(20); // a distinct modification time on coarse-grained file systems
            pki.writeCrl(crl, revoked.cert(), good.cert());
            Files.setLastModifiedTime(crl, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
            ManagedChannel nowRevoked = channel(port, pki.caFile(), good);
            try {
                assertRefused(nowRevoked);
            } finally {
                nowRevoked.shutdownNow();
            }
        }
    }
}
