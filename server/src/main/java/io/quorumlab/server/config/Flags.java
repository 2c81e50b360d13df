package io.quorumlab.server.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The table of etcd flags quorumlab understands: the single source of flag names, value kinds and
 * defaults for the command line, {@code ETCD_*} environment variables and the YAML config file.
 */
final class Flags {

    /** How a flag's text is read; the numeric kinds carry their bounds in the {@link Spec}. */
    enum Kind {
        STRING, NUMBER, BOOL, DURATION, URLS, OPTIONAL_URLS, LIST, CLUSTER_STATE,
        /** An etcd flag quorumlab accepts for compatibility but does not act on (a warning is logged). */
        IGNORED_BOOL, IGNORED_STRING,
        /** {@code --version}: ends parsing with {@link ConfigException.Reason#VERSION_REQUESTED}. */
        VERSION;

        boolean bool() {
            return this == BOOL || this == IGNORED_BOOL || this == VERSION;
        }

        boolean ignored() {
            return this == IGNORED_BOOL || this == IGNORED_STRING;
        }
    }

    /** One flag; {@code min}/{@code max} bound NUMBER values, {@code numberWord} names the Go type in messages. */
    record Spec(String name, Kind kind, String defaultText, long min, long max, String numberWord) {

        String envName() {
            return "ETCD_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
        }

        /** The typed value of a flag's text (numbers as Long); message is etcd's reason for a bad value. */
        Object parse(String text) {
            return switch (kind) {
                case STRING, IGNORED_STRING -> text;
                case NUMBER -> parseNumber(text);
                case BOOL, IGNORED_BOOL, VERSION -> parseBool(text);
                case DURATION -> parseDuration(text);
                case URLS -> parseUrls(text);
                case OPTIONAL_URLS -> text.isBlank() ? List.of() : parseUrls(text);
                case LIST -> splitList(text);
                case CLUSTER_STATE -> parseClusterState(text);
            };
        }

        Object defaultValue() {
            return parse(defaultText);
        }

        private Long parseNumber(String text) {
            long value;
            try {
                value = Long.parseLong(text.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("parse error");
            }
            if (value < min || value > max) throw new IllegalArgumentException("value out of range");
            return value;
        }

        private java.time.Duration parseDuration(String text) {
            try {
                return GoDuration.parse(text.trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("parse error");
            }
        }
    }

    static final long UINT32_MAX = 4_294_967_295L;
    static final String DEFAULT_NAME = "default";

    private static final Map<String, Spec> BY_NAME = new LinkedHashMap<>();

    static {
        string("name", DEFAULT_NAME);
        string("data-dir", "");
        string("wal-dir", "");
        uint("snapshot-count", "100000");
        uint("heartbeat-interval", "100");
        uint("election-timeout", "1000");
        add("listen-peer-urls", Kind.URLS, "http://localhost:2380");
        add("listen-client-urls", Kind.URLS, "http://localhost:2379");
        add("advertise-client-urls", Kind.URLS, "http://localhost:2379");
        add("initial-advertise-peer-urls", Kind.URLS, "http://localhost:2380");
        string("initial-cluster", "");
        add("initial-cluster-state", Kind.CLUSTER_STATE, "new");
        string("initial-cluster-token", "etcd-cluster");
        uint("max-snapshots", "5");
        uint("max-wals", "5");
        number("quota-backend-bytes", "0", Long.MIN_VALUE, Long.MAX_VALUE, "integer");
        add("backend-batch-interval", Kind.DURATION, "0");
        number("backend-batch-limit", "0", Integer.MIN_VALUE, Integer.MAX_VALUE, "integer");
        number("max-txn-ops", "128", 0, Integer.MAX_VALUE, "unsigned integer");
        number("max-request-bytes", "1572864", 0, Integer.MAX_VALUE, "unsigned integer");
        number("max-concurrent-streams", Long.toString(UINT32_MAX), 0, UINT32_MAX, "unsigned 32-bit integer");
        add("grpc-keepalive-min-time", Kind.DURATION, "5s");
        add("grpc-keepalive-interval", Kind.DURATION, "2h");
        add("grpc-keepalive-timeout", Kind.DURATION, "20s");
        bool("strict-reconfig-check", true);
        bool("pre-vote", true);
        string("auto-compaction-retention", "0");
        string("auto-compaction-mode", "periodic");
        string("cert-file", "");
        string("key-file", "");
        bool("client-cert-auth", false);
        string("trusted-ca-file", "");
        string("client-crl-file", "");
        bool("auto-tls", false);
        string("peer-cert-file", "");
        string("peer-key-file", "");
        bool("peer-client-cert-auth", false);
        string("peer-trusted-ca-file", "");
        string("peer-crl-file", "");
        string("peer-cert-allowed-cn", "");
        bool("peer-auto-tls", false);
        add("cipher-suites", Kind.LIST, "");
        string("auth-token", "simple");
        number("bcrypt-cost", "10", 0, Integer.MAX_VALUE, "unsigned integer");
        string("metrics", "basic");
        add("listen-metrics-urls", Kind.OPTIONAL_URLS, "");
        string("logger", "zap");
        string("log-level", "info");
        add("log-outputs", Kind.LIST, "default");
        bool("enable-pprof", false);
        bool("force-new-cluster", false);
        add("experimental-watch-progress-notify-interval", Kind.DURATION, "10m");
        bool("experimental-initial-corrupt-check", false);
        // quorumlab's own: the WAL appends with O_DIRECT (falls back to buffered writes if refused).
        bool("experimental-wal-direct-io", true);
        add("experimental-corrupt-check-time", Kind.DURATION, "0s");
        string("config-file", "");
        add("version", Kind.VERSION, "false");
        // etcd flags that scripts pass and quorumlab has no use for: accepted, warned about, ignored.
        for (String name : List.of("enable-v2", "debug", "enable-grpc-gateway", "initial-election-tick-advance",
                "unsafe-no-fsync", "socket-reuse-port", "socket-reuse-address",
                "experimental-enable-v2v3", "enable-log-rotation")) {
            add(name, Kind.IGNORED_BOOL, "false");
        }
        for (String name : List.of("cors", "host-whitelist", "log-package-levels", "discovery", "discovery-srv",
                "discovery-srv-name", "discovery-fallback", "discovery-proxy", "proxy", "proxy-failure-wait",
                "proxy-refresh-interval", "proxy-dial-timeout", "proxy-write-timeout", "proxy-read-timeout",
                "client-cert-allowed-hostname", "peer-cert-allowed-hostname", "log-rotation-config-json",
                "experimental-backend-bbolt-freelist-type",
                "experimental-compaction-batch-limit", "experimental-warning-apply-duration",
                "experimental-enable-lease-checkpoint", "experimental-peer-skip-client-san-verification",
                "tls-min-version", "tls-max-version")) {
            add(name, Kind.IGNORED_STRING, "");
        }
    }

    private Flags() {
    }

    static Spec spec(String name) {
        return BY_NAME.get(name);
    }

    static Iterable<Spec> all() {
        return Collections.unmodifiableCollection(BY_NAME.values());
    }

    private static void add(String name, Kind kind, String defaultText) {
        BY_NAME.put(name, new Spec(name, kind, defaultText, 0, 0, ""));
    }

    private static void string(String name, String defaultText) {
        add(name, Kind.STRING, defaultText);
    }

    private static void bool(String name, boolean defaultValue) {
        add(name, Kind.BOOL, Boolean.toString(defaultValue));
    }

    private static void uint(String name, String defaultText) {
        number(name, defaultText, 0, Long.MAX_VALUE, "unsigned integer");
    }

    private static void number(String name, String defaultText, long min, long max, String word) {
        BY_NAME.put(name, new Spec(name, Kind.NUMBER, defaultText, min, max, word));
    }

    /** Go's {@code strconv.ParseBool}, as the {@code flag} package uses it. */
    static boolean parseBool(String text) {
        return switch (text) {
            case "1", "t", "T", "TRUE", "true", "True" -> true;
            case "0", "f", "F", "FALSE", "false", "False" -> false;
            default -> throw new IllegalArgumentException("parse error");
        };
    }

    static ServerConfig.ClusterState parseClusterState(String text) {
        return switch (text) {
            case "new" -> ServerConfig.ClusterState.NEW;
            case "existing" -> ServerConfig.ClusterState.EXISTING;
            default -> throw new IllegalArgumentException("must be \"new\" or \"existing\"");
        };
    }

    /** Comma-separated values, trimmed, empties dropped (etcd's {@code --cipher-suites}, {@code --log-outputs}). */
    static List<String> splitList(String text) {
        List<String> out = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) out.add(part.trim());
        }
        return List.copyOf(out);
    }

