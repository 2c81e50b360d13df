package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.config.ServerConfig.ClusterState;
import io.quorumlab.server.config.ServerConfig.CompactionMode;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Go {@code flag} syntax as etcd's command line accepts it. */
class FlagParsingTest {

    private static ServerConfig parse(String... args) {
        return ServerConfig.parse(args, Map.of());
    }

    @Test
    void spaceAndEqualsSyntaxAreEquivalent() {
        ServerConfig spaced = parse("--name", "n1", "--data-dir", "/var/lib/q", "--snapshot-count", "5000",
                "--initial-cluster", "n1=http://localhost:2380");
        ServerConfig equals = parse("--name=n1", "--data-dir=/var/lib/q", "--snapshot-count=5000",
                "--initial-cluster=n1=http://localhost:2380");
        ServerConfig singleDash = parse("-name=n1", "-data-dir", "/var/lib/q", "-snapshot-count=5000",
                "-initial-cluster", "n1=http://localhost:2380");
        assertEquals(spaced, equals);
        assertEquals(spaced, singleDash);
        assertEquals("n1", spaced.name());
        assertEquals(Path.of("/var/lib/q"), spaced.dataDir());
        assertEquals(Path.of("/var/lib/q/member/wal"), spaced.walDir());
        assertEquals(5000, spaced.raft().snapshotCount());
    }

    @Test
    void valueMayStartWithDashOrContainEquals() {
        ServerConfig c = parse("--initial-cluster-token", "-tok=en-", "--name", "-x",
                "--initial-cluster", "-x=http://localhost:2380");
        assertEquals("-tok=en-", c.cluster().token());
        assertEquals("-x", c.name());
    }

    @Test
    void lastRepetitionWins() {
        assertEquals(7, parse("--snapshot-count=5", "--snapshot-count", "7").raft().snapshotCount());
    }

    @Test
    void booleans() {
        assertFalse(parse("--pre-vote=false").raft().preVote());
        assertFalse(parse("--strict-reconfig-check=0").cluster().strictReconfigCheck());
        assertTrue(parse("--force-new-cluster").cluster().forceNewCluster());
        assertTrue(parse("--enable-pprof=T").enablePprof());
        assertTrue(parse("-auto-tls").clientTransport().autoTls());
        assertTrue(parse("--peer-auto-tls=TRUE").peerTransport().autoTls());
    }

    @Test
    void booleanNeverConsumesTheNextArgument() {
        // Go stops at the first non-flag; etcd rejects the leftover.
        ConfigException e = assertThrows(ConfigException.class, () -> parse("--pre-vote", "false"));
        assertEquals("'false' is not a valid flag", e.getMessage());
    }

