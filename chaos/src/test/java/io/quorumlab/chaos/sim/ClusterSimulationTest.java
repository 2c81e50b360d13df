package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import io.quorumlab.chaos.report.HtmlReport;
import io.quorumlab.chaos.report.HtmlReportTest;
import io.quorumlab.server.member.Member;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The simulator runs the real member code: these tests check it is deterministic and that the
 * leader-election cascade arises from disk contention on a stacked node and not on dedicated NVMe.
 * Replay any run with {@code quorumlab sim run --placement P --minutes M --seed S [--burst-at B]}.
 */
class ClusterSimulationTest {
    static final long MINUTE = 60_000_000_000L;

    static SimResult run(ClusterSimulation.Params p, Double burstAtMinute) {
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        if (burstAtMinute != null) s.burstAt((long) (burstAtMinute * MINUTE));
        return s.run(null);
    }

    @Test
    void apiServersCompactEveryFiveMinutesLikeKube() {
        // A light load (the test is about the compactor, not the disk): 11 simulated minutes, so two
        // rounds run; the first records a revision, the second compacts to it.
        ClusterSimulation.Params p = ClusterSimulation.Params.dedicatedNvme(11 * MINUTE, 3)
                .withWorkload(Workload.defaults().withApiRequestsPerSecond(20));
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        s.run(null);
        for (var e : s.members().entrySet()) {
            var store = e.getValue().store();
            assertTrue(store.compactRevision() > 0, e.getKey() + " compacted (replay: seed 3, dedicated-nvme, 11 min, 20 req/s)");
            assertTrue(store.compactRevision() < store.currentRevision(), "history after the compaction point is kept");
        }
    }

    @Test
    void sameSeedGivesByteIdenticalJson() {
        ClusterSimulation.Params p = ClusterSimulation.Params.stacked(2 * MINUTE, 42);
        SimResult first = run(p, 0.5), second = run(p, 0.5);
        String a = first.toJson(), b = second.toJson();
        String replay = "replay: quorumlab sim run --placement stacked --minutes 2 --seed 42 --burst-at 0.5 --output json";
        assertEquals(a, b, replay);
        assertTrue(a.contains("\"walFsyncs\""), a);
        assertTrue(a.contains("\"series\": {") && a.contains("\"walFsyncP99Ms\": ["), a);
        // The HTML report is as deterministic as the JSON, and well-formed with every chart in it.
        String html = HtmlReport.runs("t", List.of(first));
        assertEquals(html, HtmlReport.runs("t", List.of(second)), replay + " --report r.html");
        HtmlReportTest.assertWellFormedWithAllCharts(html, 1);
        String c = run(p.withSeed(43), 0.5).toJson();
        assertTrue(!a.equals(c), "a different seed must give a different run");
    }

    @Test
    void healthyDedicatedClusterServesTheLoadWithoutElections() {
        SimResult r = run(ClusterSimulation.Params.dedicatedNvme(2 * MINUTE, 7), null);
        assertTrue(r.etcdCalls() > 10_000, "etcd calls: " + r.etcdCalls());
        assertTrue(r.walFsyncs() > 1000, "fsyncs: " + r.walFsyncs());
        assertEquals(0, r.apiFailed(), r.toJson());
        assertEquals(0, r.leaderElections(), r.toJson());
        assertTrue(r.walFsyncP99Ms() < 5, r.toJson());
    }

    @Test
    void deploymentBurstCascadesOnStackedButNotOnDedicatedNvme() {
        // Same workload, same seed, a deployment burst at minute 1; only the placement differs.
        SimResult stacked = run(ClusterSimulation.Params.stacked(4 * MINUTE, 1), 1.0);
        SimResult dedicated = run(ClusterSimulation.Params.dedicatedNvme(4 * MINUTE, 1), 1.0);
        String replay = "\nreplay: quorumlab sim compare-placement --minutes 4 --seed 1 --burst-at 1";
        assertTrue(stacked.leaderElections() > 0, "stacked should lose its leader during the burst" + replay + "\n" + stacked.toJson());
        assertTrue(stacked.walFsyncMaxMs() > 1000, "multi-second fsync stalls on the shared device" + replay + "\n" + stacked.toJson());
        for (ClusterSimulation.LeaderChange c : stacked.leaderChanges()) {
            assertTrue(c.cause().startsWith("fsync"), "each election follows a slow fsync on the old leader: " + c + replay);
        }
        assertEquals(0, dedicated.leaderElections(), "dedicated NVMe keeps its leader" + replay + "\n" + dedicated.toJson());
        assertTrue(dedicated.apiP99Ms() < stacked.apiP99Ms(), "API-server p99 is lower on dedicated etcd" + replay);
    }

    @Test
    void aWeightedRequestStandsForSeveralRealOnes() {
        // Same load, seed and placement; weight 10 simulates a tenth of the requests, each counted
        // ten times, so totals agree within Poisson noise while etcd sees about a tenth of the calls.
        ClusterSimulation.Params p = ClusterSimulation.Params.dedicatedNvme(2 * MINUTE, 11);
        SimResult one = run(p, null);
        SimResult ten = run(p.withWorkload(p.workload().withRequestWeight(10)), null);
        String replay = "\nreplay: quorumlab sim run --placement dedicated-nvme --minutes 2 --seed 11 --request-weight 1|10 --output json";
        assertEquals(10, ten.requestWeight());
        assertEquals(0, ten.apiRequests() % 10, "every simulated request counts 10 times" + replay);
        assertEquals(0, ten.etcdCalls() % 10, replay);
        double ratio = (double) ten.apiRequests() / one.apiRequests();
        assertTrue(ratio > 0.95 && ratio < 1.05, "API requests per simulated time do not depend on the weight: " + ratio + replay);
        assertTrue(ten.events() < one.events() / 2, "the weighted run executes far fewer events: " + ten.events() + " vs " + one.events() + replay);
        assertTrue(ten.walFsyncs() < one.walFsyncs(), "fewer, larger proposals: fewer fsyncs" + replay);
        assertEquals(0, ten.apiFailed(), ten.toJson());
        assertTrue(ten.toJson().contains("\"requestWeight\": 10"), "the weight is part of the result");
    }

