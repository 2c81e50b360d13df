package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

/** With no flags, no environment and no file, quorumlab starts exactly like a bare {@code etcd}. */
class ConfigDefaultsTest {

    private final List<String> warnings = new ArrayList<>();
    private final ServerConfig config = ServerConfig.parse(new String[0], Map.of(), warnings::add);

    @Test
    void noWarningsForDefaults() {
        assertEquals(List.of(), warnings);
        assertEquals(config, ServerConfig.defaults());
        assertEquals(config, ServerConfig.fromYaml(""));
    }

    @Test
    void memberAndDirectories() {
        assertEquals("default", config.name());
        assertEquals(Path.of("default.etcd"), config.dataDir());
        assertEquals(Path.of("default.etcd", "member", "wal"), config.walDir());
    }

    @Test
    void urls() {
        assertEquals(List.of(URI.create("http://localhost:2379")), config.clientUrls());
        assertEquals(List.of(URI.create("http://localhost:2379")), config.advertiseClientUrls());
        assertEquals(List.of(URI.create("http://localhost:2380")), config.peerUrls());
        assertEquals(List.of(URI.create("http://localhost:2380")), config.advertisePeerUrls());
        assertEquals(List.of(), config.metricsUrls());
        assertEquals(List.of(new Listener(URI.create("http://localhost:2379"), "http", "localhost", 2379)),
                config.clientListeners());
        assertEquals(2380, config.peerListeners().get(0).port());
        assertFalse(config.clientTls());
        assertFalse(config.peerTls());
    }

    @Test
    void cluster() {
        assertEquals("default=http://localhost:2380", config.cluster().initialCluster());
        assertEquals(Map.of("default", "http://localhost:2380"), config.initialClusterMap());
        assertEquals(Map.of("default", List.of(URI.create("http://localhost:2380"))), config.initialClusterUrls());
        assertEquals(ClusterState.NEW, config.cluster().state());
        assertTrue(config.newCluster());
        assertEquals("etcd-cluster", config.cluster().token());
        assertTrue(config.cluster().strictReconfigCheck());
        assertFalse(config.cluster().forceNewCluster());
    }

    @Test
    void raftAndStorage() {
        assertEquals(new ServerConfig.Raft(100, 1000, true, 100_000), config.raft());
        assertEquals(Duration.ofMillis(100), config.heartbeatInterval());
        assertEquals(Duration.ofSeconds(1), config.electionTimeout());
        assertEquals(10, config.raft().electionTicks());
        assertEquals(new ServerConfig.Storage(5, 5, 0, Duration.ZERO, 0, true), config.storage());
        assertEquals(2L << 30, config.storage().effectiveQuotaBackendBytes());
        assertEquals(Duration.ofMillis(100), config.storage().effectiveBackendBatchInterval());
        assertEquals(10_000, config.storage().effectiveBackendBatchLimit());
    }

    @Test
    void compactionIsOff() {
        assertEquals(new ServerConfig.Compaction(CompactionMode.PERIODIC, "0", Duration.ZERO, 0), config.compaction());
        assertFalse(config.compaction().enabled());
    }

    @Test
    void grpc() {
        assertEquals(new ServerConfig.Grpc(128, 1_572_864, 4_294_967_295L, Duration.ofSeconds(5), Duration.ofHours(2),
                Duration.ofSeconds(20)), config.grpc());
        assertEquals(1_572_864 + 512 * 1024, config.grpc().maxInboundMessageBytes());
        assertEquals(Integer.MAX_VALUE, config.grpc().maxConcurrentCallsPerConnection());
    }

    @Test
    void tlsIsOff() {
        ServerConfig.Tls none = new ServerConfig.Tls(Optional.empty(), Optional.empty(), false, Optional.empty(),
                Optional.empty(), false, Optional.empty());
        assertEquals(none, config.clientTransport());
        assertEquals(none, config.peerTransport());
        assertFalse(none.enabled());
        assertEquals(List.of(), config.cipherSuites());
    }

    @Test
    void authLoggingMetricsMisc() {
        assertEquals(new ServerConfig.Auth("simple", 10), config.auth());
        assertEquals("simple", config.auth().tokenType());
        assertEquals(Map.of(), config.auth().tokenOptions());
        assertEquals(new ServerConfig.Logging("zap", "info", List.of("default")), config.logging());
        assertEquals(new ServerConfig.Metrics("basic", List.of()), config.metrics());
        assertFalse(config.enablePprof());
        assertEquals(Duration.ofMinutes(10), config.watchProgressNotifyInterval());
    }

    @Test
    void nameAloneDerivesDataDirAndInitialCluster() {
        ServerConfig c = ServerConfig.parse(new String[] {"--name", "infra0"}, Map.of());
        assertEquals(Path.of("infra0.etcd"), c.dataDir());
        assertEquals("infra0=http://localhost:2380", c.cluster().initialCluster());
        assertEquals(Map.of("infra0", "http://localhost:2380"), c.initialClusterMap());
    }

    @Test
    void derivedInitialClusterUsesEveryAdvertisedPeerUrl() {
        ServerConfig c = ServerConfig.parse(new String[] {"--name=n1",
                "--initial-advertise-peer-urls=http://10.0.0.1:2380,http://10.0.0.2:2380"}, Map.of());
        assertEquals("n1=http://10.0.0.1:2380,n1=http://10.0.0.2:2380", c.cluster().initialCluster());
        assertEquals(Map.of("n1", "http://10.0.0.1:2380,http://10.0.0.2:2380"), c.initialClusterMap());
    }
}
