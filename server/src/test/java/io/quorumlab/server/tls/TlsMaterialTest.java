package io.quorumlab.server.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.config.ConfigException;
import io.quorumlab.server.config.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Auto-TLS certificates, PEM key forms, and --cipher-suites names as etcd takes them. */
class TlsMaterialTest {
    @TempDir
    Path dir;

    @Test
    void selfSignedCertificateCoversTheHostsAndIsReused() throws Exception {
        Path fixtures = dir.resolve("fixtures").resolve("peer");
        SelfSignedCert.CertFiles f = SelfSignedCert.ensure(fixtures, List.of("127.0.0.1", "0.0.0.0", "node1.example", "[::1]",
                "127.0.0.1"), true);
        X509Certificate c = Pem.certificates(f.certFile()).get(0);
        List<String> sans = new ArrayList<>();
        for (List<?> san : c.getSubjectAlternativeNames()) sans.add(san.get(0) + ":" + san.get(1));
        assertEquals(List.of("7:127.0.0.1", "2:node1.example", "7:0:0:0:0:0:0:0:1"), sans, "IP and DNS SANs; 0.0.0.0 left out");
        assertEquals("O=etcd", c.getSubjectX500Principal().getName());
        assertEquals(c.getSubjectX500Principal(), c.getIssuerX500Principal());
        c.verify(c.getPublicKey()); // self-signed
        assertTrue(c.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
        assertEquals(-1, c.getBasicConstraints(), "not a CA");
        long days = (c.getNotAfter().getTime() - c.getNotBefore().getTime()) / 86_400_000L;
        assertEquals(365, days);
        assertEquals(java.util.Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(f.keyFile()));
        // The key matches the certificate and loads.
        assertEquals(c.getPublicKey().getAlgorithm(), Pem.privateKey(f.keyFile()).getAlgorithm());

        SelfSignedCert.CertFiles again = SelfSignedCert.ensure(fixtures, List.of("other.example"), true);
        assertEquals(c, Pem.certificates(again.certFile()).get(0), "existing files are reused, as etcd does");
        Files.delete(f.keyFile());
        SelfSignedCert.CertFiles fresh = SelfSignedCert.ensure(fixtures, List.of("127.0.0.1"), false);
        assertNotEquals(c, Pem.certificates(fresh.certFile()).get(0), "a missing key means a new pair");
    }

    @Test
    void resolveUsesFixturesOnlyForAutoTls() throws Exception {
        ServerConfig cfg = ServerConfig.parse(new String[] {"--listen-client-urls=https://127.0.0.1:2379",
                "--advertise-client-urls=https://node1.example:2379", "--auto-tls", "--trusted-ca-file=/nonexistent/ca.pem",
                "--client-cert-auth"}, Map.of());
        TlsSetup s = TlsSetup.resolve(cfg.clientTransport(), dir.resolve("fixtures/client"),
                List.of(cfg.clientUrls().get(0), cfg.advertiseClientUrls().get(0)), List.of(), false);
        assertTrue(s.selfSigned());
        assertEquals(null, s.trustedCaFile(), "auto TLS drops the CA, as etcd replaces its TLS info");
        assertEquals(dir.resolve("fixtures/client/cert.pem"), s.certFile());
        assertEquals(null, s.listenerTrustManager());
    }

    @Test
    void readsPkcs1Sec1AndPkcs8Keys() throws Exception {
        TestPki pki = new TestPki(dir, "ca");
        TestPki.Issued rsa = pki.issue("server"); // PKCS#1
        assertTrue(Files.readString(rsa.keyFile()).contains("BEGIN RSA PRIVATE KEY"));
        assertEquals("RSA", Pem.privateKey(rsa.keyFile()).getAlgorithm());

        var gen = java.security.KeyPairGenerator.getInstance("EC");
        gen.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
        var ec = gen.generateKeyPair();
        Path sec1 = dir.resolve("ec.pem");
        // SEC1 "EC PRIVATE KEY" with the curve inside, what etcd's own auto TLS and openssl ecparam write.
        var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(ec.getPrivate().getEncoded());
        var inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        byte[] der = new org.bouncycastle.asn1.sec.ECPrivateKey(384, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters())
                .getEncoded();
        try (var w = Files.newBufferedWriter(sec1); var pem = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
            pem.writeObject(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", der));
        }
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
        assertEquals(((java.security.interfaces.ECPrivateKey) ec.getPrivate()).getS(),
                ((java.security.interfaces.ECPrivateKey) Pem.privateKey(sec1)).getS());
        Path pkcs8 = dir.resolve("p8.pem");
        Pem.write(pkcs8, ec.getPrivate());
        assertTrue(Files.readString(pkcs8).contains("BEGIN PRIVATE KEY"));
        assertEquals(((java.security.interfaces.ECPrivateKey) ec.getPrivate()).getS(),
                ((java.security.interfaces.ECPrivateKey) Pem.privateKey(pkcs8)).getS());
        Path empty = dir.resolve("empty.pem");
        Files.writeString(empty, "nothing here\n");
        assertThrows(java.io.IOException.class, () -> Pem.privateKey(empty));
    }

    @Test
    void cipherSuitesMapGoNamesAndRefuseOthersWithEtcdsMessage() {
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
                CipherSuites.toJsse(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CipherSuites.toJsse(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "SSL_RSA_WITH_RC4_128_MD5")));
        assertEquals("unexpected TLS cipher suite \"SSL_RSA_WITH_RC4_128_MD5\"", e.getMessage());
        ConfigException ce = assertThrows(ConfigException.class,
                () -> ServerConfig.parse(new String[] {"--cipher-suites=TLS_FAKE_SUITE"}, Map.of()));
        assertEquals("unexpected TLS cipher suite \"TLS_FAKE_SUITE\"", ce.getMessage());
        // TLS 1.2 suites as listed (in order), then the TLS 1.3 suites Go cannot turn off.
        List<String> enabled = CipherSuites.enabledSuites(List.of("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"));
        assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), enabled.subList(0, 2));
        assertTrue(enabled.subList(2, enabled.size()).stream().allMatch(CipherSuites.TLS13::contains));
        assertEquals(List.of(), CipherSuites.enabledSuites(List.of()));
        assertEquals(List.of("TLS_RSA_WITH_RC4_128_SHA"), CipherSuites.unsupported(List.of("TLS_RSA_WITH_RC4_128_SHA")),
                "RC4 is disabled by the JDK");
    }

    @Test
    void initialCorruptCheckFlagIsOffByDefault() {
        assertEquals(false, ServerConfig.defaults().initialCorruptCheck());
        assertTrue(ServerConfig.parse(new String[] {"--experimental-initial-corrupt-check"}, Map.of()).initialCorruptCheck());
        assertTrue(ServerConfig.fromYaml("experimental-initial-corrupt-check: true\n").initialCorruptCheck());
    }
}