    @Test
    void everyFlag() {
        ServerConfig c = parse(
                "--name=m1", "--data-dir=/d", "--wal-dir=/w",
                "--snapshot-count=10", "--heartbeat-interval=50", "--election-timeout=500",
                "--listen-peer-urls=http://0.0.0.0:12380", "--listen-client-urls=http://0.0.0.0:12379,http://127.0.0.1:22379",
                "--advertise-client-urls=http://10.1.1.1:12379", "--initial-advertise-peer-urls=http://10.1.1.1:12380",
                "--initial-cluster=m1=http://10.1.1.1:12380,m2=http://10.1.1.2:12380",
                "--initial-cluster-state=existing", "--initial-cluster-token=tok",
                "--max-snapshots=1", "--max-wals=2", "--quota-backend-bytes=1024",
                "--backend-batch-interval=10ms", "--backend-batch-limit=7", "--max-txn-ops=3", "--max-request-bytes=4096",
                "--max-concurrent-streams=100", "--grpc-keepalive-min-time=1s", "--grpc-keepalive-interval=30m",
                "--grpc-keepalive-timeout=3s", "--strict-reconfig-check=false", "--pre-vote=false",
                "--auto-compaction-retention=5m", "--auto-compaction-mode=periodic",
                "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "--auth-token=jwt,pub-key=/k.pub,priv-key=/k,sign-method=RS256,ttl=5m", "--bcrypt-cost=12",
                "--metrics=extensive", "--listen-metrics-urls=http://0.0.0.0:2381", "--logger=zap", "--log-level=debug",
                "--log-outputs=stderr,/var/log/q.log", "--enable-pprof", "--force-new-cluster",
                "--experimental-watch-progress-notify-interval=1s");
        assertEquals("m1", c.name());
        assertEquals(Path.of("/d"), c.dataDir());
        assertEquals(Path.of("/w"), c.walDir());
        assertEquals(new ServerConfig.Raft(50, 500, false, 10), c.raft());
        assertEquals(List.of(URI.create("http://0.0.0.0:12379"), URI.create("http://127.0.0.1:22379")), c.clientUrls());
        assertEquals("0.0.0.0", c.clientListeners().get(0).host());
        assertEquals(22379, c.clientListeners().get(1).port());
        assertEquals(List.of(URI.create("http://10.1.1.1:12379")), c.advertiseClientUrls());
        assertEquals(List.of(URI.create("http://0.0.0.0:12380")), c.peerUrls());
        assertEquals(List.of(URI.create("http://10.1.1.1:12380")), c.advertisePeerUrls());
        assertEquals(Map.of("m1", "http://10.1.1.1:12380", "m2", "http://10.1.1.2:12380"), c.initialClusterMap());
        assertEquals(List.of("m1", "m2"), List.copyOf(c.initialClusterMap().keySet()));
        assertEquals(ClusterState.EXISTING, c.cluster().state());
        assertFalse(c.newCluster());
        assertEquals("tok", c.cluster().token());
        assertFalse(c.cluster().strictReconfigCheck());
        assertTrue(c.cluster().forceNewCluster());
        assertEquals(new ServerConfig.Storage(1, 2, 1024, Duration.ofMillis(10), 7, true), c.storage());
        assertEquals(1024, c.storage().effectiveQuotaBackendBytes());
        assertEquals(Duration.ofMillis(10), c.storage().effectiveBackendBatchInterval());
        assertEquals(7, c.storage().effectiveBackendBatchLimit());
        assertEquals(new ServerConfig.Compaction(CompactionMode.PERIODIC, "5m", Duration.ofMinutes(5), 0), c.compaction());
        assertTrue(c.compaction().enabled());
        assertEquals(new ServerConfig.Grpc(3, 4096, 100, Duration.ofSeconds(1), Duration.ofMinutes(30), Duration.ofSeconds(3)),
                c.grpc());
        assertEquals(100, c.grpc().maxConcurrentCallsPerConnection());
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"), c.cipherSuites());
        assertEquals("jwt", c.auth().tokenType());
        assertEquals(Map.of("pub-key", "/k.pub", "priv-key", "/k", "sign-method", "RS256", "ttl", "5m"), c.auth().tokenOptions());
        assertEquals(12, c.auth().bcryptCost());
        assertEquals(new ServerConfig.Metrics("extensive", List.of(URI.create("http://0.0.0.0:2381"))), c.metrics());
        assertEquals(2381, c.metricsListeners().get(0).port());
        assertEquals(new ServerConfig.Logging("zap", "debug", List.of("stderr", "/var/log/q.log")), c.logging());
        assertTrue(c.enablePprof());
        assertEquals(Duration.ofSeconds(1), c.watchProgressNotifyInterval());
    }

    @Test
    void tlsFlags() {
        ServerConfig c = parse("--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379",
                "--cert-file=/pki/s.crt", "--key-file=/pki/s.key", "--client-cert-auth", "--trusted-ca-file=/pki/ca.crt",
                "--client-crl-file=/pki/c.crl",
                "--listen-peer-urls=https://127.0.0.1:2380", "--initial-advertise-peer-urls=https://127.0.0.1:2380",
                "--peer-cert-file=/pki/p.crt", "--peer-key-file=/pki/p.key", "--peer-client-cert-auth",
                "--peer-trusted-ca-file=/pki/ca.crt", "--peer-crl-file=/pki/p.crl", "--peer-cert-allowed-cn=etcd-peer");
        assertEquals(new ServerConfig.Tls(Optional.of(Path.of("/pki/s.crt")), Optional.of(Path.of("/pki/s.key")), true,
                Optional.of(Path.of("/pki/ca.crt")), Optional.of(Path.of("/pki/c.crl")), false, Optional.empty()),
                c.clientTransport());
        assertEquals(new ServerConfig.Tls(Optional.of(Path.of("/pki/p.crt")), Optional.of(Path.of("/pki/p.key")), true,
                Optional.of(Path.of("/pki/ca.crt")), Optional.of(Path.of("/pki/p.crl")), false, Optional.of("etcd-peer")),
                c.peerTransport());
        assertTrue(c.clientTls());
        assertTrue(c.peerTls());
        assertTrue(c.clientListeners().get(0).secure());
        assertEquals("https://127.0.0.1:2380", c.initialClusterMap().get("default"));
    }

