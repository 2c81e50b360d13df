package io.quorumlab.server.tls;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A test CA (RSA 2048) issuing server/client certificates and CRLs, written as PEM files. */
public final class TestPki {
    private final Path dir;
    private final KeyPair caKeys;
    private final X509Certificate ca;
    private final AtomicLong serials = new AtomicLong(100);
    private final Path caFile;

    /** A leaf certificate and its files. */
    public record Issued(X509Certificate cert, Path certFile, Path keyFile) {}

    public TestPki(Path dir, String caName) throws Exception {
        this.dir = dir;
        this.caFile = dir.resolve(caName + ".pem");
        this.caKeys = rsa();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=" + caName);
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(2))), name, caKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        ca = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate())));
        Pem.write(caFile, ca);
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    public Path caFile() {
        return caFile;
    }

    /** A certificate with CN {@code cn}, SANs 127.0.0.1 and localhost, usable as server and client. */
    public Issued issue(String cn) throws Exception {
        KeyPair keys = rsa();
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(new X500Name(ca.getSubjectX500Principal().getName()),
                BigInteger.valueOf(serials.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(2))), new X500Name("CN=" + cn), keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        X509Certificate cert = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate())));
        Path certFile = dir.resolve(cn + ".pem");
        Path keyFile = dir.resolve(cn + "-key.pem");
        Pem.write(certFile, cert);
        // PKCS#1 ("RSA PRIVATE KEY"), as cfssl and older openssl write it: the server must read it.
        try (var w = java.nio.file.Files.newBufferedWriter(keyFile);
             var pem = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
            pem.writeObject(keys.getPrivate());
        }
        return new Issued(cert, certFile, keyFile);
    }

    /** Writes (or rewrites) a CRL signed by this CA listing {@code revoked}. */
    public X509CRL writeCrl(Path file, X509Certificate... revoked) throws Exception {
        Instant now = Instant.now();
        X509v2CRLBuilder b = new JcaX509v2CRLBuilder(ca.getSubjectX500Principal(), Date.from(now.minus(Duration.ofMinutes(1))));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        for (X509Certificate c : revoked) b.addCRLEntry(c.getSerialNumber(), Date.from(now.minus(Duration.ofMinutes(1))), CRLReason.keyCompromise);
        X509CRL crl = new JcaX509CRLConverter().getCRL(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate())));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Pem.write(tmp, crl);
        java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return crl;
    }
}
