package io.quorumlab.server.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's {@code --auto-tls} / {@code --peer-auto-tls} certificate ({@code transport.SelfCert}): a
 * self-signed certificate and key in {@code <dir>/cert.pem} and {@code <dir>/key.pem}, subject
 * {@code O=etcd}, valid for one year, with a subject alternative name for each host (IP or DNS).
 * Existing files are reused as they are, as etcd does, so a restart keeps its certificate.
 *
 * <p>Differences from etcd, both harmless to clients that skip verification (which auto TLS requires):
 * the key is ECDSA P-256 (etcd: P-521, which not every TLS stack negotiates) written as PKCS#8, and
 * the peer certificate also carries the clientAuth usage (peers present it when they dial).
 */
public final class SelfSignedCert {
    private static final Logger LOG = LoggerFactory.getLogger(SelfSignedCert.class);
    /** etcd 3.4's fixed validity. */
    public static final Duration VALIDITY = Duration.ofDays(365);
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** The certificate and key files to serve. */
    public record CertFiles(Path certFile, Path keyFile) {}

    private SelfSignedCert() {
    }

    /**
     * Returns {@code <dir>/cert.pem} and {@code <dir>/key.pem}, creating both (and {@code dir}) when
     * either is missing.
     *
     * @param hosts host names or IP literals the certificate is for (listen and advertise URL hosts);
     *              unspecified addresses (0.0.0.0, ::) are left out
     * @param clientAuth also allow use as a TLS client certificate (peers dial each other with it)
     */
    public static CertFiles ensure(Path dir, Collection<String> hosts, boolean clientAuth) throws IOException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        if (Files.isRegularFile(cert) && Files.isRegularFile(key)) {
            LOG.info("using existing self-signed certificate cert={} key={}", cert, key);
            return new CertFiles(cert, key);
        }
        Files.createDirectories(dir);
        KeyPair pair;
        X509Certificate certificate;
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            pair = gen.generateKeyPair();
            certificate = build(pair, hosts, clientAuth, Instant.now());
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("cannot generate a self-signed certificate: " + e.getMessage(), e);
        }
        Path keyTmp = dir.resolve("key.pem.tmp");
        Files.deleteIfExists(keyTmp);
        try {
            Files.createFile(keyTmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(keyTmp);
        }
        Pem.write(keyTmp, pair.getPrivate());
        Files.move(keyTmp, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Path certTmp = dir.resolve("cert.pem.tmp");
        Pem.write(certTmp, certificate);
        Files.move(certTmp, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        LOG.info("created self-signed certificate cert={} key={} hosts={}", cert, key, new LinkedHashSet<>(hosts));
        return new CertFiles(cert, key);
    }

    static X509Certificate build(KeyPair pair, Collection<String> hosts, boolean clientAuth, Instant now)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        X500Name subject = new X500Name("O=etcd");
        BigInteger serial = new BigInteger(128, new SecureRandom());
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial, Date.from(now),
                Date.from(now.plus(VALIDITY)), subject, pair.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(clientAuth
                ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
                : new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth}));
        List<GeneralName> names = sans(hosts);
        if (!names.isEmpty()) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
        }
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
    }

    /** One SAN per distinct host: an IP address for IP literals (brackets stripped), else a DNS name. */
    static List<GeneralName> sans(Collection<String> hosts) {
        Set<String> seen = new LinkedHashSet<>();
        List<GeneralName> out = new ArrayList<>();
        for (String raw : hosts) {
            if (raw == null || raw.isEmpty()) continue;
            String h = raw.startsWith("[") && raw.endsWith("]") ? raw.substring(1, raw.length() - 1) : raw;
            if (!seen.add(h)) continue;
            if (IPV4.matcher(h).matches() || h.indexOf(':') >= 0) {
                InetAddress ip;
                try {
                    ip = InetAddress.getByName(h); // a literal: no name lookup
                } catch (java.net.UnknownHostException e) {
                    continue;
                }
                if (ip.isAnyLocalAddress()) continue;
                out.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress()));
            } else {
                out.add(new GeneralName(GeneralName.dNSName, h));
            }
        }
        return out;
    }
}
