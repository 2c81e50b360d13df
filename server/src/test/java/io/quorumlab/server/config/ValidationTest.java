package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every refusal, with its exact message. Messages marked "etcd" were checked against etcd 3.4.23's
 * binary; the others are quorumlab's wording where etcd's is unhelpful or etcd fails later.
 */
class ValidationTest {

    static Stream<Arguments> invalid() {
        return Stream.of(
                // command-line syntax (etcd)
                args("flag provided but not defined: -bogus", "--bogus"),
                args("flag provided but not defined: -x", "-x"),
                args("flag provided but not defined: -nme", "--nme=foo"),
                args("bad flag syntax: ---name=x", "---name=x"),
                args("bad flag syntax: --=x", "--=x"),
                args("flag needs an argument: -snapshot-count", "--snapshot-count"),
                args("'foo' is not a valid flag", "foo"),
                args("'false' is not a valid flag", "--force-new-cluster", "false"),
                // values (etcd)
                args("invalid value \"abc\" for flag -snapshot-count: parse error", "--snapshot-count=abc"),
                args("invalid value \"-5\" for flag -snapshot-count: value out of range", "--snapshot-count=-5"),
                args("invalid value \"abc\" for flag -heartbeat-interval: parse error", "--heartbeat-interval", "abc"),
                args("invalid value \"1s\" for flag -heartbeat-interval: parse error", "--heartbeat-interval=1s"),
                args("invalid value \"1.5\" for flag -election-timeout: parse error", "--election-timeout=1.5"),
                args("invalid value \"2GB\" for flag -quota-backend-bytes: parse error", "--quota-backend-bytes=2GB"),
                args("invalid value \"-1\" for flag -max-txn-ops: value out of range", "--max-txn-ops=-1"),
                args("invalid value \"4294967296\" for flag -max-concurrent-streams: value out of range",
                        "--max-concurrent-streams=4294967296"),
                args("invalid value \"abc\" for flag -grpc-keepalive-interval: parse error", "--grpc-keepalive-interval=abc"),
                args("invalid value \"100\" for flag -grpc-keepalive-timeout: parse error", "--grpc-keepalive-timeout=100"),
                args("invalid value \"1d\" for flag -experimental-watch-progress-notify-interval: parse error",
                        "--experimental-watch-progress-notify-interval=1d"),
                args("invalid value \"x\" for flag -backend-batch-interval: parse error", "--backend-batch-interval=x"),
                args("invalid boolean value \"maybe\" for -pre-vote: parse error", "--pre-vote=maybe"),
                args("invalid boolean value \"yes\" for -client-cert-auth: parse error", "--client-cert-auth=yes"),
                args("invalid value \"maybe\" for flag -initial-cluster-state: must be \"new\" or \"existing\"",
                        "--initial-cluster-state=maybe"),
                // URLs (etcd)
                args("invalid value \"localhost:2379\" for flag -listen-client-urls: URL scheme must be http, https, unix,"
                        + " or unixs: localhost:2379", "--listen-client-urls=localhost:2379"),
                args("invalid value \"ftp://127.0.0.1:2380\" for flag -listen-peer-urls: URL scheme must be http, https,"
                        + " unix, or unixs: ftp://127.0.0.1:2380", "--listen-peer-urls=ftp://127.0.0.1:2380"),
                args("invalid value \"http://127.0.0.1\" for flag -listen-peer-urls: URL address does not have the form"
                        + " \"host:port\": http://127.0.0.1", "--listen-peer-urls=http://127.0.0.1"),
                args("invalid value \"http://127.0.0.1:99999\" for flag -listen-peer-urls: URL address does not have the form"
                        + " \"host:port\": http://127.0.0.1:99999", "--listen-peer-urls=http://127.0.0.1:99999"),
                args("invalid value \"http://127.0.0.1:2380/x\" for flag -listen-peer-urls: URL must not contain a path:"
                        + " http://127.0.0.1:2380/x", "--listen-peer-urls=http://127.0.0.1:2380/x"),
                args("invalid value \"http://a:1,\" for flag -advertise-client-urls: URL scheme must be http, https, unix,"
                        + " or unixs: ", "--advertise-client-urls=http://a:1,"),
                args("invalid value \"\" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: ",
                        "--listen-client-urls="),
                args("invalid value \"10.0.0.1:2380\" for flag -listen-peer-urls: URL scheme must be http, https, unix, or"
                        + " unixs: 10.0.0.1:2380", "--listen-peer-urls=10.0.0.1:2380"),
                args("invalid value \"http://a b:1\" for flag -listen-peer-urls: parse \"http://a b:1\": Illegal character in"
                        + " authority", "--listen-peer-urls=http://a b:1"),
                args("expected IP in URL for binding (http://example.com:2379)",
                        "--listen-client-urls=http://example.com:2379", "--advertise-client-urls=http://example.com:2379"),
                args("expected IP in URL for binding (http://example.com:2380)", "--listen-peer-urls=http://example.com:2380"),
                args("expected IP in URL for binding (http://metrics.local:2381)",
                        "--listen-metrics-urls=http://metrics.local:2381"),
                args("unexpected empty host (http://:2379)", "--advertise-client-urls=http://:2379"),
                args("--advertise-client-urls is required when --listen-client-urls is set explicitly. When listening on"
                        + " specific address(es), this etcd process must advertise accessible url(s) to each connected"
                        + " client.", "--listen-client-urls=http://127.0.0.1:2379"),
                // Raft timing (etcd)
                args("--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]",
                        "--election-timeout=400"),
                args("--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[201ms]",
                        "--heartbeat-interval=201"),
                args("--election-timeout[60000ms] is too long, and should be set less than 50000ms",
                        "--election-timeout=60000", "--heartbeat-interval=1000"),
                args("--heartbeat-interval must be >0 (set to 0ms)", "--heartbeat-interval=0"),
                args("--election-timeout must be >0 (set to 0ms)", "--election-timeout=0"),
                // initial cluster
                args("couldn't find local name \"foo\" in the initial cluster configuration",
                        "--name", "foo", "--initial-cluster", "bar=http://localhost:2380"),
                args("couldn't find local name \"default\" in the initial cluster configuration",
                        "--initial-cluster=infra0=http://10.0.0.1:2380,infra1=http://10.0.0.2:2380"),
                args("error setting up initial cluster: \"default\" is not of the form name=peer-url", "--initial-cluster=default"),
                args("error setting up initial cluster: \"=http://localhost:2380\" is not of the form name=peer-url",
                        "--initial-cluster==http://localhost:2380"),
                args("error setting up initial cluster: URL scheme must be http, https, unix, or unixs: localhost:2380",
                        "--initial-cluster=default=localhost:2380"),
                args("initial cluster default=http://localhost:2380,x=http://localhost:2380 has duplicate url"
                        + " http://localhost:2380", "--initial-cluster=default=http://localhost:2380,x=http://localhost:2380"),
                args("--initial-cluster has n1=http://127.0.0.1:2380 but missing from"
                        + " --initial-advertise-peer-urls=http://127.0.0.1:2381", "--name=n1",
                        "--initial-advertise-peer-urls=http://127.0.0.1:2381", "--initial-cluster=n1=http://127.0.0.1:2380"),
                args("--initial-advertise-peer-urls has http://127.0.0.1:2380,http://127.0.0.1:2381 but missing from"
                        + " --initial-cluster=n1=http://127.0.0.1:2380", "--name=n1",
                        "--initial-advertise-peer-urls=http://127.0.0.1:2380,http://127.0.0.1:2381",
                        "--initial-cluster=n1=http://127.0.0.1:2380"),
                // TLS (etcd for the https-without-certificate case)
                args("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS"
                        + " scheme", "--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379"),
                args("TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url https://127.0.0.1:2380"
                        + " with HTTPS scheme", "--listen-peer-urls=https://127.0.0.1:2380"),
                args("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2381 with HTTPS"
                        + " scheme", "--listen-metrics-urls=https://127.0.0.1:2381"),
                args("--cert-file and --key-file must be given together", "--cert-file=/a.crt"),
                args("--peer-cert-file and --peer-key-file must be given together", "--peer-key-file=/a.key"),
                // compaction, auth, logging, limits
                args("unknown auto-compaction-mode \"foo\"", "--auto-compaction-mode=foo"),
                args("error parsing CompactionRetention: time: invalid duration \"abc\"", "--auto-compaction-retention=abc"),
                args("error parsing CompactionRetention: revision mode needs a number of revisions, got \"1h\"",
                        "--auto-compaction-mode=revision", "--auto-compaction-retention=1h"),
                args("error parsing CompactionRetention: negative duration -1h", "--auto-compaction-retention=-1h"),
                args("auth: unknown token type \"foo\" in --auth-token (want simple or jwt,...)", "--auth-token=foo"),
                args("unknown logger option \"foo\"", "--logger=foo"),
                args("unknown level \"nonsense\" for --log-level (want one of [debug, info, warn, error, dpanic, panic, fatal])",
                        "--log-level=nonsense"),
                args("--max-txn-ops must be at least 1", "--max-txn-ops=0"),
                args("--max-request-bytes must be at least 1", "--max-request-bytes=0"),
                args("--backend-batch-interval must not be negative", "--backend-batch-interval=-1s"),
                args("--grpc-keepalive-min-time, --grpc-keepalive-interval and --grpc-keepalive-timeout must not be negative",
                        "--grpc-keepalive-timeout=-1s"));
    }

