package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.config.ServerConfig.ClusterState;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's {@code --config-file} YAML: flag names as keys, TLS in nested transport-security blocks. */
class YamlConfigTest {

    /** The seed guides' file, byte for byte. */
    static final String SEED_GUIDE_YAML = """
            name: etcd-1
            data-dir: /var/lib/etcd
            initial-advertise-peer-urls: https://10.0.0.11:2380
            listen-peer-urls: https://10.0.0.11:2380
            listen-client-urls: https://10.0.0.11:2379,https://127.0.0.1:2379
            advertise-client-urls: https://10.0.0.11:2379
            initial-cluster-token: etcd-cluster-1
            initial-cluster: etcd-1=https://10.0.0.11:2380,etcd-2=https://10.0.0.12:2380,etcd-3=https://10.0.0.13:2380
            initial-cluster-state: new
            snapshot-count: 10000
            heartbeat-interval: 100
            election-timeout: 1000
            quota-backend-bytes: 8589934592
            auto-compaction-mode: periodic
            auto-compaction-retention: "1"
            client-transport-security:
              cert-file: /etc/etcd/pki/server.crt
              key-file: /etc/etcd/pki/server.key
              client-cert-auth: true
              trusted-ca-file: /etc/etcd/pki/ca.crt
            peer-transport-security:
              cert-file: /etc/etcd/pki/peer.crt
              key-file: /etc/etcd/pki/peer.key
              client-cert-auth: true
              trusted-ca-file: /etc/etcd/pki/ca.crt
            log-level: info
            logger: zap
            """;

    private final List<String> warnings = new ArrayList<>();

    private ServerConfig yaml(String text) {
        return ServerConfig.fromYaml(text, warnings::add);
    }

    @Test
    void seedGuideFileParsesUnchanged(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("etcd.conf.yml"), SEED_GUIDE_YAML);
        ServerConfig c = ServerConfig.parse(new String[] {"--config-file", file.toString()}, Map.of(), warnings::add);
        assertEquals(List.of(), warnings);
        assertEquals(c, ServerConfig.fromYaml(SEED_GUIDE_YAML));

