package io.quorumlab.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The side-by-side report's arithmetic (min/median/max over rounds, ratio of medians) and its three renderings. */
class CompareReportTest {
    static RunResult run(double qps, double p99, long errors) {
        RunResult.SeriesResult s = new RunResult.SeriesResult("put", (long) qps, errors > 0 ? Map.of("UNAVAILABLE", errors) : Map.of(), qps,
                1, 1, 2, p99, p99, p99);
        return new RunResult("put", "closed", 0, 1, 1, List.of("127.0.0.1:2379"), 1, List.of(s), Map.of());
    }

    static CompareReport report() {
        CompareReport r = new CompareReport(3, "2026-11-21T00:00:00Z");
        double[] etcd = {1000, 1200, 800}, ql = {500, 700, 600};
        for (int i = 0; i < 3; i++) {
            r.add("put <1>", "etcd", run(etcd[i], 2 + i, 0));
            r.add("put <1>", "quorumlab", run(ql[i], 5 + i, i == 2 ? 4 : 0));
            r.addRss("etcd", 100_000_000L * (i + 1));
            r.addRss("quorumlab", 300_000_000L);
            r.addCpu("put <1>", "etcd", 100 + 10 * i, 0);
            r.addCpu("put <1>", "quorumlab", 90 - 10 * i, 2.5 - i);
        }
        return r;
    }

    @Test
    void mediansRangesAndRatio() {
        CompareReport r = report();
        CompareReport.Stat e = r.stat("put <1>", "etcd", CompareReport::qps);
        assertEquals(new CompareReport.Stat(800, 1000, 1200, 3), e);
        assertEquals(600, r.stat("put <1>", "quorumlab", CompareReport::qps).median());
        assertEquals(0.6, r.ratio("put <1>"), 1e-9);
        String table = r.table();
        assertTrue(table.contains("1000 [800-1200]") && table.contains("600 [500-700]") && table.contains("0.60"), table);
        assertTrue(table.contains("quorumlab had errors on put <1> (up to 4 per run)"), table);
        assertEquals(new CompareReport.Stat(70, 80, 90, 3), r.cpuStat("put <1>", "quorumlab", 0));
        assertEquals(new CompareReport.Stat(0.5, 1.5, 2.5, 3), r.cpuStat("put <1>", "quorumlab", 1));
        assertTrue(table.contains("member CPU per op (us)") && table.contains("110 [100-120]") && table.contains("80 [70-90]")
                && table.contains("0.73") && table.contains("1.5 [0.5-2.5]"), table);
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonSchema() {
        Map<String, Object> doc = (Map<String, Object>) Json.parse(report().json());
        assertEquals(List.of("schema", "started", "repeat", "workloads", "maxMemberRssBytes"), List.copyOf(doc.keySet()));
        Map<String, Object> w = (Map<String, Object>) ((List<Object>) doc.get("workloads")).get(0);
        assertEquals(List.of("name", "etcd", "quorumlab", "qpsRatio"), List.copyOf(w.keySet()));
        Map<String, Object> q = (Map<String, Object>) w.get("quorumlab");
        assertEquals(List.of("qps", "p99Ms", "errors", "cpuUsPerOp", "jitSeconds", "runs"), List.copyOf(q.keySet()));
        assertEquals(Map.of("min", 0.5, "median", 1.5, "max", 2.5), q.get("jitSeconds"));
        assertEquals(Map.of("min", 500.0, "median", 600.0, "max", 700.0), q.get("qps"));
        assertEquals(3, ((List<Object>) q.get("runs")).size());
        assertEquals(RunResult.SCHEMA, ((Map<String, Object>) ((List<Object>) q.get("runs")).get(0)).get("schema"));
        assertEquals(0.6, (Double) w.get("qpsRatio"), 1e-3);
        assertEquals(200_000_000.0, ((Map<String, Object>) ((Map<String, Object>) doc.get("maxMemberRssBytes")).get("etcd")).get("median"));
    }

    @Test
    void htmlIsSelfContainedAndEscaped() {
        String html = report().html();
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("put &lt;1&gt;"), html);
        assertFalse(html.contains("put <1>"), "names are escaped");
        assertFalse(html.replace("http://www.w3.org/2000/svg", "").matches("(?s).*(src=|href=|https?://|@import).*"), "no external assets");
    }

    @Test
    void jsonRoundTripsStringsAndRejectsGarbage() {
        assertEquals(Map.of("a\"b", List.of(1L, 2.5, true, "x\ny")), Json.parse(Json.write(Map.of("a\"b", List.of(1L, 2.5, true, "x\ny")))));
        for (String bad : List.of("{", "[1,", "{\"a\" 1}", "tru", "\"unterminated", "[" .repeat(100) + "]".repeat(100))) {
            try {
                Json.parse(bad);
                throw new AssertionError("accepted " + bad);
            } catch (IllegalArgumentException expected) {
                // etcd-style: an error, not a crash
            }
        }
    }
}