    private static Arguments args(String message, String... argv) {
        return Arguments.of(message, argv);
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("invalid")
    void refused(String message, String[] argv) {
        ConfigException e = assertThrows(ConfigException.class, () -> ServerConfig.parse(argv, Map.of()));
        assertEquals(message, e.getMessage());
        assertEquals(ConfigException.Reason.INVALID, e.reason());
    }

    static Stream<Arguments> warned() {
        return Stream.of(
                args("backend quota 9000000000 exceeds maximum recommended quota 8589934592", "--quota-backend-bytes=9000000000"),
                args("disabled backend quota (--quota-backend-bytes -1 is negative)", "--quota-backend-bytes=-1"),
                args("Use default bcrypt-cost 10 instead of the invalid value 50", "--bcrypt-cost=50"),
                args("Use default bcrypt-cost 10 instead of the invalid value 3", "--bcrypt-cost=3"),
                args("unknown --metrics \"foo\" (want basic or extensive); using basic", "--metrics=foo"),
                args("--logger=capnslog is deprecated in etcd; quorumlab logs structured output as with --logger=zap",
                        "--logger=capnslog"),
                args("scheme is HTTP while key and cert files are present; ignoring key and cert files for http://localhost:2379",
                        "--cert-file=/a.crt", "--key-file=/a.key"),
                args("ignoring --auto-tls since certs given (--cert-file, --key-file)", "--auto-tls",
                        "--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379",
                        "--cert-file=/a.crt", "--key-file=/a.key"),
                args("--peer-client-cert-auth is set without --peer-trusted-ca-file; client certificates will be checked"
                        + " against the JVM trust store", "--peer-client-cert-auth", "--peer-cert-file=/p.crt",
                        "--peer-key-file=/p.key", "--listen-peer-urls=https://127.0.0.1:2380"),
                args("--initial-cluster URLs [http://127.0.0.1:2380] for this member differ from --initial-advertise-peer-urls"
                        + " [http://localhost:2380]; etcd accepts this only if they resolve to the same addresses",
                        "--name=n1", "--initial-cluster=n1=http://127.0.0.1:2380"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("warned")
    void acceptedWithAWarning(String message, String[] argv) {
        List<String> warnings = new ArrayList<>();
        ServerConfig.parse(argv, Map.of(), warnings::add);
        assertEquals(List.of(message), warnings);
    }

    @Test
    void warnedValuesTakeEffect() {
        assertEquals(10, ServerConfig.parse(new String[] {"--bcrypt-cost=50"}, Map.of()).auth().bcryptCost());
        assertEquals(Long.MAX_VALUE,
                ServerConfig.parse(new String[] {"--quota-backend-bytes=-1"}, Map.of()).storage().effectiveQuotaBackendBytes());
        ServerConfig bothTls = ServerConfig.parse(new String[] {"--auto-tls", "--cert-file=/a.crt", "--key-file=/a.key"},
                Map.of());
        assertTrue(bothTls.clientTransport().hasCertificate());
        assertEquals(false, bothTls.clientTransport().autoTls());
    }

    @Test
    void boundaryValuesAreAccepted() {
        ServerConfig c = ServerConfig.parse(new String[] {"--heartbeat-interval=10000", "--election-timeout=50000",
                "--quota-backend-bytes=8589934592", "--bcrypt-cost=4"}, Map.of());
        assertEquals(50_000, c.raft().electionMillis());
        assertEquals(5, c.raft().electionTicks());
        assertEquals(4, c.auth().bcryptCost());
    }
}