        assertEquals("etcd-1", c.name());
        assertEquals(Path.of("/var/lib/etcd"), c.dataDir());
        assertEquals(Path.of("/var/lib/etcd/member/wal"), c.walDir());
        assertEquals(List.of(URI.create("https://10.0.0.11:2380")), c.advertisePeerUrls());
        assertEquals(List.of(URI.create("https://10.0.0.11:2380")), c.peerUrls());
        assertEquals(List.of(URI.create("https://10.0.0.11:2379"), URI.create("https://127.0.0.1:2379")), c.clientUrls());
        assertEquals(List.of(URI.create("https://10.0.0.11:2379")), c.advertiseClientUrls());
        assertEquals("127.0.0.1", c.clientListeners().get(1).host());
        assertEquals(2379, c.clientListeners().get(1).port());
        assertEquals("etcd-cluster-1", c.cluster().token());
        assertEquals(Map.of("etcd-1", "https://10.0.0.11:2380", "etcd-2", "https://10.0.0.12:2380",
                "etcd-3", "https://10.0.0.13:2380"), c.initialClusterMap());
        assertEquals(ClusterState.NEW, c.cluster().state());
        assertEquals(new ServerConfig.Raft(100, 1000, true, 10_000), c.raft());
        assertEquals(8L << 30, c.storage().quotaBackendBytes());
        assertEquals(8L << 30, c.storage().effectiveQuotaBackendBytes());
        assertEquals(Duration.ofHours(1), c.compaction().period());
        assertTrue(c.compaction().enabled());
        assertEquals(new ServerConfig.Tls(Optional.of(Path.of("/etc/etcd/pki/server.crt")),
                Optional.of(Path.of("/etc/etcd/pki/server.key")), true, Optional.of(Path.of("/etc/etcd/pki/ca.crt")),
                Optional.empty(), false, Optional.empty()), c.clientTransport());
        assertEquals(new ServerConfig.Tls(Optional.of(Path.of("/etc/etcd/pki/peer.crt")),
                Optional.of(Path.of("/etc/etcd/pki/peer.key")), true, Optional.of(Path.of("/etc/etcd/pki/ca.crt")),
                Optional.empty(), false, Optional.empty()), c.peerTransport());
        assertTrue(c.clientTls());
        assertTrue(c.peerTls());
        assertEquals(new ServerConfig.Logging("zap", "info", List.of("default")), c.logging());
    }

    @Test
    void etcdSampleStyleEmptyEntriesMeanDefault() {
        // etcd's etcd.conf.yml.sample leaves many keys empty (null) and sets some it does not act on.
        ServerConfig c = yaml("""
                name: 'default'
                data-dir:
                wal-dir:
                snapshot-count: 10000
                heartbeat-interval: 100
                election-timeout: 1000
                quota-backend-bytes: 0
                listen-peer-urls: http://localhost:2380
                listen-client-urls: http://localhost:2379
                max-snapshots: 5
                max-wals: 5
                cors:
                initial-advertise-peer-urls: http://localhost:2380
                advertise-client-urls: http://localhost:2379
                discovery:
                discovery-fallback: 'proxy'
                discovery-proxy:
                discovery-srv:
                initial-cluster:
                initial-cluster-token: 'etcd-cluster'
                initial-cluster-state: 'new'
                strict-reconfig-check: false
                enable-v2: true
                enable-pprof: true
                proxy: 'off'
                proxy-failure-wait: 5000
                client-transport-security:
                  cert-file:
                  key-file:
                  client-cert-auth: false
                  trusted-ca-file:
                  auto-tls: false
                peer-transport-security:
                  cert-file:
                  key-file:
                  client-cert-auth: false
                  trusted-ca-file:
                  auto-tls: false
                debug: false
                log-package-levels:
                log-outputs: [default]
                force-new-cluster: false
                """);
        assertEquals(Path.of("default.etcd"), c.dataDir());
        assertEquals("default=http://localhost:2380", c.cluster().initialCluster());
        assertEquals(10_000, c.raft().snapshotCount());
        assertFalse(c.cluster().strictReconfigCheck());
        assertTrue(c.enablePprof());
        assertEquals(List.of("default"), c.logging().outputs());
        assertFalse(c.clientTransport().enabled());
        assertTrue(warnings.contains("--discovery-fallback is an etcd option quorumlab does not support; ignored"), warnings.toString());
        assertTrue(warnings.contains("--enable-v2 is an etcd option quorumlab does not support; ignored"), warnings.toString());
    }

    @Test
    void durationsAreNanosecondNumbersOrGoStrings() {
        ServerConfig c = yaml("""
                grpc-keepalive-interval: 7200000000000
                grpc-keepalive-timeout: 20s
                backend-batch-interval: 50ms
                experimental-watch-progress-notify-interval: 600000000000
                experimental-corrupt-check-time: 300000000000
                """);
        assertEquals(Duration.ofHours(2), c.grpc().keepaliveInterval());
        assertEquals(Duration.ofSeconds(20), c.grpc().keepaliveTimeout());
        assertEquals(Duration.ofMillis(50), c.storage().backendBatchInterval());
        assertEquals(Duration.ofMinutes(10), c.watchProgressNotifyInterval());
        assertEquals(Duration.ofMinutes(5), c.corruptCheckTime());
    }

    @Test
    void listsAsStringsOrSequences() {
        ServerConfig c = yaml("""
                listen-client-urls: [http://127.0.0.1:2379, http://127.0.0.1:22379]
                advertise-client-urls:
                  - http://127.0.0.1:2379
                cipher-suites:
                  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                log-outputs: stderr,stdout
                listen-metrics-urls: http://127.0.0.1:2381
                """);
        assertEquals(2, c.clientUrls().size());
        assertEquals(List.of(URI.create("http://127.0.0.1:2379")), c.advertiseClientUrls());
        assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                c.cipherSuites());
        assertEquals(List.of("stderr", "stdout"), c.logging().outputs());
        assertEquals(List.of(URI.create("http://127.0.0.1:2381")), c.metricsUrls());
    }

    @Test
    void listenClientUrlsAloneIsFineInAFile() {
        // etcd only demands --advertise-client-urls on the command line; the file keeps the default.
        ServerConfig c = yaml("listen-client-urls: http://127.0.0.1:2379\n");
        assertEquals(List.of(URI.create("http://localhost:2379")), c.advertiseClientUrls());
    }

    @Test
    void peerBlockAllowedCnCrlAndAutoTls() {
        ServerConfig c = yaml("""
                listen-peer-urls: https://127.0.0.1:2380
                initial-advertise-peer-urls: https://127.0.0.1:2380
                client-transport-security:
                  auto-tls: true
                  crl-file: /pki/client.crl
                peer-transport-security:
                  auto-tls: true
                  allowed-cn: etcd-peer
                  crl-file: /pki/peer.crl
                """);
        assertTrue(c.clientTransport().autoTls());
        assertEquals(Optional.of(Path.of("/pki/client.crl")), c.clientTransport().crlFile());
        assertTrue(c.peerTransport().autoTls());
        assertEquals(Optional.of("etcd-peer"), c.peerTransport().allowedCn());
        assertEquals(Optional.of(Path.of("/pki/peer.crl")), c.peerTransport().crlFile());
        assertTrue(c.peerTls());
    }

    @Test
    void topLevelFlagNamesAlsoWork() {
        ServerConfig c = yaml("peer-cert-allowed-cn: cn1\nclient-cert-auth: true\n");
        assertEquals(Optional.of("cn1"), c.peerTransport().allowedCn());
        assertTrue(c.clientTransport().clientCertAuth());
    }

    @Test
    void numericStringsAndQuotedBooleansAreAccepted() {
        ServerConfig c = yaml("snapshot-count: \"500\"\npre-vote: \"false\"\nauto-compaction-retention: 2\n");
        assertEquals(500, c.raft().snapshotCount());
        assertFalse(c.raft().preVote());
        assertEquals(Duration.ofHours(2), c.compaction().period());
    }

    @Test
    void unknownKeysWarn() {
        yaml("bogus-key: 1\nclient-transport-security:\n  client-cert-file: /x\n");
        assertEquals(List.of("ignoring unknown config file key \"bogus-key\"",
                "ignoring unsupported config file key \"client-transport-security.client-cert-file\""), warnings);
    }

    @Test
    void invalidValues() {
        assertEquals("invalid value in config file for \"heartbeat-interval\": expected an unsigned integer, got \"abc\"",
                error("heartbeat-interval: abc\n"));
        assertEquals("invalid value in config file for \"snapshot-count\": expected an unsigned integer, got -5",
                error("snapshot-count: -5\n"));
        assertEquals("invalid value in config file for \"pre-vote\": expected true or false, got \"maybe\"",
                error("pre-vote: maybe\n"));
        assertEquals("invalid value in config file for \"client-transport-security.client-cert-auth\": expected true or false,"
                + " got 3", error("client-transport-security:\n  client-cert-auth: 3\n"));
        assertEquals("invalid value in config file for \"grpc-keepalive-interval\": time: invalid duration \"soon\"",
                error("grpc-keepalive-interval: soon\n"));
        assertEquals("unexpected clusterState \"maybe\"", error("initial-cluster-state: maybe\n"));
        assertEquals("unexpected error setting up listen-peer-urls: URL scheme must be http, https, unix, or unixs:"
                + " 10.0.0.1:2380", error("listen-peer-urls: 10.0.0.1:2380\n"));
        assertEquals("invalid value in config file for \"name\": expected a single value, got a list",
                error("name: [a, b]\n"));
        assertEquals("invalid value in config file for \"peer-transport-security\": expected a mapping",
                error("peer-transport-security: yes\n"));
        assertEquals("config file must be a YAML mapping of flag names to values", error("- a\n- b\n"));
        assertTrue(error("name: [unclosed\n").startsWith("config file is not valid YAML: "));
    }

    @Test
    void fileValidationMatchesFlagValidation() {
        assertEquals("--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]",
                error("election-timeout: 400\n"));
        assertEquals("couldn't find local name \"x\" in the initial cluster configuration",
                error("name: x\ninitial-cluster: y=http://127.0.0.1:2380\n"));
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379"
                + " with HTTPS scheme", error("listen-client-urls: https://127.0.0.1:2379\n"));
    }

    private String error(String text) {
        return assertThrows(ConfigException.class, () -> yaml(text)).getMessage();
    }
}
