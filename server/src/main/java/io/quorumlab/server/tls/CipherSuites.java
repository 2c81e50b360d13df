package io.quorumlab.server.tls;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * etcd's {@code --cipher-suites}: Go's cipher suite names (what {@code tlsutil.GetCipherSuite}
 * accepts: {@code tls.CipherSuites()}, {@code tls.InsecureCipherSuites()} and two ChaCha20 aliases)
 * mapped to JSSE's standard names. Go and JSSE both use the IANA names, so the mapping is the identity
 * except for the aliases; what it adds is etcd's refusal of any other name.
 *
 * <p>As in Go, the list restricts TLS 1.2 only: TLS 1.3 suites cannot be configured in Go, so the
 * three TLS 1.3 suites stay enabled whatever the list says ({@link #enabledSuites}).
 */
public final class CipherSuites {
    /** Go name to JSSE name. */
    private static final Map<String, String> GO_TO_JSSE;
    /** TLS 1.3 suites (Go names = JSSE names); listing them is accepted and changes nothing, as in Go. */
    public static final List<String> TLS13 = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");

    static {
        java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
        for (String s : List.of(
                // tls.CipherSuites()
                "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                // tls.InsecureCipherSuites()
                "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
                "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
                "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")) {
            m.put(s, s);
        }
        for (String s : TLS13) m.put(s, s);
        m.put("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        m.put("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        GO_TO_JSSE = java.util.Collections.unmodifiableMap(m);
    }

    private CipherSuites() {
    }

    /**
     * Maps Go names to JSSE names, in the given order, duplicates dropped.
     *
     * @throws IllegalArgumentException with etcd's message, {@code unexpected TLS cipher suite "X"}
     */
    public static List<String> toJsse(List<String> goNames) {
        Set<String> out = new LinkedHashSet<>();
        for (String name : goNames) {
            String jsse = GO_TO_JSSE.get(name);
            if (jsse == null) throw new IllegalArgumentException("unexpected TLS cipher suite \"" + name + "\"");
            out.add(jsse);
        }
        return List.copyOf(out);
    }

    /**
     * What a TLS context enables for a {@code --cipher-suites} list: the listed TLS 1.2 suites the JVM
     * supports, then the TLS 1.3 suites. Empty for an empty list (the provider's defaults apply).
     */
    public static List<String> enabledSuites(List<String> goNames) {
        if (goNames.isEmpty()) return List.of();
        Set<String> supported = new LinkedHashSet<>(Arrays.asList(jvmSupported()));
        List<String> out = new ArrayList<>();
        for (String s : toJsse(goNames)) {
            if (!TLS13.contains(s) && supported.contains(s)) out.add(s);
        }
        for (String s : TLS13) if (supported.contains(s)) out.add(s);
        return List.copyOf(out);
    }

    /** Listed TLS 1.2 suites this JVM cannot use (RC4, 3DES and the like are disabled by the JDK). */
    public static List<String> unsupported(List<String> goNames) {
        Set<String> supported = new LinkedHashSet<>(Arrays.asList(jvmSupported()));
        List<String> out = new ArrayList<>();
        for (String s : toJsse(goNames)) if (!TLS13.contains(s) && !supported.contains(s)) out.add(s);
        return out;
    }

    private static String[] jvmSupported() {
        try {
            // Enabled by default = supported and not in jdk.tls.disabledAlgorithms.
            return javax.net.ssl.SSLContext.getDefault().getDefaultSSLParameters().getCipherSuites();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("no default TLS context in this JVM", e);
        }
    }
}
