package io.quorumlab.chaos.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.chaos.sim.Scenario;
import io.quorumlab.chaos.sim.SimResult;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The HTML report parses as XML, holds one SVG chart per series with one line per run, and no
 * scripts or external references. (Determinism per seed: ClusterSimulationTest.sameSeedGivesByteIdenticalJson.)
 */
public class HtmlReportTest {
    static final String SVG = "http://www.w3.org/2000/svg";

    /** Parses {@code html} as XML and checks the charts: each series once, with {@code runs} lines. */
    public static Document assertWellFormedWithAllCharts(String html, int runs) {
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            doc = f.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new AssertionError("the report is not well-formed XML: " + e.getMessage(), e);
        }
        NodeList svgs = doc.getElementsByTagNameNS(SVG, "svg");
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < svgs.getLength(); i++) {
            Element svg = (Element) svgs.item(i);
            String id = svg.getAttribute("data-series");
            seen.add(id);
            if (HtmlReport.chartIds().contains(id)) {
                NodeList lines = svg.getElementsByTagNameNS(SVG, "polyline");
                assertEquals(runs, lines.getLength(), "lines in chart " + id);
                for (int k = 0; k < lines.getLength(); k++) {
                    String pts = ((Element) lines.item(k)).getAttribute("points");
                    assertFalse(pts.isBlank(), "points of " + id);
                    assertFalse(pts.contains("NaN") || pts.contains("Infinity"), id + ": " + pts);
                }
            }
        }
        for (String id : HtmlReport.chartIds()) assertTrue(seen.contains(id), "chart " + id + " in " + seen);
        assertEquals(0, doc.getElementsByTagNameNS("*", "script").getLength(), "no scripts");
        assertFalse(html.contains("http://") && html.replace("http://www.w3.org/", "").contains("http://"), "no external references");
        assertFalse(html.contains("src="), "no external assets");
        return doc;
    }

    @Test
    void axisStepsAreRound() {
        assertEquals(1, HtmlReport.niceStep(0.7), 1e-12);
        assertEquals(2, HtmlReport.niceStep(1.3), 1e-12);
        assertEquals(5, HtmlReport.niceStep(4.2), 1e-12);
        assertEquals(10, HtmlReport.niceStep(7), 1e-12);
        assertEquals(0.05, HtmlReport.niceStep(0.031), 1e-12);
    }

    @Test
    void faultLogAndLeaderChangesAreInTheReportEscaped() {
        // Two short runs side by side (as compare-placement does): a restart of one member, and a clean run.
        Scenario a = Scenario.parse("""
                name: restart <a & b>
                placement: external
                duration: 30s
                seed: 2
                workload: {apiRequestsPerSecond: 40, burstsPerDay: 0}
                faults:
                  - {at: 10s, kill: etcd1, downFor: 3s}
                """, "a");
        Scenario b = Scenario.parse("""
                name: clean
                placement: external
                duration: 30s
                seed: 2
                workload: {apiRequestsPerSecond: 40, burstsPerDay: 0}
                """, "b");
        SimResult ra = a.build().run(null), rb = b.build().run(null);
        String html = HtmlReport.runs("two runs", List.of(ra, rb));
        Document doc = assertWellFormedWithAllCharts(html, 2);
        assertTrue(html.contains("restart &lt;a &amp; b&gt;"), "names are escaped");
        String text = doc.getDocumentElement().getTextContent();
        assertTrue(text.contains("kill etcd1 (power loss) for 3s"), "the fault log is in the report");
        assertTrue(text.contains("etcd1 back up"), text);
        assertTrue(text.contains("fault tolerance"), text);
        for (var c : ra.leaderChanges()) assertTrue(text.contains(c.cause()), "cause chain " + c.cause());
    }
}
