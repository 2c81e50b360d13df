package io.quorumlab.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.client.CollectorRegistry;
import io.quorumlab.bench.report.Json;
import io.quorumlab.bench.report.RunResult;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every workload against one in-process member: counts, error accounting, the JSON schema, the histogram log. */
class WorkloadsTest {
    static EtcdServer server;
    static String endpoint;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        int c = freePort(), p = freePort();
        String[] args = {"--name", "b", "--data-dir", dir.resolve("b").toString(),
                "--listen-client-urls", "http://127.0.0.1:" + c, "--advertise-client-urls", "http://127.0.0.1:" + c,
                "--listen-peer-urls", "http://127.0.0.1:" + p, "--initial-advertise-peer-urls", "http://127.0.0.1:" + p,
                "--initial-cluster", "b=http://127.0.0.1:" + p};
        server = EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (server.member().leaderId() != server.member().memberId()) {
            assertTrue(System.nanoTime() < deadline, "no leader");
            Thread.sleep(20);
        }
        endpoint = "127.0.0.1:" + c;
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static LoadConfig counted(int clients, long total, double rate) {
        return new LoadConfig(List.of(endpoint), clients, 2, total, 0, rate, null, null, 3);
    }

    static RunResult.SeriesResult series(RunResult r, String name) {
        return r.series().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    static long keysWithPrefix(String prefix) {
        ManagedChannel ch = NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
        try {
            byte[] end = prefix.getBytes();
            end[end.length - 1]++;
            return KVGrpc.newBlockingStub(ch).range(RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8(prefix))
                    .setRangeEnd(com.google.protobuf.ByteString.copyFrom(end)).setCountOnly(true).build()).getCount();
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void putWritesEveryKeyOfASequentialKeySpaceAndLogsHistograms() throws Exception {
        Path log = dir.resolve("put.hlog");
        LoadConfig cfg = new LoadConfig(List.of(endpoint), 4, 2, 200, 0, 0, null, log, 1);
        RunResult r = Driver.run(KvWorkloads.put(16, 64, 50, true), cfg, null);
        assertEquals(200, r.primary().ok(), r.table());
        assertTrue(r.errors().isEmpty(), r.table());
        assertTrue(keysWithPrefix("bench/") >= 50);
        long logged = 0;
        HistogramLogReader reader = new HistogramLogReader(log.toFile());
        for (var h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
            assertEquals("put", h.getTag());
            logged += ((Histogram) h).getTotalCount();
        }
        assertEquals(200, logged, "every latency is in the HdrHistogram log");
    }

    @Test
    void openLoopPutSendsTheTotalAtTheRate() throws Exception {
        RunResult r = Driver.run(KvWorkloads.put(16, 64, 100, false), counted(2, 100, 400), null);
        assertEquals(100, r.primary().ok(), r.table());
        assertEquals("open", r.loop());
        assertTrue(r.seconds() >= 99 / 400.0, "100 requests due over 0.25 s took " + r.seconds());
    }

    @Test
    void rangeBothConsistenciesAndAKeyRange() throws Exception {
        assertEquals(50, Driver.run(KvWorkloads.range(null, null, "l", 0, 16, 50), counted(2, 50, 0), null).primary().ok());
        assertEquals(50, Driver.run(KvWorkloads.range(null, null, "s", 0, 16, 50), counted(2, 50, 0), null).primary().ok());
        assertEquals(20, Driver.run(KvWorkloads.range("bench/", "bench0", "l", 10, 16, 1), counted(1, 20, 0), null).primary().ok());
    }

    @Test
    void txnPutAndTxnMixed() throws Exception {
        RunResult t = Driver.run(KvWorkloads.txnPut(16, 16, 30, 3), counted(3, 60, 0), null);
        assertEquals(60, t.primary().ok(), t.table());
        assertTrue(keysWithPrefix("bench/") >= 30);
        RunResult m = Driver.run(KvWorkloads.txnMixed(16, 16, 30, null, 10, "s", 1), counted(3, 200, 0), null);
        long reads = series(m, "read").ok(), writes = series(m, "write").ok();
        assertEquals(200, reads + writes, m.table());
        assertTrue(reads > 50 && writes > 50, "rw-ratio 1 splits about evenly (seed 3): " + reads + "/" + writes);
    }

    @Test
    void watchDeliversEveryEventToEveryWatcher() throws Exception {
        // 2 streams x 5 watchers over 2 keys: each put reaches 5 watchers.
        RunResult r = Driver.run(WatchWorkload.watch(2, 5, 2, 16, 2, true), counted(2, 40, 0), null);
        assertEquals(40, r.primary().ok(), r.table());
        assertEquals(10, series(r, "watch-create").ok(), r.table());
        assertEquals(200, series(r, "event").ok(), r.table());
        assertEquals(200L, r.counters().get("receivedEvents"));
        assertTrue(r.errors().isEmpty(), r.table());
    }

    @Test
    void watchLatencyAtAPutRate() throws Exception {
        RunResult r = Driver.run(WatchWorkload.watchLatency(2, 3, true, 16, 32), counted(1, 30, 300), null);
        assertEquals(30, r.primary().ok(), r.table());
        assertEquals(180, series(r, "event").ok(), r.table());
    }

    @Test
    void leaseKeepalive() throws Exception {
        RunResult r = Driver.run(new LeaseKeepaliveWorkload(), counted(3, 90, 0), null);
        assertEquals(90, r.primary().ok(), r.table());
        assertEquals(3L, r.counters().get("leasesGranted"));
    }

    @Test
    void kubeMixPreloadsListsUpdatesAndWatches() throws Exception {
        KubeParameters p = KubeParameters.fromSimulator();
        RunResult r = Driver.run(new KubeWorkload(p, 40, 7, 0.5, 0.05, 2, 200), counted(4, 150, 0), null);
        assertEquals(150, r.primary().ok(), r.table());
        assertTrue(r.errors().isEmpty(), r.table());
        assertEquals(40L, r.counters().get("preloaded"), r.table());
        long lists = series(r, "list").ok();
        assertTrue(lists > 0 && r.counters().get("listPages") >= lists * 6, "40 objects in pages of 7 are 6 pages: " + r.table());
        assertTrue(series(r, "update").ok() > 0 && r.counters().get("events") > 0, r.table());
        assertTrue(keysWithPrefix(KubeWorkload.PREFIX) > 0);
    }

    @Test
    void aDownEndpointCountsEveryRequestByGrpcCode() throws Exception {
        LoadConfig cfg = new LoadConfig(List.of("127.0.0.1:" + freePort()), 2, 1, 6, 0, 0, null, null, 1);
        RunResult r = Driver.run(KvWorkloads.put(16, 16, 10, false), cfg, null);
        assertEquals(0, r.primary().ok());
        assertEquals(Map.of("UNAVAILABLE", 6L), r.primary().errors(), r.table());
        assertTrue(r.table().contains("UNAVAILABLE"), r.table());
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonFollowsTheDocumentedSchema() throws Exception {
        RunResult r = Driver.run(KvWorkloads.txnMixed(16, 16, 10, null, 5, "l", 3), counted(2, 40, 0), null);
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.json());
        assertEquals(List.of("schema", "workload", "loop", "rate", "clients", "conns", "endpoints", "seconds", "series", "counters"),
                List.copyOf(doc.keySet()));
        assertEquals(RunResult.SCHEMA, doc.get("schema"));
        assertEquals("txn-mixed", doc.get("workload"));
        assertEquals("closed", doc.get("loop"));
        assertEquals(List.of(endpoint), doc.get("endpoints"));
        List<Object> series = (List<Object>) doc.get("series");
        assertEquals(2, series.size());
        long ok = 0;
        for (Object o : series) {
            Map<String, Object> s = (Map<String, Object>) o;
            assertEquals(List.of("name", "ok", "errors", "qps", "latencyMs"), List.copyOf(s.keySet()));
            assertInstanceOf(Map.class, s.get("errors"));
            Map<String, Object> lat = (Map<String, Object>) s.get("latencyMs");
            assertEquals(List.of("mean", "p50", "p90", "p99", "p99.9", "max"), List.copyOf(lat.keySet()));
            double p50 = ((Number) lat.get("p50")).doubleValue(), max = ((Number) lat.get("max")).doubleValue();
            assertTrue(p50 > 0 && p50 <= max, lat.toString());
            ok += (Long) s.get("ok");
        }
        assertEquals(40, ok);
    }

    @Test
    void badFlagsAreRejectedWithEtcdsMessages() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> KvWorkloads.txnPut(8, 8, 1, 2));
        assertTrue(e.getMessage().contains("expected --txn-ops no larger than --key-space-size"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> KvWorkloads.range(null, null, "x", 0, 8, 1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new LoadConfig(List.of(endpoint), 1, 1, 10, 1000, 0, null, null, 1));
        assertTrue(Files.exists(dir));
    }
}
