package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcdctl 3.4 (Debian's etcd-client, {@code /usr/bin/etcdctl}) against three
 * {@code java -jar quorumlab.jar server} processes on 127.0.0.1. Member logs are under the temp
 * directory, which is kept when a test fails.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdctlClusterIT {
    static final Path ETCDCTL = Path.of("/usr/bin/etcdctl");
    static final long COMMAND_SECONDS = 20;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path dir;

    static ProcessCluster cluster;

    record Result(int exit, String out, String err) {
        String all() {
            return "exit=" + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        if (!Files.isExecutable(ETCDCTL)) {
            System.err.println("*** EtcdctlClusterIT SKIPPED: " + ETCDCTL + " is missing (apt-get install etcd-client) ***");
        }
        assumeTrue(Files.isExecutable(ETCDCTL), ETCDCTL + " is missing (apt-get install etcd-client)");
        cluster = new ProcessCluster(dir, 3);
        cluster.startAll();
        for (int i = 0; i < 3; i++) cluster.awaitReady(i, 45);
        cluster.awaitLeader(20);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) cluster.close();
    }

    static Result etcdctl(String stdin, int member, String... args) throws IOException, InterruptedException {
        return etcdctlAt(stdin, member < 0 ? cluster.allHostPorts() : cluster.hostPort(member), args);
    }

    static Result etcdctlAt(String stdin, String endpoints, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ETCDCTL.toString(), "--endpoints=" + endpoints, "--dial-timeout=5s",
                "--command-timeout=10s"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        env(pb.environment());
        Path out = Files.createTempFile(dir, "etcdctl", ".out");
        Path err = Files.createTempFile(dir, "etcdctl", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("etcdctl " + String.join(" ", args) + " did not finish within " + COMMAND_SECONDS + " s");
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    static void env(Map<String, String> env) {
        env.keySet().removeIf(k -> k.startsWith("ETCDCTL"));
        env.put("ETCDCTL_API", "3");
    }

    static Result ok(Result r, String what) {
        assertEquals(0, r.exit(), what + " failed:\n" + r.all() + logs());
        return r;
    }

    static String logs() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cluster.size; i++) sb.append("\n---- ").append(cluster.name(i)).append(" log tail\n").append(cluster.tail(i, 15));
        return sb.toString();
    }

    static long revision(int member) throws Exception {
        Result r = ok(etcdctl(null, member, "get", "revision-probe", "-w", "json"), "get -w json");
        Matcher m = Pattern.compile("\"revision\":(\\d+)").matcher(r.out());
        assertTrue(m.find(), "no revision in " + r.out());
        return Long.parseLong(m.group(1));
    }

    @Test
    @Order(1)
    void putGetDelAcrossMembers() throws Exception {
        assertEquals("OK", ok(etcdctl(null, 0, "put", "/ctl/foo", "bar"), "put").out().trim());
        for (int i = 0; i < 3; i++) {
            assertEquals("/ctl/foo\nbar", ok(etcdctl(null, i, "get", "/ctl/foo"), "get").out().trim(), "get on m" + (i + 1));
        }
        ok(etcdctl(null, 1, "put", "/ctl/foo2", "baz"), "put");
        ok(etcdctl(null, 2, "put", "/ctl/other", "x"), "put");
        assertEquals("bar\nbaz", ok(etcdctl(null, 2, "get", "/ctl/foo", "--prefix", "--print-value-only"), "get --prefix").out().trim());
        assertEquals(List.of("/ctl/foo", "/ctl/foo2", "/ctl/other"),
                nonEmptyLines(ok(etcdctl(null, 0, "get", "/ctl/", "--prefix", "--keys-only"), "get --keys-only").out()));
        assertEquals(List.of("/ctl/other", "x"),
                nonEmptyLines(ok(etcdctl(null, 1, "get", "/ctl/", "--prefix", "--limit=1", "--order=DESCEND", "--sort-by=VALUE"),
                        "get --limit --sort-by").out()));
        assertEquals("bar", ok(etcdctl(null, 1, "get", "/ctl/foo", "--consistency=s", "--print-value-only"), "serializable get")
                .out().trim());

        Result json = ok(etcdctl(null, 1, "get", "/ctl/foo", "-w", "json"), "get -w json");
        assertTrue(json.out().contains("\"key\":\"L2N0bC9mb28=\"") && json.out().contains("\"value\":\"YmFy\""), json.out());
        assertTrue(json.out().contains("\"version\":1") && json.out().contains("\"count\":1"), json.out());

        assertEquals("1", ok(etcdctl(null, 2, "del", "/ctl/foo"), "del").out().trim());
        assertEquals("0", ok(etcdctl(null, 2, "del", "/ctl/foo"), "del of a missing key").out().trim());
        assertEquals("", ok(etcdctl(null, 0, "get", "/ctl/foo"), "get after del").out().trim());
        assertEquals("2", ok(etcdctl(null, 0, "del", "/ctl/", "--prefix"), "del --prefix").out().trim());
        assertEquals("", ok(etcdctl(null, 1, "get", "/ctl/", "--prefix"), "get after del --prefix").out().trim());
    }

    @Test
    @Order(2)
    void txnFromStdin() throws Exception {
        ok(etcdctl(null, 0, "put", "/txn/k1", "v1"), "put");
        String script = """
                value("/txn/k1") = "v1"

                put /txn/k1 v2
                put /txn/k2 created

                put /txn/k1 else-branch

                """;
        Result yes = ok(etcdctl(script, 1, "txn"), "txn");
        assertEquals(List.of("SUCCESS", "OK", "OK"), nonEmptyLines(yes.out()), yes.all());
        assertEquals("v2", ok(etcdctl(null, 2, "get", "/txn/k1", "--print-value-only"), "get").out().trim());
        assertEquals("created", ok(etcdctl(null, 2, "get", "/txn/k2", "--print-value-only"), "get").out().trim());

        Result no = ok(etcdctl(script, 2, "txn"), "txn whose compare fails");
        assertEquals(List.of("FAILURE", "OK"), nonEmptyLines(no.out()), no.all());
        assertEquals("else-branch", ok(etcdctl(null, 0, "get", "/txn/k1", "--print-value-only"), "get").out().trim());

        // kube-apiserver style: compare mod_revision, else read back
        long mod = modRevision(0, "/txn/k1");
        String guarded = "mod(\"/txn/k1\") = \"" + mod + "\"\n\nput /txn/k1 guarded\n\nget /txn/k1\n\n";
        assertEquals("SUCCESS", nonEmptyLines(ok(etcdctl(guarded, 0, "txn"), "guarded txn").out()).get(0));
        Result stale = ok(etcdctl(guarded, 1, "txn"), "stale guarded txn");
        assertEquals(List.of("FAILURE", "/txn/k1", "guarded"), nonEmptyLines(stale.out()), stale.all());
        ok(etcdctl(null, 0, "del", "/txn/", "--prefix"), "cleanup");
    }

    static long modRevision(int member, String key) throws Exception {
        Result r = ok(etcdctl(null, member, "get", key, "-w", "json"), "get -w json");
        Matcher m = Pattern.compile("\"mod_revision\":(\\d+)").matcher(r.out());
        assertTrue(m.find(), "no mod_revision in " + r.out());
        return Long.parseLong(m.group(1));
    }

    static List<String> nonEmptyLines(String s) {
        return s.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    @Order(3)
    void watchInBackgroundSeesPutsAndDeleteInOrder() throws Exception {
        long from = revision(1) + 1; // the watch replays from here even if it is established after the first put
        Path out = dir.resolve("watch.out");
        ProcessBuilder pb = new ProcessBuilder(ETCDCTL.toString(), "--endpoints=" + cluster.hostPort(1), "--dial-timeout=5s",
                "watch", "/watched/", "--prefix", "--prev-kv", "--rev=" + from);
        env(pb.environment());
        pb.redirectErrorStream(true).redirectOutput(out.toFile());
        Process watch = pb.start();
        try {
            ok(etcdctl(null, 0, "put", "/watched/a", "1"), "put");
            ok(etcdctl(null, 2, "put", "/watched/a", "2"), "put");
            ok(etcdctl(null, 0, "put", "/unwatched", "x"), "put");
            ok(etcdctl(null, 2, "del", "/watched/a"), "del");
            ok(etcdctl(null, 0, "put", "/watched/b", "3"), "put");
            List<String> expected = List.of(
                    "PUT", "/watched/a", "1",
                    "PUT", "/watched/a", "1", "/watched/a", "2",
                    "DELETE", "/watched/a", "2", "/watched/a",
                    "PUT", "/watched/b", "3");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            List<String> got = List.of();
            while (System.nanoTime() < deadline) {
                got = nonEmptyLines(Files.readString(out));
                if (got.size() >= expected.size()) break;
                if (!watch.isAlive()) break;
                Thread.sleep(100);
            }
            assertTrue(watch.isAlive(), "etcdctl watch exited early:\n" + Files.readString(out));
            assertEquals(expected, got, "etcdctl watch output");
        } finally {
            watch.destroyForcibly();
            watch.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(4)
    void leaseGrantPutKeepAliveRevoke() throws Exception {
        Result grant = ok(etcdctl(null, 0, "lease", "grant", "60"), "lease grant");
        Matcher m = Pattern.compile("lease ([0-9a-f]+) granted with TTL\\(60s\\)").matcher(grant.out());
        assertTrue(m.find(), grant.all());
        String id = m.group(1);
        ok(etcdctl(null, 1, "put", "/leased/a", "1", "--lease=" + id), "put --lease");
        ok(etcdctl(null, 2, "put", "/leased/b", "2", "--lease=" + id), "put --lease");
        ok(etcdctl(null, 0, "put", "/leased/plain", "3"), "put");

        Result ttl = ok(etcdctl(null, 2, "lease", "timetolive", id, "--keys"), "lease timetolive --keys");
        assertTrue(ttl.out().contains("lease " + id + " granted with TTL(60s)"), ttl.all());
        assertTrue(ttl.out().contains("attached keys([/leased/a /leased/b])"), ttl.all());
        assertTrue(ok(etcdctl(null, 1, "lease", "list"), "lease list").out().contains(id), "lease list shows " + id);
        int leader = cluster.awaitLeader(10);
        Result ka = ok(etcdctl(null, leader, "lease", "keep-alive", "--once", id), "lease keep-alive --once on the leader");
        assertTrue(ka.out().contains("lease " + id + " keepalived with TTL(60)"), ka.all());

        Result revoke = ok(etcdctl(null, 1, "lease", "revoke", id), "lease revoke");
        assertEquals("lease " + id + " revoked", revoke.out().trim());
        for (int i = 0; i < 3; i++) {
            assertEquals("/leased/plain", ok(etcdctl(null, i, "get", "/leased/", "--prefix", "--keys-only"), "get")
                    .out().trim(), "only the key without a lease is left on m" + (i + 1));
        }
        Result again = etcdctl(null, 2, "lease", "revoke", id);
        assertNotEquals(0, again.exit(), again.all());
        assertTrue(again.err().contains("requested lease not found"), again.all());
        ok(etcdctl(null, 0, "del", "/leased/", "--prefix"), "cleanup");
    }

    /** etcd forwards LeaseKeepAlive from a follower to the leader over the peer port. */
    @Test
    @Order(5)
    void leaseKeepAliveThroughAFollower() throws Exception {
        int leader = cluster.awaitLeader(10);
        int follower = (leader + 1) % 3;
        Result grant = ok(etcdctl(null, follower, "lease", "grant", "60"), "lease grant");
        Matcher m = Pattern.compile("lease ([0-9a-f]+) granted").matcher(grant.out());
        assertTrue(m.find(), grant.all());
        String id = m.group(1);
        try {
            Result ka = ok(etcdctl(null, follower, "lease", "keep-alive", "--once", id), "lease keep-alive --once on a follower");
            assertTrue(ka.out().contains("lease " + id + " keepalived with TTL(60)"), ka.all());
        } finally {
            etcdctl(null, leader, "lease", "revoke", id);
        }
    }

    /** etcd answers LeaseTimeToLive from the leader's lessor, wherever the request arrives. */
    @Test
    @Order(6)
    void leaseTimeToLiveThroughAFollowerCountsDown() throws Exception {
        int leader = cluster.awaitLeader(10);
        int follower = (leader + 1) % 3;
        Result grant = ok(etcdctl(null, leader, "lease", "grant", "60"), "lease grant");
        Matcher m = Pattern.compile("lease ([0-9a-f]+) granted").matcher(grant.out());
        assertTrue(m.find(), grant.all());
        String id = m.group(1);
        try {
            Thread.sleep(3_000);
            Result onLeader = ok(etcdctl(null, leader, "lease", "timetolive", id), "timetolive on the leader");
            Result onFollower = ok(etcdctl(null, follower, "lease", "timetolive", id), "timetolive on a follower");
            long leaderLeft = remaining(onLeader.out());
            long followerLeft = remaining(onFollower.out());
            assertTrue(leaderLeft <= 57, onLeader.all());
            assertTrue(followerLeft <= 57 && Math.abs(followerLeft - leaderLeft) <= 1,
                    "follower says " + onFollower.out().trim() + ", leader says " + onLeader.out().trim());
        } finally {
            etcdctl(null, leader, "lease", "revoke", id);
        }
    }

    static long remaining(String timeToLive) {
        Matcher m = Pattern.compile("remaining\\((-?\\d+)s\\)").matcher(timeToLive);
        assertTrue(m.find(), timeToLive);
        return Long.parseLong(m.group(1));
    }

    @Test
    @Order(7)
    void endpointHealthAndStatusOfAllThree() throws Exception {
        Result health = ok(etcdctl(null, -1, "endpoint", "health"), "endpoint health");
        String text = health.out() + health.err();
        for (int i = 0; i < 3; i++) {
            assertTrue(text.contains(cluster.hostPort(i) + " is healthy: successfully committed proposal"), health.all());
        }
        Result status = ok(etcdctl(null, -1, "endpoint", "status", "-w", "json"), "endpoint status -w json");
        String json = status.out();
        List<String> endpoints = all(json, "\"Endpoint\":\"([^\"]+)\"");
        assertEquals(Set.of(cluster.hostPort(0), cluster.hostPort(1), cluster.hostPort(2)), new HashSet<>(endpoints), json);
        List<String> memberIds = all(json, "\"member_id\":(\\d+)");
        List<String> leaders = all(json, "\"leader\":(\\d+)");
        List<String> clusterIds = all(json, "\"cluster_id\":(\\d+)");
        assertEquals(3, new HashSet<>(memberIds).size(), "three distinct members: " + json);
        assertEquals(1, new HashSet<>(leaders).size(), "one leader for all: " + json);
        assertTrue(memberIds.contains(leaders.get(0)), "the leader is one of the members: " + json);
        assertEquals(1, new HashSet<>(clusterIds).size(), "one cluster id: " + json);
        assertNotEquals("0", clusterIds.get(0), json);
        assertEquals(List.of("3.4.23", "3.4.23", "3.4.23"), all(json, "\"version\":\"([^\"]+)\""), json);
        for (String idx : all(json, "\"raftIndex\":(\\d+)")) assertTrue(Long.parseLong(idx) > 0, json);
        for (String term : all(json, "\"raftTerm\":(\\d+)")) assertTrue(Long.parseLong(term) > 0, json);

        // --cluster discovers the endpoints through MemberList
        Result clusterHealth = ok(etcdctl(null, 0, "endpoint", "health", "--cluster"), "endpoint health --cluster");
        String clusterText = clusterHealth.out() + clusterHealth.err();
        for (int i = 0; i < 3; i++) {
            assertTrue(clusterText.contains("http://" + cluster.hostPort(i) + " is healthy: successfully committed proposal"),
                    clusterHealth.all());
        }
        Result members = ok(etcdctl(null, 1, "member", "list"), "member list");
        for (int i = 0; i < 3; i++) {
            assertTrue(members.out().contains(", started, " + cluster.name(i) + ", http://127.0.0.1:" + cluster.peerPorts[i]
                    + ", http://" + cluster.hostPort(i) + ", false"), members.all());
        }
        Result clusterStatus = ok(etcdctl(null, 2, "endpoint", "status", "--cluster", "-w", "json"), "endpoint status --cluster");
        assertEquals(3, all(clusterStatus.out(), "\"member_id\":(\\d+)").size(), clusterStatus.all());
        assertEquals(1, new HashSet<>(all(clusterStatus.out(), "\"leader\":(\\d+)")).size(), clusterStatus.all());

        Result table = ok(etcdctl(null, -1, "endpoint", "status", "-w", "table"), "endpoint status -w table");
        assertEquals(1, table.out().lines().filter(l -> l.matches(".*\\|\\s+true\\s+\\|\\s+false\\s+\\|.*")).count(),
                "exactly one row says IS LEADER true:\n" + table.out());
    }

    static String http(int member, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://" + cluster.hostPort(member) + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + " on " + cluster.name(member) + ": " + r.body());
        return r.body();
    }

    @Test
    @Order(8)
    void httpHealthAndVersionOnTheClientPort() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals("{\"health\":\"true\"}", http(i, "/health").trim());
            assertEquals("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", http(i, "/version").trim());
        }
    }

    /** The metric names COMPAT.md says operators watch (etcd 3.4.23 exports every one of them). */
    static final List<String> OPERATOR_METRICS = List.of(
            "etcd_disk_wal_fsync_duration_seconds_bucket", "etcd_disk_backend_commit_duration_seconds_bucket",
            "etcd_server_leader_changes_seen_total", "etcd_server_has_leader", "etcd_server_is_leader",
            "etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total", "etcd_server_proposals_pending",
            "etcd_server_proposals_failed_total", "etcd_mvcc_db_total_size_in_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes",
            "etcd_network_peer_round_trip_time_seconds_bucket", "etcd_network_peer_sent_bytes_total",
            "etcd_debugging_mvcc_keys_total", "etcd_server_heartbeat_send_failures_total", "grpc_server_handled_total");

    @Test
    @Order(9)
    void metricsCarryTheNamesOperatorsWatch() throws Exception {
        ok(etcdctl(null, -1, "endpoint", "health"), "traffic on every member");
        for (int i = 0; i < 3; i++) {
            String text = http(i, "/metrics");
            List<String> missing = new ArrayList<>();
            for (String name : OPERATOR_METRICS) {
                if (!Pattern.compile("(?m)^" + Pattern.quote(name) + "[{ ]").matcher(text).find()) missing.add(name);
            }
            assertEquals(List.of(), missing, "metric names missing on " + cluster.name(i));
            Matcher leader = Pattern.compile("(?m)^etcd_server_has_leader (\\S+)$").matcher(text);
            assertTrue(leader.find() && Double.parseDouble(leader.group(1)) == 1.0, "etcd_server_has_leader 1 on " + cluster.name(i));
        }
    }

    static List<String> all(String text, String regex) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    @Order(10)
    void compactionMakesOldRevisionsUnreadable() throws Exception {
        ok(etcdctl(null, 0, "put", "/compact/k", "v1"), "put");
        long first = modRevision(0, "/compact/k");
        ok(etcdctl(null, 1, "put", "/compact/k", "v2"), "put");
        ok(etcdctl(null, 2, "put", "/compact/k", "v3"), "put");
        long last = modRevision(0, "/compact/k");
        assertEquals(first + 2, last);
        assertEquals("v1", ok(etcdctl(null, 1, "get", "/compact/k", "--rev=" + first, "--print-value-only"), "get --rev")
                .out().trim(), "history readable before compaction");

        Result compact = ok(etcdctl(null, 2, "compaction", String.valueOf(last)), "compaction");
        assertEquals("compacted revision " + last, compact.out().trim());
        for (int i = 0; i < 3; i++) {
            Result old = etcdctl(null, i, "get", "/compact/k", "--rev=" + first);
            assertNotEquals(0, old.exit(), "get below the compacted revision must fail on m" + (i + 1) + ": " + old.all());
            assertTrue(old.err().contains("required revision has been compacted"), old.all());
            assertEquals("v3", ok(etcdctl(null, i, "get", "/compact/k", "--rev=" + last, "--print-value-only"),
                    "get at the compacted revision").out().trim(), "m" + (i + 1));
        }
        Path out = dir.resolve("compacted-watch.out");
        ProcessBuilder pb = new ProcessBuilder(ETCDCTL.toString(), "--endpoints=" + cluster.hostPort(1), "--dial-timeout=5s",
                "watch", "/compact/k", "--rev=" + first);
        env(pb.environment());
        Process watch = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertTrue(watch.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS), "a watch from a compacted revision must be cancelled; got "
                    + Files.readString(out));
        } finally {
            watch.destroyForcibly();
        }
        String watchOut = Files.readString(out);
        assertTrue(watchOut.contains("watch was canceled (etcdserver: mvcc: required revision has been compacted)"), watchOut);

        Result again = etcdctl(null, 0, "compaction", String.valueOf(first));
        assertNotEquals(0, again.exit(), again.all());
        assertTrue(again.err().contains("required revision has been compacted"), again.all());
        Result future = etcdctl(null, 0, "get", "/compact/k", "--rev=" + (last + 1000));
        assertNotEquals(0, future.exit(), future.all());
        assertTrue(future.err().contains("required revision is a future revision"), future.all());
    }
}
