package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ETCD_<FLAG>} variables, and how they rank against flags and the config file. */
class EnvironmentTest {

    private final List<String> warnings = new ArrayList<>();

    private ServerConfig parse(Map<String, String> env, String... args) {
        return ServerConfig.parse(args, env, warnings::add);
    }

    @Test
    void envSetsFlags() {
        ServerConfig c = parse(Map.of(
                "ETCD_NAME", "e1",
                "ETCD_INITIAL_ADVERTISE_PEER_URLS", "http://127.0.0.1:2380",
                "ETCD_SNAPSHOT_COUNT", "42",
                "ETCD_PRE_VOTE", "false",
                "ETCD_GRPC_KEEPALIVE_INTERVAL", "90s",
                "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s",
                "ETCD_PEER_CLIENT_CERT_AUTH", "true"));
        assertEquals("e1", c.name());
        assertEquals("e1=http://127.0.0.1:2380", c.cluster().initialCluster());
        assertEquals(42, c.raft().snapshotCount());
        assertFalse(c.raft().preVote());
        assertEquals(Duration.ofSeconds(90), c.grpc().keepaliveInterval());
        assertEquals(Duration.ofSeconds(5), c.watchProgressNotifyInterval());
        assertTrue(c.peerTransport().clientCertAuth());
        assertEquals(List.of(), warnings);
    }

    @Test
    void commandLineWinsAndTheShadowedVariableIsWarnedAbout() {
        ServerConfig c = parse(Map.of("ETCD_SNAPSHOT_COUNT", "5", "ETCD_MAX_WALS", "9"), "--snapshot-count=7");
        assertEquals(7, c.raft().snapshotCount());
        assertEquals(9, c.storage().maxWals());
        assertEquals(List.of("conflicting environment variable \"ETCD_SNAPSHOT_COUNT\" is shadowed by corresponding"
                + " command-line flag (either unset environment variable or disable flag)"), warnings);
    }

    @Test
    void emptyVariablesAreUnset() {
        assertEquals("default", parse(Map.of("ETCD_NAME", "")).name());
    }

    @Test
    void unknownEtcdVariablesWarnOthersAreIgnored() {
        parse(Map.of("ETCD_BOGUS", "5", "ETCDCTL_API", "3", "PATH", "/bin"));
        assertEquals(List.of("unrecognized environment variable ETCD_BOGUS=5"), warnings);
    }

    @Test
    void listenClientUrlsFromEnvAlsoNeedAdvertise() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> parse(Map.of("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379")));
        assertTrue(e.getMessage().startsWith("--advertise-client-urls is required when --listen-client-urls is set explicitly"));
        ServerConfig c = parse(Map.of("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379"),
                "--advertise-client-urls=http://127.0.0.1:2379");
        assertEquals(List.of(URI.create("http://127.0.0.1:2379")), c.clientUrls());
    }

    @Test
    void invalidValues() {
        assertEquals("invalid value \"abc\" for ETCD_SNAPSHOT_COUNT: parse error",
                assertThrows(ConfigException.class, () -> parse(Map.of("ETCD_SNAPSHOT_COUNT", "abc"))).getMessage());
        assertEquals("invalid value \"maybe\" for ETCD_PRE_VOTE: parse error",
                assertThrows(ConfigException.class, () -> parse(Map.of("ETCD_PRE_VOTE", "maybe"))).getMessage());
        assertEquals("invalid value \"localhost:2380\" for ETCD_LISTEN_PEER_URLS: URL scheme must be http, https, unix,"
                + " or unixs: localhost:2380", assertThrows(ConfigException.class,
                () -> parse(Map.of("ETCD_LISTEN_PEER_URLS", "localhost:2380"))).getMessage());
    }

    @Test
    void invalidEnvIsNotCheckedWhenTheFlagShadowsIt() {
        assertEquals(3, parse(Map.of("ETCD_SNAPSHOT_COUNT", "abc"), "--snapshot-count=3").raft().snapshotCount());
    }

    @Test
    void configFileFromEnvIgnoresOtherVariables(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("etcd.conf.yml");
        Files.writeString(file, "name: from-file\n");
        ServerConfig c = parse(Map.of("ETCD_CONFIG_FILE", file.toString(), "ETCD_SNAPSHOT_COUNT", "42"));
        assertEquals("from-file", c.name());
        assertEquals(100_000, c.raft().snapshotCount());
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("other command line flags and environment variables are ignored"), warnings.get(0));
    }

    @Test
    void configFileFlagIgnoresOtherFlagsAndVariables(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("etcd.conf.yml");
        Files.writeString(file, "name: from-file\nsnapshot-count: 9\n");
        ServerConfig c = parse(Map.of("ETCD_NAME", "from-env", "ETCD_MAX_WALS", "1"),
                "--name=from-flag", "--config-file", file.toString(), "--max-snapshots=2");
        assertEquals("from-file", c.name());
        assertEquals(9, c.raft().snapshotCount());
        assertEquals(5, c.storage().maxSnapshots());
        assertEquals(5, c.storage().maxWals());
    }

    @Test
    void configFileFlagWinsOverConfigFileVariable(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.yml"), "name: a\n");
        Path b = Files.writeString(dir.resolve("b.yml"), "name: b\n");
        assertEquals("a", parse(Map.of("ETCD_CONFIG_FILE", b.toString()), "--config-file=" + a).name());
    }

    @Test
    void flagsAreStillCheckedWhenAConfigFileIsGiven(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("c.yml"), "name: x\n");
        assertEquals("invalid value \"abc\" for flag -snapshot-count: parse error", assertThrows(ConfigException.class,
                () -> parse(Map.of(), "--config-file=" + file, "--snapshot-count=abc")).getMessage());
        assertEquals("flag provided but not defined: -bogus", assertThrows(ConfigException.class,
                () -> parse(Map.of(), "--config-file=" + file, "--bogus")).getMessage());
    }

    @Test
    void missingConfigFile(@TempDir Path dir) {
        String path = dir.resolve("nope.yml").toString();
        assertEquals("open " + path + ": no such file or directory",
                assertThrows(ConfigException.class, () -> parse(Map.of(), "--config-file", path)).getMessage());
    }
}
