package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quorumlab.bench.load.Progress;
import io.quorumlab.bench.report.CompareReport;
import io.quorumlab.bench.report.Json;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench command line: flags, the progress bar, JMH listing, and a short compare run against real etcd. */
class BenchCommandTest {
    @TempDir
    Path dir;

    /** Runs {@code quorumlab args} in-process with stdout captured. */
    static String[] run(int expectedExit, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.commandLine().execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String o = out.toString(StandardCharsets.UTF_8), e = err.toString(StandardCharsets.UTF_8);
        assertEquals(expectedExit, code, "exit code of " + String.join(" ", args) + "\nstdout:\n" + o + "\nstderr:\n" + e);
        return new String[] {o, e};
    }

    @Test
    void everyEtcdBenchmarkWorkloadIsACommandWithEtcdsFlags() {
        for (String w : List.of("put", "range", "txn-put", "txn-mixed", "watch", "watch-latency", "lease-keepalive", "kube")) {
            String help = run(0, "bench", w, "--help")[0];
            for (String flag : List.of("--endpoints", "--clients", "--conns", "--total", "--duration", "--rate", "--cacert", "--cert",
                    "--key", "--output", "--histogram-out")) {
                assertTrue(help.contains(flag), w + " lacks " + flag + ":\n" + help);
            }
        }
        assertTrue(run(0, "bench", "txn-put", "--help")[0].contains("--txn-ops"));
        String mixed = run(0, "bench", "txn-mixed", "--help")[0];
        assertTrue(mixed.contains("--rw-ratio") && mixed.contains("--consistency"), mixed);
        String watch = run(0, "bench", "watch", "--help")[0];
        assertTrue(watch.contains("--streams") && watch.contains("--watch-per-stream") && watch.contains("--put-total"), watch);
        String wl = run(0, "bench", "watch-latency", "--help")[0];
        assertTrue(wl.contains("--put-rate") && wl.contains("--watchers-per-stream"), wl);
    }

    @Test
    void badFlagsGetAnErrorNotAStackTrace() {
        String err = run(1, "bench", "txn-put", "--txn-ops", "5", "--key-space-size", "2", "--no-progress")[1];
        assertTrue(err.contains("expected --txn-ops no larger than --key-space-size"), err);
        assertTrue(run(1, "bench", "put", "--total", "5", "--duration", "1")[1].contains("not both"));
        assertTrue(run(1, "bench", "range", "--consistency", "x", "--total", "1")[1].contains("--consistency"));
    }

    @Test
    void aDownEndpointExitsTwoWithErrorsByCodeInJson() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String out = run(2, "bench", "put", "--endpoints", "127.0.0.1:" + port, "--total", "3", "--output", "json", "--no-progress")[0];
        @SuppressWarnings("unchecked")
        Map<String, Object> doc = (Map<String, Object>) Json.parse(out.trim());
        @SuppressWarnings("unchecked")
        Map<String, Object> put = (Map<String, Object>) ((List<Object>) doc.get("series")).get(0);
        assertEquals(Map.of("UNAVAILABLE", 3L), put.get("errors"));
    }

    @Test
    void progressBarShowsCountOrTime() {
        String counted = BenchCommand.ProgressBar.render(new Progress("put", 50, 200, 1, 1_000_000_000L, -1));
        assertTrue(counted.contains("25%") && counted.contains("50/200") && counted.contains("errors 1"), counted);
        String timed = BenchCommand.ProgressBar.render(new Progress("kube", 10, -1, 0, 5_000_000_000L, 10_000_000_000L));
        assertTrue(timed.contains("50%") && timed.contains("5/10 s"), timed);
    }

    @Test
    void jmhListsTheSuitesFromTheClassPath() {
        String out = run(0, "bench", "jmh", "-l")[0];
        for (String b : List.of("RaftClusterBenchmark", "WalBenchmark", "MvccBenchmark")) assertTrue(out.contains(b), out);
    }

    /** A short side-by-side run: one member of real etcd and one of quorumlab, one case of 1 s. Skipped without etcd. */
    @Test
    @SuppressWarnings("unchecked")
    void shortCompareAgainstRealEtcd() throws Exception {
        String etcd = onPath("etcd");
        assumeTrue(etcd != null, "etcd not on PATH");
        Path html = dir.resolve("report.html");
        String[] io = run(0, "bench", "compare", "--etcd-binary", etcd, "--members", "1", "--duration", "1", "--warmup", "0",
                "--cluster-warmup", "0", "--repeat", "1", "--workloads", "put-100,txn-mixed", "--output", "json", "--report", html.toString());
        Map<String, Object> doc = (Map<String, Object>) Json.parse(io[0].trim());
        assertEquals(CompareReport.SCHEMA, doc.get("schema"));
        List<Object> ws = (List<Object>) doc.get("workloads");
        assertEquals(2, ws.size());
        for (Object o : ws) {
            Map<String, Object> w = (Map<String, Object>) o;
            for (String sys : List.of("etcd", "quorumlab")) {
                Map<String, Object> qps = (Map<String, Object>) ((Map<String, Object>) w.get(sys)).get("qps");
                assertTrue(((Number) qps.get("median")).doubleValue() > 0, sys + " " + w);
            }
            assertTrue(((Number) w.get("qpsRatio")).doubleValue() > 0, w.toString());
            // Measured from /proc: both systems use CPU for every op; only the JVM has JIT compiler threads.
            for (String sys : List.of("etcd", "quorumlab")) {
                Map<String, Object> cpu = (Map<String, Object>) ((Map<String, Object>) w.get(sys)).get("cpuUsPerOp");
                assertTrue(((Number) cpu.get("median")).doubleValue() > 0, sys + " " + w);
            }
            Map<String, Object> etcdJit = (Map<String, Object>) ((Map<String, Object>) w.get("etcd")).get("jitSeconds");
            assertEquals(0.0, ((Number) etcdJit.get("median")).doubleValue(), w.toString());
        }
        assertTrue(io[1].contains("ratio"), "the table goes to stderr with --output json:\n" + io[1]);
        String page = Files.readString(html);
        assertTrue(page.contains("<svg") && page.contains("put, 100 clients"), page);
        assertFalse(page.replace("http://www.w3.org/2000/svg", "").matches("(?s).*(src=|href=|https?://).*"), "no external assets");
    }

    static String onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(d, name);
            if (f.canExecute()) return f.getPath();
        }
        return null;
    }
}
