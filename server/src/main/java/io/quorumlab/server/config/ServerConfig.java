package io.quorumlab.server.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Everything a quorumlab member is started with, read the way etcd reads it: same flag names, same
 * {@code ETCD_*} environment variables, same YAML config file, same defaults, same precedence.
 *
 * <h2>Sources and precedence</h2>
 * <ol>
 *   <li>If {@code --config-file} (or, when that flag is absent, {@code ETCD_CONFIG_FILE}) names a file,
 *       the YAML file is the <em>only</em> source: like etcd, every other command-line flag and every
 *       {@code ETCD_*} variable is ignored (a warning says so). Flags are still checked for syntax, so an
 *       unknown flag is an error either way.</li>
 *   <li>Otherwise command-line flags win; Go {@code flag} syntax: {@code --name value},
 *       {@code --name=value}, a single dash works too, booleans are {@code --flag} or
 *       {@code --flag=true|false} (never {@code --flag false}), the last repetition wins.</li>
 *   <li>Then {@code ETCD_<FLAG>} (upper case, dashes to underscores) for each flag not on the command
 *       line. An env var shadowed by a flag, and an unknown {@code ETCD_*} variable, only warn
 *       (etcd 3.4 exits on the former; see the package notes).</li>
 *   <li>Then etcd's defaults.</li>
 * </ol>
 *
 * <h2>Defaults (etcd's unless noted)</h2>
 * <table>
 *   <caption>defaults</caption>
 *   <tr><td>name</td><td>{@code default}</td></tr>
 *   <tr><td>data-dir</td><td>{@code <name>.etcd}</td></tr>
 *   <tr><td>wal-dir</td><td>{@code <data-dir>/member/wal}</td></tr>
 *   <tr><td>listen-client-urls, advertise-client-urls</td><td>{@code http://localhost:2379}</td></tr>
 *   <tr><td>listen-peer-urls, initial-advertise-peer-urls</td><td>{@code http://localhost:2380}</td></tr>
 *   <tr><td>initial-cluster</td><td>{@code <name>=<each initial-advertise-peer-url>}, i.e.
 *       {@code default=http://localhost:2380}</td></tr>
 *   <tr><td>initial-cluster-state / -token</td><td>{@code new} / {@code etcd-cluster}</td></tr>
 *   <tr><td>snapshot-count</td><td>100000</td></tr>
 *   <tr><td>heartbeat-interval / election-timeout</td><td>100 / 1000 (milliseconds, plain integers)</td></tr>
 *   <tr><td>max-snapshots / max-wals</td><td>5 / 5 (0 = keep all)</td></tr>
 *   <tr><td>quota-backend-bytes</td><td>0 = 2 GiB; negative = no quota; above 8 GiB warns</td></tr>
 *   <tr><td>backend-batch-interval / -limit</td><td>0 = 100ms / 0 = 10000</td></tr>
 *   <tr><td>max-txn-ops / max-request-bytes</td><td>128 / 1572864</td></tr>
 *   <tr><td>max-concurrent-streams</td><td>4294967295 (unlimited)</td></tr>
 *   <tr><td>grpc-keepalive-min-time / -interval / -timeout</td><td>5s / 2h / 20s</td></tr>
 *   <tr><td>strict-reconfig-check</td><td>true</td></tr>
 *   <tr><td>pre-vote</td><td><b>true</b> (etcd 3.5+; etcd 3.4 defaults to false)</td></tr>
 *   <tr><td>auto-compaction-mode / -retention</td><td>{@code periodic} / {@code "0"} (off)</td></tr>
 *   <tr><td>auth-token / bcrypt-cost</td><td>{@code simple} / 10</td></tr>
 *   <tr><td>metrics / listen-metrics-urls</td><td>{@code basic} / none</td></tr>
 *   <tr><td>logger / log-level / log-outputs</td><td>{@code zap} (etcd 3.4: capnslog) / {@code info} /
 *       {@code default}</td></tr>
 *   <tr><td>experimental-watch-progress-notify-interval</td><td>10m</td></tr>
 *   <tr><td>experimental-wal-direct-io (quorumlab's own)</td><td>true: WAL appends with O_DIRECT where the
 *       file system allows it, else buffered</td></tr>
 *   <tr><td>TLS flags, enable-pprof, force-new-cluster, experimental-initial-corrupt-check</td><td>empty / false</td></tr>
 * </table>
 *
 * <h2>Value syntax</h2>
 * heartbeat-interval and election-timeout are integer milliseconds (etcd rejects {@code 1s} there too).
 * The other durations are Go durations ({@code 100ms}, {@code 5s}, {@code 2h}, {@code 1h30m}); in the
 * YAML file a bare number is nanoseconds, as etcd reads it. URL lists are comma-separated and each URL
 * must be {@code http|https|unix|unixs://host:port} with no path. In YAML, list values may also be
 * YAML sequences, and TLS settings live in {@code client-transport-security} /
 * {@code peer-transport-security} blocks ({@code cert-file}, {@code key-file}, {@code client-cert-auth},
 * {@code trusted-ca-file}, {@code auto-tls}, {@code allowed-cn}, {@code crl-file}).
 *
 * <h2>Validation</h2>
 * {@link #parse} throws {@link ConfigException} with etcd's message where etcd has one: unknown flag
 * ({@code flag provided but not defined: -x}), bad value ({@code invalid value "abc" for flag
 * -snapshot-count: parse error}), election timeout under 5 heartbeats or over 50000ms, local name
 * missing from --initial-cluster, malformed URLs, unknown cluster state, compaction mode, logger or log
 * level, https listeners without certificates, and more. Suspicious but legal settings are reported
 * through the warning sink (and SLF4J).
 *
 * @param name member name (--name)
 * @param dataDir data directory (--data-dir), {@code <name>.etcd} unless given
 * @param walDir write-ahead log directory (--wal-dir), {@code <data-dir>/member/wal} unless given
 * @param urls the listen and advertise URLs
 * @param cluster bootstrap settings (--initial-cluster*, --strict-reconfig-check, --force-new-cluster)
 * @param raft Raft timing and snapshotting
 * @param storage backend and file retention limits
 * @param compaction auto-compaction policy
 * @param grpc request limits and gRPC keepalive
 * @param clientTransport TLS for the client port (--cert-file, --key-file, ...)
 * @param peerTransport TLS for the peer port (--peer-cert-file, ...)
 * @param cipherSuites allowed TLS cipher suites, Go names (--cipher-suites); empty = JVM defaults
 * @param auth --auth-token and --bcrypt-cost
 * @param logging --logger, --log-level, --log-outputs
 * @param metrics --metrics and --listen-metrics-urls
 * @param enablePprof --enable-pprof (accepted; quorumlab exposes JVM diagnostics instead)
 * @param watchProgressNotifyInterval --experimental-watch-progress-notify-interval
 * @param initialCorruptCheck --experimental-initial-corrupt-check: before serving clients, a restarted
 *        member compares its HashKV with its peers' at its revision and refuses to start on a mismatch
 * @param corruptCheckTime --experimental-corrupt-check-time: period of the leader's HashKV comparison
 *        with every member while running; zero (etcd's default) turns the periodic check off
 */
public record ServerConfig(
        String name,
        Path dataDir,
        Path walDir,
        Urls urls,
        Cluster cluster,
        Raft raft,
        Storage storage,
        Compaction compaction,
        Grpc grpc,
        Tls clientTransport,
        Tls peerTransport,
        List<String> cipherSuites,
        Auth auth,
        Logging logging,
        Metrics metrics,
        boolean enablePprof,
        Duration watchProgressNotifyInterval,
        boolean initialCorruptCheck,
        Duration corruptCheckTime) {

    /** etcd refuses election timeouts above this (milliseconds). */
    public static final long MAX_ELECTION_TIMEOUT_MILLIS = 50_000;
    /** quota-backend-bytes 0 means this. */
    public static final long DEFAULT_QUOTA_BACKEND_BYTES = 2L << 30;
    /** Quotas above this are allowed but warned about, as etcd does. */
    public static final long MAX_RECOMMENDED_QUOTA_BACKEND_BYTES = 8L << 30;
    /** gRPC accepts messages this much larger than --max-request-bytes (etcd's grpcOverheadBytes). */
    public static final long GRPC_OVERHEAD_BYTES = 512 * 1024;

    public ServerConfig {
        assert name != null && dataDir != null && walDir != null;
        cipherSuites = List.copyOf(cipherSuites);
    }

    // ---------------------------------------------------------------------------------------------
    // Parsing

    /**
     * Reads the configuration from command-line arguments (without the program name) and the process
     * environment, in etcd's precedence; warnings go to SLF4J.
     *
     * @throws ConfigException for any invalid flag, variable, file or combination
     */
    public static ServerConfig parse(String[] args, Map<String, String> env) {
        return parse(args, env, w -> { });
    }

    /** As {@link #parse(String[], Map)}, also handing every warning to {@code warnings}. */
    public static ServerConfig parse(String[] args, Map<String, String> env, Consumer<String> warnings) {
        return new ConfigParser(warnings).parse(args, env);
    }

    /** Reads an etcd YAML config file's text (what {@code --config-file} does after reading the file). */
    public static ServerConfig fromYaml(String yaml) {
        return fromYaml(yaml, w -> { });
    }

    /** As {@link #fromYaml(String)}, also handing every warning to {@code warnings}. */
    public static ServerConfig fromYaml(String yaml, Consumer<String> warnings) {
        return new ConfigParser(warnings).parseYaml(yaml);
    }

    /** etcd's defaults: a single member named {@code default} on localhost. */
    public static ServerConfig defaults() {
        return parse(new String[0], Map.of());
    }

    // ---------------------------------------------------------------------------------------------
    // Convenience views

    /** --listen-client-urls: where the client (gRPC + HTTP) server binds. */
    public List<URI> clientUrls() {
        return urls.listenClient();
    }

    /** --advertise-client-urls: what this member tells clients and peers to use. */
    public List<URI> advertiseClientUrls() {
        return urls.advertiseClient();
    }

    /** --listen-peer-urls: where the peer (Raft) server binds. */
    public List<URI> peerUrls() {
        return urls.listenPeer();
    }

    /** --initial-advertise-peer-urls: this member's peer URLs as recorded in the cluster. */
    public List<URI> advertisePeerUrls() {
        return urls.initialAdvertisePeer();
    }

    /** --listen-metrics-urls: extra listeners serving only /metrics and /health; may be empty. */
    public List<URI> metricsUrls() {
        return metrics.listenUrls();
    }

    public List<Listener> clientListeners() {
        return listeners(clientUrls());
    }

    public List<Listener> peerListeners() {
        return listeners(peerUrls());
    }

    public List<Listener> metricsListeners() {
        return listeners(metricsUrls());
    }

    /** True when any client listener is https/unixs (validation guarantees a certificate or auto-tls then). */
    public boolean clientTls() {
        return clientListeners().stream().anyMatch(Listener::secure);
    }

    /** True when any peer listener is https/unixs. */
    public boolean peerTls() {
        return peerListeners().stream().anyMatch(Listener::secure);
    }

    /** Member name to its comma-joined peer URLs, in --initial-cluster order. */
    public Map<String, String> initialClusterMap() {
        Map<String, String> out = new LinkedHashMap<>();
        cluster.members().forEach((member, peerUrls) ->
                out.put(member, peerUrls.stream().map(URI::toString).collect(Collectors.joining(","))));
        return Collections.unmodifiableMap(out);
    }

    /** Member name to its peer URLs, in --initial-cluster order. */
    public Map<String, List<URI>> initialClusterUrls() {
        return cluster.members();
    }

    /** --initial-cluster-state new: this member bootstraps a new cluster rather than joining one. */
    public boolean newCluster() {
        return cluster.state() == ClusterState.NEW;
    }

    public Duration heartbeatInterval() {
        return Duration.ofMillis(raft.heartbeatMillis());
    }

    public Duration electionTimeout() {
        return Duration.ofMillis(raft.electionMillis());
    }

    private static List<Listener> listeners(List<URI> uris) {
        List<Listener> out = new ArrayList<>(uris.size());
        for (URI uri : uris) out.add(Listener.of(uri));
        return List.copyOf(out);
    }

    // ---------------------------------------------------------------------------------------------
    // Groups

    /** --initial-cluster-state. */
    public enum ClusterState {
        NEW("new"), EXISTING("existing");

        private final String flagValue;

        ClusterState(String flagValue) {
            this.flagValue = flagValue;
        }

        /** The value as written on etcd's command line. */
        public String flagValue() {
            return flagValue;
        }
    }

    /** --auto-compaction-mode. */
    public enum CompactionMode {
        /** Retention is a time window: {@code "1"} is one hour, {@code "30m"} thirty minutes. */
        PERIODIC("periodic"),
        /** Retention is a number of revisions to keep. */
        REVISION("revision");

        private final String flagValue;

        CompactionMode(String flagValue) {
            this.flagValue = flagValue;
        }

        public String flagValue() {
            return flagValue;
        }
    }

    /**
     * The URLs a member binds and advertises; each list is non-empty and in the order given.
     *
     * @param listenClient --listen-client-urls
     * @param advertiseClient --advertise-client-urls
     * @param listenPeer --listen-peer-urls
     * @param initialAdvertisePeer --initial-advertise-peer-urls
     */
    public record Urls(List<URI> listenClient, List<URI> advertiseClient, List<URI> listenPeer,
                       List<URI> initialAdvertisePeer) {
        public Urls {
            listenClient = List.copyOf(listenClient);
            advertiseClient = List.copyOf(advertiseClient);
            listenPeer = List.copyOf(listenPeer);
            initialAdvertisePeer = List.copyOf(initialAdvertisePeer);
        }
    }

    /**
     * How the member finds its cluster at first start.
     *
     * @param initialCluster --initial-cluster as given or derived ({@code name=url,name=url})
     * @param members the same, parsed: member name to its peer URLs, in order
     * @param state --initial-cluster-state
     * @param token --initial-cluster-token
     * @param strictReconfigCheck --strict-reconfig-check: refuse membership changes that risk quorum
     * @param forceNewCluster --force-new-cluster: restart as a one-member cluster keeping the data
     */
    public record Cluster(String initialCluster, Map<String, List<URI>> members, ClusterState state, String token,
                          boolean strictReconfigCheck, boolean forceNewCluster) {
        public Cluster {
            Map<String, List<URI>> copy = new LinkedHashMap<>();
            members.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            members = Collections.unmodifiableMap(copy);
        }
    }

    /**
     * Raft timing and log compaction.
     *
     * @param heartbeatMillis --heartbeat-interval
     * @param electionMillis --election-timeout (randomised in [T, 2T) by Raft)
     * @param preVote --pre-vote (default true, as etcd 3.5+)
     * @param snapshotCount --snapshot-count: applied entries between snapshots
     */
    public record Raft(long heartbeatMillis, long electionMillis, boolean preVote, long snapshotCount) {

        /** Election timeout in heartbeat ticks (etcd's ElectionTicks). */
        public int electionTicks() {
            return (int) (electionMillis / heartbeatMillis);
        }
    }

    /**
     * Backend and file retention.
     *
     * @param maxSnapshots --max-snapshots: snapshot files kept (0 = all)
     * @param maxWals --max-wals: WAL files kept (0 = all)
     * @param quotaBackendBytes --quota-backend-bytes as given (0 = default, negative = no quota)
     * @param backendBatchInterval --backend-batch-interval as given (0 = default)
     * @param backendBatchLimit --backend-batch-limit as given (0 or less = default)
     * @param walDirectIo --experimental-wal-direct-io (quorumlab's): WAL appends bypass the page cache
     */
    public record Storage(long maxSnapshots, long maxWals, long quotaBackendBytes, Duration backendBatchInterval,
                          int backendBatchLimit, boolean walDirectIo) {

        /** The quota actually enforced: 2 GiB for 0, {@code Long.MAX_VALUE} (none) when negative. */
        public long effectiveQuotaBackendBytes() {
            if (quotaBackendBytes == 0) return DEFAULT_QUOTA_BACKEND_BYTES;
            return quotaBackendBytes < 0 ? Long.MAX_VALUE : quotaBackendBytes;
        }

        public Duration effectiveBackendBatchInterval() {
            return backendBatchInterval.isZero() || backendBatchInterval.isNegative()
                    ? Duration.ofMillis(100) : backendBatchInterval;
        }

        public int effectiveBackendBatchLimit() {
            return backendBatchLimit <= 0 ? 10_000 : backendBatchLimit;
        }
    }

    /**
     * Auto-compaction (--auto-compaction-mode, --auto-compaction-retention).
     *
     * @param mode periodic or revision
     * @param retention the retention text as given
     * @param period for periodic mode the window (zero = disabled); zero in revision mode
     * @param revisions for revision mode the revisions to keep (zero = disabled); zero in periodic mode
     */
    public record Compaction(CompactionMode mode, String retention, Duration period, long revisions) {

        /** Whether auto-compaction runs at all. */
        public boolean enabled() {
            return mode == CompactionMode.PERIODIC ? !period.isZero() : revisions != 0;
        }
    }

    /**
     * Request limits and gRPC server settings.
     *
     * @param maxTxnOps --max-txn-ops
     * @param maxRequestBytes --max-request-bytes
     * @param maxConcurrentStreams --max-concurrent-streams (4294967295 = unlimited)
     * @param keepaliveMinTime --grpc-keepalive-min-time: clients pinging more often are refused
     * @param keepaliveInterval --grpc-keepalive-interval: server-to-client ping period
     * @param keepaliveTimeout --grpc-keepalive-timeout: ping ack deadline
     */
    public record Grpc(int maxTxnOps, long maxRequestBytes, long maxConcurrentStreams, Duration keepaliveMinTime,
                       Duration keepaliveInterval, Duration keepaliveTimeout) {

        /** gRPC's max inbound message size: --max-request-bytes plus 512 KiB, as etcd sets it. */
        public int maxInboundMessageBytes() {
            return (int) Math.min(Integer.MAX_VALUE, maxRequestBytes + GRPC_OVERHEAD_BYTES);
        }

        /** --max-concurrent-streams clamped to what grpc-java's {@code maxConcurrentCallsPerConnection} takes. */
        public int maxConcurrentCallsPerConnection() {
            return (int) Math.min(Integer.MAX_VALUE, maxConcurrentStreams);
        }
    }

    /**
     * TLS for one side (client or peer).
     *
     * @param certFile server certificate (PEM)
     * @param keyFile its private key (PEM)
     * @param clientCertAuth require and verify client certificates
     * @param trustedCaFile CA bundle that client certificates must chain to
     * @param crlFile certificate revocation list
     * @param autoTls generate a self-signed certificate when no cert/key files are given
     * @param allowedCn required common name of client certificates (peer side only in etcd)
     */
    public record Tls(Optional<Path> certFile, Optional<Path> keyFile, boolean clientCertAuth,
                      Optional<Path> trustedCaFile, Optional<Path> crlFile, boolean autoTls,
                      Optional<String> allowedCn) {

        /** A certificate and key were configured. */
        public boolean hasCertificate() {
            return certFile.isPresent() && keyFile.isPresent();
        }

        /** TLS material is available: given files, or a self-signed certificate via auto-tls. */
        public boolean enabled() {
            return hasCertificate() || autoTls;
        }
    }

    /**
     * Authentication settings.
     *
     * @param token --auth-token as given: {@code simple} or {@code jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=5m}
     * @param bcryptCost --bcrypt-cost (4..31; etcd replaces other values with 10, with a warning)
     */
    public record Auth(String token, int bcryptCost) {

        /** {@code simple} or {@code jwt}. */
        public String tokenType() {
            int comma = token.indexOf(',');
            return comma < 0 ? token : token.substring(0, comma);
        }

        /** The {@code key=value} options after the token type, in order. */
        public Map<String, String> tokenOptions() {
            Map<String, String> out = new LinkedHashMap<>();
            String[] parts = token.split(",");
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq < 0) out.put(parts[i].trim(), "");
                else out.put(parts[i].substring(0, eq).trim(), parts[i].substring(eq + 1).trim());
            }
            return Collections.unmodifiableMap(out);
        }
    }

    /**
     * Logging.
     *
     * @param logger --logger: {@code zap} (quorumlab always logs structured SLF4J; capnslog is accepted)
     * @param level --log-level: debug, info, warn, error, panic or fatal
     * @param outputs --log-outputs: {@code default}, {@code stderr}, {@code stdout} or file paths
     */
    public record Logging(String logger, String level, List<String> outputs) {
        public Logging {
            outputs = List.copyOf(outputs);
        }
    }

    /**
     * Metrics.
     *
     * @param level --metrics: {@code basic} or {@code extensive}
     * @param listenUrls --listen-metrics-urls (possibly empty)
     */
    public record Metrics(String level, List<URI> listenUrls) {
        public Metrics {
            listenUrls = List.copyOf(listenUrls);
        }
    }
}
