package io.quorumlab.server.peer;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.quorumlab.server.tls.TlsSetup;
import io.quorumlab.server.tls.TrustAll;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Peer TLS (etcd's --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth,
 * --peer-crl-file, --peer-cert-allowed-cn, --peer-auto-tls, --cipher-suites): both directions encrypted.
 * With client-cert-auth the listener requires a certificate signed by the trusted CA and not revoked by
 * the CRL, and allowedCn (if set) must be its common name. With auto TLS (a self-signed certificate),
 * as in etcd, nobody is verified: the listener asks for no certificate and dialing trusts any.
 *
 * @param setup     the resolved certificate, key, trust and cipher settings
 * @param allowedCn --peer-cert-allowed-cn, or null
 */
public record PeerTls(TlsSetup setup, String allowedCn) {
    public PeerTls {
        Objects.requireNonNull(setup, "setup");
    }

    /** Certificate files without a CRL, auto TLS or cipher restriction. */
    public PeerTls(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth, String allowedCn) {
        this(TlsSetup.ofFiles(certFile, keyFile, trustedCaFile, clientCertAuth), allowedCn);
    }

    /** The listener's context. */
    SslContext serverContext() throws IOException {
        SslContextBuilder b = SslContextBuilder.forServer(setup.privateKey(), setup.certificateChain());
        X509ExtendedTrustManager trust = setup.listenerTrustManager();
        if (trust != null) b.trustManager(trust);
        if (setup.requiresClientCertificate()) {
            b.clientAuth(ClientAuth.REQUIRE);
        } else {
            // Without a CA there is nothing to verify a volunteered certificate against; auto TLS asks for none.
            b.clientAuth(setup.selfSigned() ? ClientAuth.NONE : ClientAuth.OPTIONAL);
        }
        ciphers(b);
        return b.build();
    }

    /** The context for dialing peers: presents this member's certificate. */
    SslContext clientContext() throws IOException {
        SslContextBuilder b = SslContextBuilder.forClient().keyManager(setup.privateKey(), setup.certificateChain());
        X509ExtendedTrustManager trust = setup.selfSigned() ? TrustAll.INSTANCE : setup.dialTrustManager();
        if (trust != null) b.trustManager(trust);
        ciphers(b);
        return b.build();
    }

    private void ciphers(SslContextBuilder b) {
        List<String> suites = setup.enabledCipherSuites();
        if (!suites.isEmpty()) b.ciphers(suites, SupportedCipherSuiteFilter.INSTANCE);
    }
}
