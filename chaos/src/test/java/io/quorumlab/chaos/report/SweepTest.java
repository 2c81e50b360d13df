package io.quorumlab.chaos.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.SimResult;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/**
 * A sweep runs the scenario once per value; {@code disk.fsync.p99} acts through the disk model, so
 * the WAL's observed fsync p99 on a device of its own follows the requested one. No fixed election
 * counts are asserted: those are what the sweep is for.
 */
class SweepTest {
    @Test
    void fsyncP99SweepObservesWhatItAsksFor() {
        // etcd alone on its device (external placement): the WAL's fsync p99 is the device's.
        Scenario base = Scenario.parse("""
                name: sweep-test
                placement: external
                duration: 40s
                seed: 3
                workload: {apiRequestsPerSecond: 40, burstsPerDay: 0}
                """, "inline");
        List<String> values = Sweep.values("disk.fsync.p99", "2ms, 20ms");
        Sweep.Result r = Sweep.run(base, "disk.fsync.p99", values, null);
        String replay = "\nreplay: quorumlab sim sweep SCENARIO --param disk.fsync.p99 --values 2ms,20ms --seed 3\n" + Sweep.json(r);
        assertEquals(2, r.runs().size());
        for (int i = 0; i < values.size(); i++) {
            SimResult s = r.runs().get(i);
            double requested = Sweep.numeric("disk.fsync.p99", values.get(i));
            assertEquals(requested, s.etcdFsyncP99RequestedMs(), 1e-9);
            assertTrue(s.walFsyncs() > 500, "enough fsyncs for a p99: " + s.walFsyncs() + replay);
            double ratio = s.walFsyncP99Ms() / requested;
            assertTrue(ratio > 0.75 && ratio < 1.35, "observed p99 " + s.walFsyncP99Ms() + " ms for requested " + requested + replay);
            assertTrue(s.scenario().endsWith("disk.fsync.p99=" + values.get(i)), s.scenario());
            // Every run of a sweep is checked, and its verdict is in its result (and the JSON).
            assertTrue(s.checks().ops() > 0 && s.checks().ok(), s.checks() + replay);
            assertTrue(s.toJson().contains("\"checks\": {\"ok\": true, \"windows\": "), replay);
            assertTrue(s.etcdDisk().contains("fsync p99"), s.etcdDisk());
        }
        String text = Sweep.text(r);
        assertTrue(text.contains("elections/wk") && text.contains("leader elections per week"), text);
        assertTrue(text.lines().filter(l -> l.startsWith("2ms") || l.startsWith("20ms")).count() == 2, text);
        String html = HtmlReport.sweep(r);
        Document doc = HtmlReportTest.assertWellFormedWithAllCharts(html, 2);
        assertTrue(html.contains("data-series=\"sweep-elections\"") && html.contains("data-series=\"sweep-freeze\"")
                && html.contains("data-series=\"sweep-api\""), "bar charts");
        assertEquals(html, HtmlReport.sweep(r), "rendering is deterministic");
        assertTrue(doc.getDocumentElement().getTextContent().contains("WAL fsync p99 observed"));
    }

    @Test
    void badParametersAndValuesAreRefusedBeforeAnyRun() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sweep.values("disk.speed", "1"))
                .getMessage().contains("unknown sweep parameter"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sweep.values("disk.fsync.p99", "2ms,fast"))
                .getMessage().contains("bad duration"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sweep.values("disk.fsync.p99", "0ms"))
                .getMessage().contains("must be in"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sweep.values("load", "100,lots"))
                .getMessage().contains("must be a number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sweep.values("load", " , "))
                .getMessage().contains("at least one value"));
        assertEquals(List.of("100", "250"), Sweep.values("workload.apiRequestsPerSecond", "100, 250"));
        assertEquals(5.0, Sweep.numeric("disk.fsync.p99", "5"), 1e-9, "a bare number is milliseconds");
        var p = Sweep.apply(Scenario.parse("placement: stacked", "t").params(), "load", "123");
        assertEquals(123, p.workload().apiRequestsPerSecond(), 1e-9);
    }
}
