package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's first command, end to end, with shortened durations. */
class DemoIT {
    @Test
    void demoRunsEndToEnd(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path report = dir.resolve("demo.html");
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.commandLine().execute("demo", "--put-seconds", "2", "--range-seconds", "1", "--sim-minutes", "0.5",
                    "--report", report.toString());
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, code, out);
        assertTrue(out.contains("is the leader"), out);
        assertTrue(out.matches("(?s).*put\\s+16\\s+\\d+.*"), "put benchmark table: " + out);
        assertTrue(out.contains("took over in"), "leader failover: " + out);
        assertTrue(out.contains("leader elections"), "simulation table: " + out);
        assertTrue(out.contains("== summary"), out);
        assertTrue(out.contains("report: " + report.toAbsolutePath()), out);
        String html = java.nio.file.Files.readString(report);
        assertTrue(html.contains("Measured on this machine") && html.contains("<svg"), "the report has the benchmark and the charts");
    }
}
