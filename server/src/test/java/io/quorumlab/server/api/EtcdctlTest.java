package io.quorumlab.server.api;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The real Go client: etcd's own etcdctl 3.4 against our server (skipped where it is not installed). */
class EtcdctlTest {
    static final String ETCDCTL = System.getProperty("quorumlab.etcdctl", "/usr/bin/etcdctl");
    static ApiFixture fx;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(new File(ETCDCTL).canExecute(), "etcdctl not installed");
        fx = new ApiFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) fx.close();
    }

    record Result(int exit, String out, String err) {}

    static ProcessBuilder command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(ETCDCTL, "--endpoints=127.0.0.1:" + fx.server.port(), "--dial-timeout=5s",
                "--command-timeout=10s"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("ETCDCTL_API", "3");
        return pb;
    }

    static Result run(String stdin, String... args) throws IOException, InterruptedException {
        Process p = command(args).start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "etcdctl hung: " + List.of(args));
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    static String ok(String... args) throws IOException, InterruptedException {
        Result r = run(null, args);
        assertEquals(0, r.exit(), () -> List.of(args) + " failed: " + r.err() + r.out());
        return r.out();
    }

    @Test
    void putGetDelete() throws Exception {
        assertEquals("OK\n", ok("put", "/ctl/a", "1"));
        assertEquals("OK\n", ok("put", "/ctl/b", "2"));
        assertEquals("/ctl/a\n1\n", ok("get", "/ctl/a"));
        assertEquals("/ctl/a\n1\n/ctl/b\n2\n", ok("get", "--prefix", "/ctl/"));
        assertEquals("/ctl/a\n\n/ctl/b\n\n", ok("get", "--prefix", "--keys-only", "/ctl/"));
        String json = ok("get", "/ctl/a", "-w", "json");
        assertTrue(json.contains("\"count\":1"), json);
        assertTrue(json.contains("\"member_id\":" + Long.toUnsignedString(FakeMember.MEMBER_ID)), json);
        Matcher m = Pattern.compile("\"mod_revision\":(\\d+)").matcher(json);
        assertTrue(m.find(), json);
        long rev = Long.parseLong(m.group(1));
        ok("put", "/ctl/a", "1b");
        assertEquals("/ctl/a\n1\n", ok("get", "--rev=" + rev, "/ctl/a"));
        assertEquals("2\n", ok("del", "--prefix", "/ctl/"));
        assertEquals("", ok("get", "--prefix", "/ctl/"));
        Result empty = run(null, "put", "", "v");
        assertTrue(empty.exit() != 0);
        assertTrue(empty.err().contains("etcdserver: key is not provided") || empty.err().contains("key"), empty.err());
    }

    @Test
    void txnAsEtcdctlWritesIt() throws Exception {
        String create = "mod(\"/ctl/t\") = \"0\"\n\nput /ctl/t v1\n\nget /ctl/t\n\n";
        Result r1 = run(create, "txn");
        assertEquals(0, r1.exit(), r1.err());
        assertEquals("SUCCESS\n\nOK\n", r1.out());
        Result r2 = run(create, "txn");
        assertEquals(0, r2.exit(), r2.err());
        assertEquals("FAILURE\n\n/ctl/t\nv1\n", r2.out());
    }

    @Test
    void watchPrintsEvents() throws Exception {
        Process p = command("watch", "--prefix", "/ctl/w/", "--prev-kv").start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader br = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = br.readLine()) != null; ) lines.add(l);
            } catch (IOException ignored) {
                // process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            // The watch is registered once the server counts a stream; then write.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fx.server.openWatchStreams() == 0) {
                assertTrue(System.nanoTime() < deadline, "etcdctl watch never connected");
                Thread.sleep(20);
            }
            Thread.sleep(200);
            ok("put", "/ctl/w/k", "one");
            ok("put", "/ctl/w/k", "two");
            List<String> expected = List.of("PUT", "/ctl/w/k", "one", "PUT", "/ctl/w/k", "one", "/ctl/w/k", "two");
            List<String> got = new ArrayList<>();
            while (got.size() < expected.size()) {
                String l = lines.poll(10, TimeUnit.SECONDS);
                assertNotNull(l, () -> "watch output so far: " + got);
                got.add(l);
            }
            assertEquals(expected, got);
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void leases() throws Exception {
        String granted = ok("lease", "grant", "60");
        Matcher m = Pattern.compile("lease ([0-9a-f]+) granted with TTL\\(60s\\)").matcher(granted);
        assertTrue(m.find(), granted);
        String id = m.group(1);
        ok("put", "--lease=" + id, "/ctl/l", "v");
        assertTrue(ok("lease", "list").contains(id));
        String ttl = ok("lease", "timetolive", "--keys", id);
        assertTrue(ttl.contains("granted with TTL(60s)") && ttl.contains("attached keys([/ctl/l])"), ttl);
        String ka = ok("lease", "keep-alive", "--once", id);
        assertTrue(ka.contains("keepalived with TTL(60)"), ka);
        assertTrue(ok("lease", "revoke", id).contains("revoked"));
        assertEquals("", ok("get", "/ctl/l"));
        assertTrue(ok("lease", "timetolive", id).contains("already expired"));
    }

    @Test
    void endpointStatusHealthHashAndMaintenance() throws Exception {
        String status = ok("endpoint", "status", "-w", "json");
        assertTrue(status.contains("\"version\":\"3.4.23\""), status);
        assertTrue(status.contains("\"leader\":" + Long.toUnsignedString(FakeMember.MEMBER_ID)), status);
        assertTrue(status.contains("\"raft_term\":7"), status);
        String table = ok("endpoint", "status", "-w", "table");
        assertTrue(table.contains("3.4.23"), table);
        Result health = run(null, "endpoint", "health");
        assertEquals(0, health.exit(), health.err());
        assertTrue((health.out() + health.err()).contains("is healthy"), health.toString()); // 3.4 prints it on stderr
        String hash = ok("endpoint", "hashkv", "-w", "json");
        assertTrue(hash.contains("\"hash\""), hash);
        assertEquals("", ok("alarm", "list"));
        long rev = fx.member.store().currentRevision();
        String compacted = ok("compaction", Long.toString(rev));
        assertTrue(compacted.contains("compacted revision " + rev), compacted);
        String defrag = ok("defrag");
        assertTrue(defrag.contains("Finished defragmenting etcd member"), defrag);
    }
}