    @Test
    void aWeightedRequestsBytesAreChargedOnTheDeviceNotCarried() throws Exception {
        // The runtime charges a WAL entry or backend put that carries a weighted object (here >= 1000 bytes)
        // byteScale times on the device, everything else once; a frame split across writes is charged once.
        Sim sim = new Sim(5);
        Disk d = new Disk(sim, "n", DiskProfile.named("nvme"), 0.0, 5_000_000_000L, 1L << 40);
        SimRuntime rt = new SimRuntime(sim, "m", d, 7, 1000);
        var f = rt.walStorage(java.nio.file.Path.of("/wal")).create("0.wal");
        java.nio.ByteBuffer ab = java.nio.ByteBuffer.allocate(1232 + 80).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        ab.putInt(0, 17 + 1200).put(4, (byte) 2);       // an entry with an object: 12 + 1217 -> 1232 bytes
        ab.putInt(1232, 17 + 50).put(1232 + 4, (byte) 2); // a small entry (a checker's put): 12 + 67 -> 80
        f.write(ab, 0);
        java.nio.ByteBuffer c = java.nio.ByteBuffer.allocate(40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        c.putInt(0, 24).put(4, (byte) 3);                  // a hard state, written in two pieces
        f.write(c.duplicate().limit(5), 1312);
        f.write(c.duplicate().position(5), 1317);
        assertEquals(1232L * 7 + 80 + 40, d.writtenBy("etcd-wal-m"));
        var backend = rt.backend(java.nio.file.Path.of("/db"), 1L << 30);
        backend.put(io.quorumlab.mvcc.backend.Bucket.KEY, new byte[] {1}, new byte[10_000]);
        backend.put(io.quorumlab.mvcc.backend.Bucket.KEY, new byte[] {2}, new byte[10]);
        backend.commit();
        long batch = 7L * (1 + 10_000 + 16) + (1 + 10 + 16); // 16: InMemoryBackend's per-entry overhead
        long pages = (batch + 4095) / 4096 + SimRuntime.COMMIT_EXTRA_PAGES + 1; // the entries, the path and freelist, the meta page
        assertEquals(pages * 4096, d.writtenBy("etcd-db-m"));

        // In a cluster: weight 10 carries one object's value per simulated request, so the member code holds
        // about a tenth of the bytes, while the etcd devices (dedicated: nothing else on them) see about the
        // same bytes per simulated time as at weight 1.
        ClusterSimulation.Params p = ClusterSimulation.Params.dedicatedNvme(2 * MINUTE, 12);
        String replay = "\nreplay: quorumlab sim run --placement dedicated-nvme --minutes 2 --seed 12 --request-weight 1|10 --output json";
        long[] stored = new long[2];
        long[] device = new long[2];
        int i = 0;
        for (int w : new int[] {1, 10}) {
            ClusterSimulation s = new ClusterSimulation(p.withWorkload(p.workload().withRequestWeight(w)));
            s.build();
            s.run(null);
            for (Map.Entry<String, Member> m : s.members().entrySet()) {
                stored[i] += m.getValue().store().dbSizeInUseBytes();
                device[i] += s.runtime(m.getKey()).disk().writtenBy("etcd-wal-" + m.getKey());
            }
            i++;
        }
        double ratio = (double) device[1] / device[0];
        assertTrue(ratio > 0.8 && ratio < 1.25, "WAL device bytes do not depend on the weight: " + device[1] + " vs " + device[0] + replay);
        assertTrue(stored[1] * 3 < stored[0], "the member code holds about a tenth of the bytes: " + stored[1] + " vs " + stored[0] + replay);
    }

    @Test
    void backendCommitsUseTheMembersDevice() {
        // etcd's backend commits (two fdatasyncs each, every 100 ms while there are writes) go to the
        // same modelled device as the WAL: the device sees more syncs than the WAL issued.
        ClusterSimulation.Params p = ClusterSimulation.Params.dedicatedNvme(MINUTE, 5);
        ClusterSimulation s = new ClusterSimulation(p);
        s.build();
        s.run(null);
        long deviceSyncs = 0, commits = 0, walSyncs = 0;
        for (String m : s.members().keySet()) {
            SimRuntime rt = s.runtime(m);
            deviceSyncs += rt.disk().syncs();
            commits += rt.backendCommits();
            walSyncs += rt.walSyncs();
        }
        String replay = "\nreplay: quorumlab sim run --placement dedicated-nvme --minutes 1 --seed 5";
        assertTrue(commits > 3 * 60 * 5, "each member commits its backend several times a second under load: " + commits + replay);
        assertTrue(walSyncs > 1000, "WAL fsyncs: " + walSyncs + replay);
        assertEquals(walSyncs + 2 * commits, deviceSyncs, "each dedicated device: its WAL's fsyncs + two per backend commit" + replay);
    }
}
