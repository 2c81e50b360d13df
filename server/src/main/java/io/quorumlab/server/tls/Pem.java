package io.quorumlab.server.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM files as etcd reads them: certificate bundles, CRLs (PEM or DER), and private keys in PKCS#8
 * ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}) form, which
 * is what cfssl and openssl write. Keys are converted by the JDK's own key factories (no JCE provider
 * is registered).
 */
public final class Pem {
    private Pem() {
    }

    /** Every certificate in a PEM (or DER) file, in file order; at least one. */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) throw new IOException("no certificate in " + file);
            return out;
        } catch (CertificateException e) {
            throw new IOException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
    }

    /** A certificate revocation list, PEM or DER. */
    public static X509CRL crl(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(in);
        } catch (java.security.cert.CRLException | CertificateException | ClassCastException e) {
            throw new IOException("cannot read CRL " + file + ": " + e.getMessage(), e);
        }
    }

    /** The first private key in a PEM file. Encrypted keys are refused (etcd cannot read them either). */
    public static PrivateKey privateKey(Path file) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PEMKeyPair pair) return converter.getPrivateKey(pair.getPrivateKeyInfo());
                if (o instanceof PrivateKeyInfo info) return converter.getPrivateKey(info);
                if (o instanceof PKCS8EncryptedPrivateKeyInfo) throw new IOException("encrypted private key in " + file + " is not supported");
                // anything else (EC PARAMETERS, a certificate in a combined file) is skipped
            }
        } catch (org.bouncycastle.openssl.PEMException e) {
            throw new IOException("cannot read private key " + file + ": " + e.getMessage(), e);
        }
        throw new IOException("no private key in " + file);
    }

    /** Writes objects (certificates, keys as PKCS#8, CRLs) as PEM; the file is created or replaced. */
    public static void write(Path file, Object... objects) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII); JcaPEMWriter pem = new JcaPEMWriter(w)) {
            for (Object o : objects) {
                if (o instanceof PrivateKey k) {
                    pem.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", k.getEncoded()));
                } else {
                    pem.writeObject(o);
                }
            }
        }
    }
}
