package io.quorumlab.server.config;

import java.net.URI;

/**
 * One address to bind or advertise, split out of an etcd URL such as {@code https://0.0.0.0:2379}.
 *
 * @param uri the URL as configured
 * @param scheme {@code http}, {@code https}, {@code unix} or {@code unixs}
 * @param host the host exactly as written ({@code localhost}, {@code 0.0.0.0}, {@code 10.0.0.11}); IPv6
 *     literals without their brackets ({@code ::1})
 * @param port the TCP port (0 lets the OS choose)
 */
public record Listener(URI uri, String scheme, String host, int port) {

    /** True for {@code https} and {@code unixs}: this listener serves TLS. */
    public boolean secure() {
        return scheme.equals("https") || scheme.equals("unixs");
    }

    /** True for {@code unix} and {@code unixs} (a Unix domain socket named {@code host:port}). */
    public boolean unixSocket() {
        return scheme.startsWith("unix");
    }

    /** Splits an etcd URL that {@link ServerConfig} already validated. */
    static Listener of(URI uri) {
        String authority = uri.getRawAuthority();
        int colon = authority.lastIndexOf(':');
        String host = authority.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        String port = authority.substring(colon + 1);
        return new Listener(uri, uri.getScheme(), host, port.isEmpty() ? 0 : Integer.parseInt(port));
    }
}
