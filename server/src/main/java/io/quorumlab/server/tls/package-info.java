/**
 * TLS material for the client API and the peer transport: PEM files ({@link io.quorumlab.server.tls.Pem}),
 * etcd's auto TLS ({@link io.quorumlab.server.tls.SelfSignedCert}), {@code --cipher-suites}
 * ({@link io.quorumlab.server.tls.CipherSuites}), CRL checking ({@link io.quorumlab.server.tls.CrlTrustManager}),
 * and one side's resolved settings ({@link io.quorumlab.server.tls.TlsSetup}).
 */
package io.quorumlab.server.tls;