    @Test
    void autoTlsServesHttpsWithoutFiles() {
        ServerConfig c = parse("--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379",
                "--auto-tls");
        assertTrue(c.clientTls());
        assertTrue(c.clientTransport().enabled());
        assertFalse(c.clientTransport().hasCertificate());
    }

    @Test
    void ipv6AndUnixListeners() {
        ServerConfig c = parse("--listen-client-urls=http://[::1]:2379,unix://localhost:12345",
                "--advertise-client-urls=http://[::1]:2379");
        assertEquals(new Listener(URI.create("http://[::1]:2379"), "http", "::1", 2379), c.clientListeners().get(0));
        Listener unix = c.clientListeners().get(1);
        assertTrue(unix.unixSocket());
        assertFalse(unix.secure());
        assertEquals("localhost", unix.host());
    }

    @Test
    void portZeroIsAllowed() {
        ServerConfig c = parse("--listen-client-urls=http://127.0.0.1:0", "--advertise-client-urls=http://127.0.0.1:0");
        assertEquals(0, c.clientListeners().get(0).port());
    }

    @Test
    void compactionModes() {
        assertEquals(Duration.ofHours(1), parse("--auto-compaction-retention=1").compaction().period());
        ServerConfig rev = parse("--auto-compaction-mode=revision", "--auto-compaction-retention=1000");
        assertEquals(new ServerConfig.Compaction(CompactionMode.REVISION, "1000", Duration.ZERO, 1000), rev.compaction());
        assertTrue(rev.compaction().enabled());
    }

    @Test
    void doubleDashEndsFlags() {
        assertEquals("x", parse("--name=x", "--initial-cluster=x=http://localhost:2380", "--").name());
        assertEquals("'y' is not a valid flag",
                assertThrows(ConfigException.class, () -> parse("--name=x", "--", "y")).getMessage());
    }

    @Test
    void helpAndVersion() {
        for (String help : List.of("-h", "--help", "-help")) {
            assertEquals(ConfigException.Reason.HELP_REQUESTED,
                    assertThrows(ConfigException.class, () -> parse(help)).reason());
        }
        assertEquals(ConfigException.Reason.VERSION_REQUESTED,
                assertThrows(ConfigException.class, () -> parse("--version")).reason());
        assertEquals("default", parse("--version=false").name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--enable-v2=false", "--debug", "--cors=*", "--discovery-srv=example.com"})
    void etcdFlagsWithoutMeaningHereAreAcceptedWithAWarning(String flag) {
        List<String> warnings = new ArrayList<>();
        ServerConfig.parse(new String[] {flag}, Map.of(), warnings::add);
        String name = flag.substring(2).split("=")[0];
        assertEquals(List.of("--" + name + " is an etcd option quorumlab does not support; ignored"), warnings);
    }

    @Test
    void walDirectIoIsOnByDefaultAndCanBeTurnedOff() {
        assertTrue(parse().storage().walDirectIo());
        assertFalse(parse("--experimental-wal-direct-io=false").storage().walDirectIo());
        assertTrue(parse("--experimental-wal-direct-io").storage().walDirectIo());
        assertFalse(ServerConfig.parse(new String[0], Map.of("ETCD_EXPERIMENTAL_WAL_DIRECT_IO", "false"), w -> { })
                .storage().walDirectIo());
    }

    @Test
    void corruptCheckTimeIsOffByDefaultAndTakesAGoDuration() {
        assertEquals(Duration.ZERO, parse().corruptCheckTime());
        assertEquals(Duration.ofMinutes(3), parse("--experimental-corrupt-check-time=3m").corruptCheckTime());
        List<String> warnings = new ArrayList<>();
        ServerConfig.parse(new String[] {"--experimental-corrupt-check-time=90s"}, Map.of(), warnings::add);
        assertEquals(List.of(), warnings, "the flag is honored now, not ignored");
        assertThrows(ConfigException.class, () -> parse("--experimental-corrupt-check-time=-1s"));
        assertThrows(ConfigException.class, () -> parse("--experimental-corrupt-check-time=often"));
    }
}