    /**
     * etcd's {@code types.NewURLs}: comma-separated URLs, each http, https, unix or unixs, with
     * {@code host:port} and no path. Messages are etcd's.
     */
    static List<URI> parseUrls(String text) {
        List<URI> out = new ArrayList<>();
        for (String raw : Arrays.asList(text.split(",", -1))) {
            out.add(parseUrl(raw.trim()));
        }
        return List.copyOf(out);
    }

    static URI parseUrl(String in) {
        URI uri;
        try {
            uri = new URI(in);
        } catch (URISyntaxException e) {
            if (!in.contains("://")) {
                throw new IllegalArgumentException("URL scheme must be http, https, unix, or unixs: " + in);
            }
            throw new IllegalArgumentException("parse \"" + in + "\": " + e.getReason());
        }
        String scheme = uri.getScheme();
        if (scheme == null || !List.of("http", "https", "unix", "unixs").contains(scheme)) {
            throw new IllegalArgumentException("URL scheme must be http, https, unix, or unixs: " + in);
        }
        String authority = uri.getRawAuthority();
        if (authority == null || !hasHostPort(authority)) {
            throw new IllegalArgumentException("URL address does not have the form \"host:port\": " + in);
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty()) {
            throw new IllegalArgumentException("URL must not contain a path: " + in);
        }
        return uri;
    }

    /** Go's {@code net.SplitHostPort} succeeds, and the port is a number a socket can use. */
    private static boolean hasHostPort(String authority) {
        if (authority.contains("@")) return false;
        int colon = authority.lastIndexOf(':');
        if (colon < 0) return false;
        String host = authority.substring(0, colon);
        if (host.startsWith("[")) {
            if (!host.endsWith("]")) return false;
        } else if (host.contains(":") || host.contains("[") || host.contains("]")) {
            return false;
        }
        String port = authority.substring(colon + 1);
        if (port.isEmpty()) return true;
        if (!port.chars().allMatch(Character::isDigit) || port.length() > 5) return false;
        return Integer.parseInt(port) <= 65_535;
    }
}
