package io.quorumlab.server.tls;

import java.net.Socket;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Accepts any certificate: what auto TLS does when dialing (etcd sets InsecureSkipVerify for its own
 * self-signed certificates). The connection is encrypted but the remote is not authenticated.
 */
public final class TrustAll extends X509ExtendedTrustManager {
    public static final TrustAll INSTANCE = new TrustAll();

    private TrustAll() {
    }

    @Override public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) { }
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) { }
    @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) { }
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) { }
    @Override public void checkClientTrusted(X509Certificate[] chain, String authType) { }
    @Override public void checkServerTrusted(X509Certificate[] chain, String authType) { }
    @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
}
