package io.quorumlab.server.config;

import io.quorumlab.server.config.Flags.Kind;
import io.quorumlab.server.config.Flags.Spec;
import io.quorumlab.server.config.ServerConfig.ClusterState;
import io.quorumlab.server.config.ServerConfig.CompactionMode;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/** Turns flags + environment, or a YAML file, into a validated {@link ServerConfig}. One use per instance. */
final class ConfigParser {

    private static final Logger log = LoggerFactory.getLogger(ConfigParser.class);
    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final int BCRYPT_MIN_COST = 4;
    private static final int BCRYPT_MAX_COST = 31;
    private static final int DEFAULT_BCRYPT_COST = 10;
    private static final List<String> LOG_LEVELS = List.of("debug", "info", "warn", "error", "dpanic", "panic", "fatal");

    /** Where the values came from; a few of etcd's rules apply to the command line only. */
    private enum Source { FLAGS, CONFIG_FILE }

    private final Consumer<String> warnings;
    /** Typed values given explicitly, by flag name; anything absent takes the flag's default. */
    private final Map<String, Object> given = new HashMap<>();

    ConfigParser(Consumer<String> warnings) {
        this.warnings = warnings;
    }

    // ---------------------------------------------------------------------------------------------
    // Command line and environment

    ServerConfig parse(String[] args, Map<String, String> env) {
        Map<String, Object> flags = parseArgs(args);
        if (Boolean.TRUE.equals(flags.get("version"))) {
            throw new ConfigException(ConfigException.Reason.VERSION_REQUESTED, "version requested", null);
        }
        String configFile = (String) flags.getOrDefault("config-file", "");
        if (configFile.isEmpty()) configFile = env.getOrDefault("ETCD_CONFIG_FILE", "");
        if (!configFile.isEmpty()) {
            List<String> ignored = new ArrayList<>(flags.keySet());
            ignored.remove("config-file");
            if (!ignored.isEmpty() || env.keySet().stream().anyMatch(k -> k.startsWith("ETCD_") && !k.equals("ETCD_CONFIG_FILE"))) {
                warn("loaded server configuration from " + configFile
                        + "; other command line flags and environment variables are ignored (ignored flags: " + ignored + ")");
            }
            return parseYaml(readFile(configFile));
        }
        given.putAll(flags);
        applyEnv(env, flags.keySet());
        warnIgnoredFlags();
        return build(Source.FLAGS);
    }

