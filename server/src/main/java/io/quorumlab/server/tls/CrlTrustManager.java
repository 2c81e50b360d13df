package io.quorumlab.server.tls;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.EnumSet;
import java.util.List;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies a remote's certificate chain with PKIX against the trusted CAs and, with a CRL file
 * ({@code --client-crl-file}, {@code --peer-crl-file}), refuses a certificate the CRL lists: the CRL is
 * a {@link CertStore} for the JDK's revocation checker, which prefers CRLs, never falls back to OCSP
 * and never fetches anything from the network. A chain the CRL says nothing about (another issuer, or
 * a CRL past its next update) is accepted, as etcd accepts any certificate whose serial is not listed;
 * a CRL that does not verify against the trusted CAs revokes nothing.
 *
 * <p>etcd reads the CRL on every connection; this trust manager re-reads it when the file's size or
 * modification time changes, so a new CRL takes effect for the next handshake without a restart. If
 * the file becomes unreadable every handshake fails (etcd fails closed too) until it is fixed.
 */
public final class CrlTrustManager extends X509ExtendedTrustManager {
    private static final Logger LOG = LoggerFactory.getLogger(CrlTrustManager.class);

    private final KeyStore anchors;
    private final Path crlFile;
    private volatile Loaded current;

    private record Loaded(X509ExtendedTrustManager delegate, FileTime modified, long size) {}

    /**
     * @param trustedCas the CAs chains must end in (an empty list: the JVM's default trust store)
     * @param crlFile the CRL (PEM or DER), or null for no revocation checking
     */
    public CrlTrustManager(List<X509Certificate> trustedCas, Path crlFile) throws IOException {
        this.crlFile = crlFile;
        try {
            if (trustedCas.isEmpty()) {
                anchors = null;
            } else {
                anchors = KeyStore.getInstance(KeyStore.getDefaultType());
                anchors.load(null, null);
                for (int i = 0; i < trustedCas.size(); i++) anchors.setCertificateEntry("ca-" + i, trustedCas.get(i));
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the trust store: " + e.getMessage(), e);
        }
        this.current = load();
    }

    private Loaded load() throws IOException {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            FileTime modified = null;
            long size = -1;
            if (crlFile == null) {
                tmf.init(anchors);
            } else {
                modified = Files.getLastModifiedTime(crlFile);
                size = Files.size(crlFile);
                X509CRL crl = Pem.crl(crlFile);
                KeyStore ks = anchors != null ? anchors : defaultTrustStore();
                PKIXBuilderParameters params = new PKIXBuilderParameters(ks, new X509CertSelector());
                params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(List.of(crl))));
                PKIXRevocationChecker checker = (PKIXRevocationChecker) CertPathBuilder.getInstance("PKIX").getRevocationChecker();
                checker.setOptions(EnumSet.of(PKIXRevocationChecker.Option.PREFER_CRLS,
                        PKIXRevocationChecker.Option.NO_FALLBACK, PKIXRevocationChecker.Option.SOFT_FAIL));
                params.addCertPathChecker(checker);
                params.setRevocationEnabled(true);
                tmf.init(new CertPathTrustManagerParameters(params));
                LOG.info("loaded CRL file={} issuer=\"{}\" revoked={} next-update={}", crlFile, crl.getIssuerX500Principal(),
                        crl.getRevokedCertificates() == null ? 0 : crl.getRevokedCertificates().size(), crl.getNextUpdate());
            }
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) return new Loaded(x, modified, size);
            }
            throw new IOException("the JVM's PKIX trust manager factory made no X509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up certificate verification: " + e.getMessage(), e);
        }
    }

    private static KeyStore defaultTrustStore() throws GeneralSecurityException, IOException {
        // The JVM's cacerts, as TrustManagerFactory.init((KeyStore) null) would use.
        Path cacerts = Path.of(System.getProperty("java.home"), "lib", "security", "cacerts");
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        try (var in = Files.newInputStream(cacerts)) {
            ks.load(in, null);
        }
        return ks;
    }

    /** The delegate for this handshake, re-reading the CRL if the file changed. */
    private X509ExtendedTrustManager delegate() throws CertificateException {
        Loaded l = current;
        if (crlFile == null) return l.delegate();
        try {
            FileTime modified = Files.getLastModifiedTime(crlFile);
            long size = Files.size(crlFile);
            if (modified.equals(l.modified()) && size == l.size()) return l.delegate();
            synchronized (this) {
                l = current;
                if (!modified.equals(l.modified()) || size != l.size()) {
                    l = load();
                    current = l;
                }
            }
            return l.delegate();
        } catch (IOException e) {
            LOG.warn("CRL unreadable, refusing the handshake file={} error=\"{}\"", crlFile, e.getMessage());
            throw new CertificateException("cannot read CRL " + crlFile + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate().checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate().checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return current.delegate().getAcceptedIssuers();
    }
}