    /** Go's {@code flag.FlagSet.Parse} as etcd configures it, with Go's messages. */
    private static Map<String, Object> parseArgs(String[] args) {
        Map<String, Object> out = new LinkedHashMap<>();
        int i = 0;
        for (; i < args.length; i++) {
            String arg = args[i];
            if (arg.length() < 2 || arg.charAt(0) != '-') break;
            int dashes = arg.charAt(1) == '-' ? 2 : 1;
            if (dashes == 2 && arg.length() == 2) {
                i++;
                break;
            }
            String name = arg.substring(dashes);
            if (name.isEmpty() || name.charAt(0) == '-' || name.charAt(0) == '=') {
                throw new ConfigException("bad flag syntax: " + arg);
            }
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            Spec spec = Flags.spec(name);
            if (spec == null) {
                if (name.equals("h") || name.equals("help")) {
                    throw new ConfigException(ConfigException.Reason.HELP_REQUESTED, "flag: help requested", null);
                }
                throw new ConfigException("flag provided but not defined: -" + name);
            }
            if (spec.kind().bool()) {
                if (value == null) {
                    out.put(name, Boolean.TRUE);
                } else {
                    try {
                        out.put(name, Flags.parseBool(value));
                    } catch (IllegalArgumentException e) {
                        throw new ConfigException("invalid boolean value \"" + value + "\" for -" + name + ": " + e.getMessage());
                    }
                }
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length) throw new ConfigException("flag needs an argument: -" + name);
                value = args[++i];
            }
            try {
                out.put(name, spec.parse(value));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("invalid value \"" + value + "\" for flag -" + name + ": " + e.getMessage());
            }
        }
        if (i < args.length) throw new ConfigException("'" + args[i] + "' is not a valid flag");
        return out;
    }

    /** etcd's {@code flags.SetFlagsFromEnv}: ETCD_FOO_BAR sets --foo-bar unless the command line did. */
    private void applyEnv(Map<String, String> env, Set<String> setOnCommandLine) {
        Set<String> known = new HashSet<>();
        for (Spec spec : Flags.all()) {
            if (spec.kind() == Kind.VERSION) continue;
            String key = spec.envName();
            known.add(key);
            String value = env.get(key);
            if (value == null || value.isEmpty()) continue;
            if (setOnCommandLine.contains(spec.name())) {
                warn("conflicting environment variable \"" + key + "\" is shadowed by corresponding command-line flag"
                        + " (either unset environment variable or disable flag)");
                continue;
            }
            try {
                given.put(spec.name(), spec.kind().bool() ? Flags.parseBool(value) : spec.parse(value));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("invalid value \"" + value + "\" for " + key + ": " + e.getMessage());
            }
        }
        new TreeMap<>(env).forEach((key, value) -> {
            if (key.startsWith("ETCD_") && !known.contains(key)) {
                warn("unrecognized environment variable " + key + "=" + value);
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // YAML config file

    private static String readFile(String path) {
        try {
            return Files.readString(Path.of(path));
        } catch (NoSuchFileException e) {
            throw new ConfigException("open " + path + ": no such file or directory", e);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + path + ": " + e.getMessage(), e);
        }
    }

    ServerConfig parseYaml(String text) {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
        } catch (YAMLException e) {
            throw new ConfigException("config file is not valid YAML: " + e.getMessage(), e);
        }
        if (root != null && !(root instanceof Map)) {
            throw new ConfigException("config file must be a YAML mapping of flag names to values");
        }
        Map<?, ?> top = root == null ? Map.of() : (Map<?, ?>) root;
        for (Map.Entry<?, ?> entry : top.entrySet()) {
            String key = String.valueOf(entry.getKey());
            if (key.equals("client-transport-security") || key.equals("peer-transport-security")) continue;
            if (key.equals("config-file") || key.equals("version")) {
                warn("ignoring config file key \"" + key + "\"");
                continue;
            }
            Spec spec = Flags.spec(key);
            if (spec == null) {
                warn("ignoring unknown config file key \"" + key + "\"");
                continue;
            }
            putYaml(spec, key, entry.getValue());
        }
        securityBlock(top, "client-transport-security", "");
        securityBlock(top, "peer-transport-security", "peer-");
        warnIgnoredFlags();
        return build(Source.CONFIG_FILE);
    }

    /** A {@code *-transport-security} block: its keys map to the flags with {@code prefix}. */
    private void securityBlock(Map<?, ?> top, String blockName, String prefix) {
        Object block = top.get(blockName);
        if (block == null) return;
        if (!(block instanceof Map<?, ?> map)) {
            throw new ConfigException("invalid value in config file for \"" + blockName + "\": expected a mapping");
        }
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String key = String.valueOf(entry.getKey());
            String flag = switch (key) {
                case "cert-file", "key-file", "client-cert-auth", "trusted-ca-file", "auto-tls" -> prefix + key;
                case "crl-file" -> prefix.isEmpty() ? "client-crl-file" : "peer-crl-file";
                case "allowed-cn" -> prefix.isEmpty() ? null : "peer-cert-allowed-cn";
                default -> null;
            };
            if (flag == null) {
                if (entry.getValue() != null) warn("ignoring unsupported config file key \"" + blockName + "." + key + "\"");
                continue;
            }
            putYaml(Flags.spec(flag), blockName + "." + key, entry.getValue());
        }
    }

    /** Converts one YAML value for {@code spec}; null means "not set", like an empty etcd YAML entry. */
    private void putYaml(Spec spec, String key, Object value) {
        if (value == null) return;
        try {
            given.put(spec.name(), yamlValue(spec, value));
        } catch (IllegalArgumentException e) {
            if (spec.kind() == Kind.URLS || spec.kind() == Kind.OPTIONAL_URLS) {
                throw new ConfigException("unexpected error setting up " + key + ": " + e.getMessage());
            }
            if (spec.kind() == Kind.CLUSTER_STATE) {
                throw new ConfigException("unexpected clusterState \"" + value + "\"");
            }
            throw new ConfigException("invalid value in config file for \"" + key + "\": " + e.getMessage());
        }
    }

    private static Object yamlValue(Spec spec, Object value) {
        switch (spec.kind()) {
            case NUMBER -> {
                if (value instanceof Integer || value instanceof Long || value instanceof BigInteger || value instanceof String) {
                    try {
                        return spec.parse(value.toString());
                    } catch (IllegalArgumentException e) {
                        // fall through to the typed message below
                    }
                }
                throw new IllegalArgumentException("expected " + article(spec.numberWord()) + ", got " + describe(value));
            }
            case BOOL, IGNORED_BOOL -> {
                if (value instanceof Boolean b) return b;
                if (value instanceof String s && (s.equals("true") || s.equals("false"))) return Boolean.parseBoolean(s);
                throw new IllegalArgumentException("expected true or false, got " + describe(value));
            }
            case DURATION -> {
                // etcd decodes YAML durations as JSON numbers of nanoseconds; strings are a quorumlab convenience.
                if (value instanceof Integer || value instanceof Long) return Duration.ofNanos(((Number) value).longValue());
                if (value instanceof String s) {
                    try {
                        return GoDuration.parse(s.trim());
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(e.getMessage());
                    }
                }
                throw new IllegalArgumentException("expected a duration (nanoseconds or e.g. \"5s\"), got " + describe(value));
            }
            case URLS, OPTIONAL_URLS, LIST -> {
                String joined = value instanceof List<?> list ? joinScalars(list) : scalar(value);
                return spec.parse(joined);
            }
            default -> {
                return spec.parse(scalar(value));
            }
        }
    }

    private static String joinScalars(List<?> list) {
        List<String> parts = new ArrayList<>();
        for (Object item : list) parts.add(scalar(item));
        return String.join(",", parts);
    }

    private static String scalar(Object value) {
        if (value instanceof Map || value instanceof List) {
            throw new IllegalArgumentException("expected a single value, got " + describe(value));
        }
        return String.valueOf(value);
    }

    private static String describe(Object value) {
        if (value instanceof String) return "\"" + value + "\"";
        if (value instanceof Map) return "a mapping";
        if (value instanceof List) return "a list";
        return String.valueOf(value);
    }

    private static String article(String word) {
        return (word.startsWith("u") || word.startsWith("i") ? "an " : "a ") + word;
    }

    private void warnIgnoredFlags() {
        for (String name : new TreeMap<>(given).keySet()) {
            Spec spec = Flags.spec(name);
            if (spec.kind().ignored()) warn("--" + name + " is an etcd option quorumlab does not support; ignored");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Building and validating

    private ServerConfig build(Source source) {
        String name = string("name");
        Path dataDir = Path.of(string("data-dir").isEmpty() ? name + ".etcd" : string("data-dir"));
        Path walDir = string("wal-dir").isEmpty() ? dataDir.resolve("member").resolve("wal") : Path.of(string("wal-dir"));

        // etcd: "--advertise-client-urls is required when --listen-client-urls is set explicitly" (flags only).
        if (source == Source.FLAGS && given.containsKey("listen-client-urls") && !given.containsKey("advertise-client-urls")) {
            throw new ConfigException("--advertise-client-urls is required when --listen-client-urls is set explicitly."
                    + " When listening on specific address(es), this etcd process must advertise accessible url(s)"
                    + " to each connected client.");
        }
        ServerConfig.Urls urls = new ServerConfig.Urls(urls("listen-client-urls"), urls("advertise-client-urls"),
                urls("listen-peer-urls"), urls("initial-advertise-peer-urls"));
        List<URI> metricsUrls = urls("listen-metrics-urls");
        checkBindUrls(urls.listenPeer());
        checkBindUrls(urls.listenClient());
        checkBindUrls(metricsUrls);
        checkHostUrls(urls.initialAdvertisePeer());
        checkHostUrls(urls.advertiseClient());

        ServerConfig.Raft raft = raft();
        ServerConfig.Cluster cluster = cluster(name, urls.initialAdvertisePeer());
        ServerConfig.Storage storage = storage();
        ServerConfig.Compaction compaction = compaction();
        ServerConfig.Grpc grpc = new ServerConfig.Grpc((int) number("max-txn-ops"), number("max-request-bytes"),
                number("max-concurrent-streams"), duration("grpc-keepalive-min-time"), duration("grpc-keepalive-interval"),
                duration("grpc-keepalive-timeout"));
        if (grpc.maxTxnOps() == 0) throw new ConfigException("--max-txn-ops must be at least 1");
        if (grpc.maxRequestBytes() == 0) throw new ConfigException("--max-request-bytes must be at least 1");
        if (grpc.keepaliveInterval().isNegative() || grpc.keepaliveTimeout().isNegative() || grpc.keepaliveMinTime().isNegative()) {
            throw new ConfigException("--grpc-keepalive-min-time, --grpc-keepalive-interval and --grpc-keepalive-timeout must not be negative");
        }

        ServerConfig.Tls clientTls = tls("", "cert-file", "key-file", "client-cert-auth", "trusted-ca-file", "client-crl-file",
                "auto-tls", null);
        ServerConfig.Tls peerTls = tls("peer-", "peer-cert-file", "peer-key-file", "peer-client-cert-auth",
                "peer-trusted-ca-file", "peer-crl-file", "peer-auto-tls", "peer-cert-allowed-cn");
        checkTlsListeners(urls.listenClient(), clientTls, true);
        checkTlsListeners(urls.listenPeer(), peerTls, false);
        checkTlsListeners(metricsUrls, clientTls, true);
        List<String> cipherSuites = list("cipher-suites");
        try {
            io.quorumlab.server.tls.CipherSuites.toJsse(cipherSuites);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage()); // etcd: unexpected TLS cipher suite "X"
        }
        List<String> unusable = io.quorumlab.server.tls.CipherSuites.unsupported(cipherSuites);
        if (!unusable.isEmpty()) warn("--cipher-suites " + unusable + " are disabled in this JVM; ignoring them");

        ServerConfig.Auth auth = auth();
        ServerConfig.Logging logging = logging();
        String metricsLevel = string("metrics");
        if (!metricsLevel.equals("basic") && !metricsLevel.equals("extensive")) {
            warn("unknown --metrics \"" + metricsLevel + "\" (want basic or extensive); using basic");
            metricsLevel = "basic";
        }
        Duration progressNotify = duration("experimental-watch-progress-notify-interval");
        if (progressNotify.isNegative()) {
            throw new ConfigException("--experimental-watch-progress-notify-interval must not be negative");
        }
        Duration corruptCheck = duration("experimental-corrupt-check-time");
        if (corruptCheck.isNegative()) {
            throw new ConfigException("--experimental-corrupt-check-time must not be negative");
        }
        return new ServerConfig(name, dataDir, walDir, urls, cluster, raft, storage, compaction, grpc, clientTls, peerTls,
                cipherSuites, auth, logging, new ServerConfig.Metrics(metricsLevel, metricsUrls),
                bool("enable-pprof"), progressNotify, bool("experimental-initial-corrupt-check"), corruptCheck);
    }

    private ServerConfig.Raft raft() {
        long heartbeat = number("heartbeat-interval");
        long election = number("election-timeout");
        if (heartbeat <= 0) throw new ConfigException("--heartbeat-interval must be >0 (set to " + heartbeat + "ms)");
        if (election <= 0) throw new ConfigException("--election-timeout must be >0 (set to " + election + "ms)");
        if (5 * heartbeat > election) {
            throw new ConfigException("--election-timeout[" + election + "ms] should be at least as 5 times as --heartbeat-interval["
                    + heartbeat + "ms]");
        }
        if (election > ServerConfig.MAX_ELECTION_TIMEOUT_MILLIS) {
            throw new ConfigException("--election-timeout[" + election + "ms] is too long, and should be set less than "
                    + ServerConfig.MAX_ELECTION_TIMEOUT_MILLIS + "ms");
        }
        long snapshotCount = number("snapshot-count");
        if (snapshotCount == 0) snapshotCount = 100_000; // etcd: 0 means the default
        return new ServerConfig.Raft(heartbeat, election, bool("pre-vote"), snapshotCount);
    }

    private ServerConfig.Cluster cluster(String name, List<URI> advertisePeer) {
        String initialCluster = string("initial-cluster");
        if (initialCluster.isBlank()) {
            // etcd's InitialClusterFromName: "<name>=<url>" for each --initial-advertise-peer-urls entry.
            List<String> entries = new ArrayList<>();
            for (URI uri : advertisePeer) entries.add(name + "=" + uri);
            initialCluster = String.join(",", entries);
        }
        Map<String, List<URI>> members = parseInitialCluster(initialCluster);
        if (!members.containsKey(name)) {
            throw new ConfigException("couldn't find local name \"" + name + "\" in the initial cluster configuration");
        }
        checkAdvertiseMatchesCluster(name, initialCluster, members.get(name), advertisePeer);
        return new ServerConfig.Cluster(initialCluster, members, (ClusterState) value("initial-cluster-state"), string("initial-cluster-token"), bool("strict-reconfig-check"), bool("force-new-cluster"));
    }

    /** etcd's {@code types.NewURLsMap}, with clearer messages for entries that are not name=url. */
    private static Map<String, List<URI>> parseInitialCluster(String text) {
        Map<String, List<URI>> members = new LinkedHashMap<>();
        Set<URI> seen = new HashSet<>();
        for (String entry : text.split(",")) {
            entry = entry.trim();
            if (entry.isEmpty()) continue;
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("error setting up initial cluster: \"" + entry + "\" is not of the form name=peer-url");
            }
            URI uri;
            try {
                uri = Flags.parseUrl(entry.substring(eq + 1).trim());
            } catch (IllegalArgumentException e) {
                throw new ConfigException("error setting up initial cluster: " + e.getMessage());
            }
            if (!seen.add(uri)) throw new ConfigException("initial cluster " + text + " has duplicate url " + uri);
            members.computeIfAbsent(entry.substring(0, eq).trim(), k -> new ArrayList<>()).add(uri);
        }
        if (members.isEmpty()) throw new ConfigException("error setting up initial cluster: --initial-cluster is empty");
        return members;
    }

    /**
     * etcd checks that this member's --initial-cluster URLs equal its --initial-advertise-peer-urls after
     * resolving DNS. Without resolving we can only compare literally, so a mismatch involving a host name
     * (localhost included) only warns; a mismatch between IP literals is certain.
     */
    private void checkAdvertiseMatchesCluster(String name, String initialCluster, List<URI> inCluster, List<URI> advertised) {
        List<String> a = inCluster.stream().map(ConfigParser::normalise).sorted().toList();
        List<String> b = advertised.stream().map(ConfigParser::normalise).sorted().toList();
        if (a.equals(b)) return;
        boolean allLiteral = java.util.stream.Stream.concat(inCluster.stream(), advertised.stream())
                .allMatch(u -> isIpLiteral(Listener.of(u).host()));
        if (!allLiteral) {
            warn("--initial-cluster URLs " + a + " for this member differ from --initial-advertise-peer-urls " + b
                    + "; etcd accepts this only if they resolve to the same addresses");
            return;
        }
        String missing = String.join(",", a.stream().filter(u -> !b.contains(u)).map(u -> name + "=" + u).toList());
        String advertisedText = String.join(",", advertised.stream().map(URI::toString).toList());
        if (missing.isEmpty()) {
            throw new ConfigException("--initial-advertise-peer-urls has " + advertisedText
                    + " but missing from --initial-cluster=" + initialCluster);
        }
        throw new ConfigException("--initial-cluster has " + missing + " but missing from --initial-advertise-peer-urls="
                + advertisedText);
    }

    private static String normalise(URI uri) {
        return uri.toString().toLowerCase(java.util.Locale.ROOT);
    }

    private ServerConfig.Storage storage() {
        long quota = number("quota-backend-bytes");
        if (quota > ServerConfig.MAX_RECOMMENDED_QUOTA_BACKEND_BYTES) {
            warn("backend quota " + quota + " exceeds maximum recommended quota " + ServerConfig.MAX_RECOMMENDED_QUOTA_BACKEND_BYTES);
        } else if (quota < 0) {
            warn("disabled backend quota (--quota-backend-bytes " + quota + " is negative)");
        }
        Duration batchInterval = duration("backend-batch-interval");
        if (batchInterval.isNegative()) throw new ConfigException("--backend-batch-interval must not be negative");
        return new ServerConfig.Storage(number("max-snapshots"), number("max-wals"), quota, batchInterval,
                (int) number("backend-batch-limit"), bool("experimental-wal-direct-io"));
    }

    private ServerConfig.Compaction compaction() {
        String modeText = string("auto-compaction-mode");
        CompactionMode mode = switch (modeText) {
            case "periodic", "" -> CompactionMode.PERIODIC;
            case "revision" -> CompactionMode.REVISION;
            default -> throw new ConfigException("unknown auto-compaction-mode \"" + modeText + "\"");
        };
        String retention = string("auto-compaction-retention").trim();
        if (retention.isEmpty()) retention = "0";
        if (mode == CompactionMode.REVISION) {
            long revisions;
            try {
                revisions = Long.parseLong(retention);
            } catch (NumberFormatException e) {
                throw new ConfigException("error parsing CompactionRetention: revision mode needs a number of revisions, got \""
                        + retention + "\"");
            }
            if (revisions < 0) throw new ConfigException("error parsing CompactionRetention: negative revisions " + retention);
            return new ServerConfig.Compaction(mode, retention, Duration.ZERO, revisions);
        }
        Duration period;
        if (retention.chars().allMatch(Character::isDigit)) {
            period = Duration.ofHours(Long.parseLong(retention)); // etcd: a bare integer is hours
        } else {
            try {
                period = GoDuration.parse(retention);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("error parsing CompactionRetention: " + e.getMessage());
            }
            if (period.isNegative()) throw new ConfigException("error parsing CompactionRetention: negative duration " + retention);
        }
        return new ServerConfig.Compaction(mode, retention, period, 0);
    }

    private ServerConfig.Tls tls(String prefix, String cert, String key, String certAuth, String ca, String crl, String autoTls,
                                 String allowedCn) {
        Optional<Path> certFile = path(cert);
        Optional<Path> keyFile = path(key);
        if (certFile.isPresent() != keyFile.isPresent()) {
            throw new ConfigException("--" + cert + " and --" + key + " must be given together");
        }
        boolean auto = bool(autoTls);
        if (auto && certFile.isPresent()) {
            warn("ignoring --" + autoTls + " since certs given (--" + cert + ", --" + key + ")");
            auto = false;
        }
        if (auto) {
            // etcd replaces the whole TLS info with the self-signed one: these settings are dropped.
            for (String dropped : new String[] {certAuth, ca, crl, allowedCn}) {
                if (dropped == null) continue;
                boolean set = dropped.equals(certAuth) ? bool(dropped) : !string(dropped).isEmpty();
                if (set) warn("ignoring --" + dropped + " with --" + autoTls + " (a self-signed certificate verifies nobody)");
            }
        }
        if (bool(certAuth) && path(ca).isEmpty() && certFile.isPresent()) {
            warn("--" + certAuth + " is set without --" + ca + "; client certificates will be checked against the JVM trust store");
        }
        Optional<String> cn = allowedCn == null || string(allowedCn).isEmpty() ? Optional.empty() : Optional.of(string(allowedCn));
        return new ServerConfig.Tls(certFile, keyFile, bool(certAuth), path(ca), path(crl), auto, cn);
    }

    private void checkTlsListeners(List<URI> uris, ServerConfig.Tls tls, boolean client) {
        for (URI uri : uris) {
            Listener listener = Listener.of(uri);
            if (listener.secure() && !tls.enabled()) {
                throw new ConfigException(client
                        ? "TLS key/cert (--cert-file, --key-file) must be provided for client url " + uri + " with HTTPS scheme"
                        : "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url " + uri
                                + " with HTTPS scheme");
            }
            if (!listener.secure() && tls.hasCertificate()) {
                warn("scheme is " + listener.scheme().toUpperCase(java.util.Locale.ROOT) + " while key and cert files are present;"
                        + " ignoring key and cert files for " + uri);
            }
        }
    }

    private ServerConfig.Auth auth() {
        String token = string("auth-token");
        String type = new ServerConfig.Auth(token, DEFAULT_BCRYPT_COST).tokenType();
        if (!type.equals("simple") && !type.equals("jwt")) {
            throw new ConfigException("auth: unknown token type \"" + type + "\" in --auth-token (want simple or jwt,...)");
        }
        long cost = number("bcrypt-cost");
        if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
            warn("Use default bcrypt-cost " + DEFAULT_BCRYPT_COST + " instead of the invalid value " + cost);
            cost = DEFAULT_BCRYPT_COST;
        }
        return new ServerConfig.Auth(token, (int) cost);
    }

    private ServerConfig.Logging logging() {
        String logger = string("logger");
        if (logger.equals("capnslog")) {
            warn("--logger=capnslog is deprecated in etcd; quorumlab logs structured output as with --logger=zap");
        } else if (!logger.equals("zap")) {
            throw new ConfigException("unknown logger option \"" + logger + "\"");
        }
        String level = string("log-level");
        if (!LOG_LEVELS.contains(level)) {
            throw new ConfigException("unknown level \"" + level + "\" for --log-level (want one of " + LOG_LEVELS + ")");
        }
        List<String> outputs = list("log-outputs");
        if (outputs.isEmpty()) outputs = List.of("default");
        return new ServerConfig.Logging(logger, level, outputs);
    }

    /** etcd's checkBindURLs: listeners must name an IP address or localhost (or be Unix sockets). */
    private static void checkBindUrls(List<URI> uris) {
        for (URI uri : uris) {
            Listener listener = Listener.of(uri);
            if (listener.unixSocket() || listener.host().equals("localhost")) continue;
            if (!isIpLiteral(listener.host())) {
                throw new ConfigException("expected IP in URL for binding (" + uri + ")");
            }
        }
    }

    /** etcd's checkHostURLs: advertised URLs need a host. */
    private static void checkHostUrls(List<URI> uris) {
        for (URI uri : uris) {
            if (Listener.of(uri).host().isEmpty()) throw new ConfigException("unexpected empty host (" + uri + ")");
        }
    }

    private static boolean isIpLiteral(String host) {
        if (IPV4.matcher(host).matches()) return true;
        if (!host.contains(":")) return false;
        try {
            InetAddress.getByName("[" + host + "]"); // a bracketed literal is parsed, never resolved
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Typed access to given-or-default values

    private Object value(String name) {
        Object v = given.get(name);
        return v != null ? v : Flags.spec(name).defaultValue();
    }

    private String string(String name) {
        return (String) value(name);
    }

    private long number(String name) {
        return (Long) value(name);
    }

    private boolean bool(String name) {
        return (Boolean) value(name);
    }

    private Duration duration(String name) {
        return (Duration) value(name);
    }

    @SuppressWarnings("unchecked")
    private List<URI> urls(String name) {
        return (List<URI>) value(name);
    }

    @SuppressWarnings("unchecked")
    private List<String> list(String name) {
        return (List<String>) value(name);
    }

    private Optional<Path> path(String name) {
        String text = string(name);
        return text.isEmpty() ? Optional.empty() : Optional.of(Path.of(text));
    }

    private void warn(String message) {
        log.warn("config: {}", message);
        warnings.accept(message);
    }
}
