package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code quorumlab sim ...} in-process: reports are written, bad input is a usage error, the bar reads right. */
class SimCommandTest {
    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        CommandLine cmd = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void runWritesTheHtmlReportAndJson(@TempDir Path dir) throws Exception {
        Path scenario = dir.resolve("s.yaml");
        Files.writeString(scenario, """
                name: cli-test
                placement: external
                duration: 20s
                seed: 9
                workload: {apiRequestsPerSecond: 30, burstsPerDay: 0}
                faults:
                  - {at: 8s, restart: etcd2, downFor: 1s}
                """);
        Path report = dir.resolve("out").resolve("report.html");
        Outcome o = run("sim", "run", scenario.toString(), "--output", "json", "--report", report.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().startsWith("{") && o.out().contains("\"series\"") && o.out().contains("restart etcd2"), o.out());
        assertTrue(o.err().contains("checks: checked"), "the checkers' verdict goes next to the JSON: " + o.err());
        String html = Files.readString(report);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("cli-test"), html);
    }

    @Test
    void sweepPrintsATableAndWritesItsReport(@TempDir Path dir) throws Exception {
        Path scenario = dir.resolve("s.yaml");
        Files.writeString(scenario, """
                name: cli-sweep
                placement: external
                duration: 15s
                seed: 9
                workload: {apiRequestsPerSecond: 30, burstsPerDay: 0}
                """);
        Path report = dir.resolve("sweep.html");
        Outcome o = run("sim", "sweep", scenario.toString(), "--param", "load", "--values", "20,40", "--report", report.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("sweep of load over cli-sweep") && o.out().contains("leader elections per week"), o.out());
        assertEquals(2, o.out().lines().filter(l -> l.startsWith("20 ") || l.startsWith("40 ")).count(), o.out());
        String html = Files.readString(report);
        assertTrue(html.contains("data-series=\"sweep-elections\"") && html.contains("cli-sweep load=40"), html);
    }

    @Test
    void badInputIsAUsageErrorWithTheReason(@TempDir Path dir) throws Exception {
        Path scenario = dir.resolve("bad.yaml");
        Files.writeString(scenario, "faults: [{at: 1m, transferLeader: nobody}]\n");
        Outcome o = run("sim", "run", scenario.toString());
        assertEquals(2, o.code());
        assertTrue(o.err().contains("no member nobody"), o.err());
        Path ok = dir.resolve("ok.yaml");
        Files.writeString(ok, "placement: stacked\nduration: 10s\n");
        o = run("sim", "sweep", ok.toString(), "--param", "disk.speed", "--values", "1,2");
        assertEquals(2, o.code());
        assertTrue(o.err().contains("unknown sweep parameter \"disk.speed\""), o.err());
        o = run("sim", "sweep", ok.toString(), "--param", "disk.fsync.p99", "--values", "2ms,quick");
        assertEquals(2, o.code());
        assertTrue(o.err().contains("bad duration"), o.err());
        o = run("sim", "run", ok.toString(), "--output", "yaml");
        assertEquals(2, o.code());
        assertTrue(o.err().contains("--output must be text or json"), o.err());
    }

    @Test
    void malformedYamlAndAnUnwritableReportAreUsageErrorsBeforeTheRun(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, "faults: [{at: 1m, kill: cp1\n");
        Outcome o = run("sim", "run", broken.toString());
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("not valid YAML") && !o.err().contains("\tat org.yaml"), o.err());
        Path typo = dir.resolve("typo.yaml");
        Files.writeString(typo, "duration: 10s\nfaults:\n  - {at: 1s, kill: cp1, downfor: 1s}\n");
        o = run("sim", "run", typo.toString());
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("unknown key \"downfor\" in the kill fault (allowed: at, kill, downFor"), o.err());
        // A directory as the report, or a file under a regular file: refused at once (a 1-day run would take minutes).
        Path ok = dir.resolve("ok.yaml");
        Files.writeString(ok, "placement: stacked\nduration: 1d\n");
        for (Path bad : new Path[] {dir, ok.resolve("r.html")}) {
            for (String sub : new String[] {"run", "sweep"}) {
                String[] args = sub.equals("run") ? new String[] {"sim", "run", ok.toString(), "--report", bad.toString()}
                        : new String[] {"sim", "sweep", ok.toString(), "--param", "load", "--values", "1", "--report", bad.toString()};
                o = run(args);
                assertEquals(2, o.code(), sub + " " + bad + ": " + o.err());
                assertTrue(o.err().contains("cannot write --report") && !o.err().contains("Exception:"), o.err());
                assertTrue(o.out().isEmpty(), "nothing was simulated: " + o.out());
            }
        }
        o = run("sim", "compare-placement", "--days", "1", "--report", dir.toString());
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("cannot write --report"), o.err());
    }

    @Test
    void comparePlacementSaysNaForAPeakHourItNeverReachedAndCountsAsIntegers(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("cmp.html");
        Outcome o = run("sim", "compare-placement", "--minutes", "0.5", "--burst-at", "-1", "--report", report.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().lines().anyMatch(l -> l.startsWith("WAL fsync p99, peak hour (ms)") && l.trim().endsWith("n/a")), o.out());
        assertTrue(o.out().lines().anyMatch(l -> l.matches("leader elections +\\d+ +\\d+")), o.out());
        String html = Files.readString(report);
        assertTrue(html.contains("n/a (ended before 12:00)") && html.contains("linearizability and watch checks"), html);
        o = run("sim", "compare-placement", "--minutes", "0.5", "--burst-at", "-1", "--output", "json");
        assertTrue(o.out().contains("\"walFsyncPeakHourP99Ms\": null") && o.out().contains("\"checks\": {\"ok\": true"), o.out());
    }

    @Test
    void progressBarShowsShareRateAndEta() {
        SimCommand.ProgressBar bar = new SimCommand.ProgressBar("x", 7 * 86_400_000_000_000L, new PrintWriter(new StringWriter()));
        String line = bar.line(7 * 86_400_000_000_000L / 4, 100);
        assertTrue(line.contains("[########--"), line);
        assertTrue(line.contains(" 25.0%"), line);
        assertTrue(line.contains("1512.0 sim-s/s"), line);
        assertTrue(line.contains("ETA 5m00s"), line);
        assertEquals("?", SimCommand.ProgressBar.wall(Double.POSITIVE_INFINITY));
        assertEquals("1h01m", SimCommand.ProgressBar.wall(3660));
    }

    @Test
    void requestWeightDefaultsByDurationAndFollowsTheScenarioOrTheFlag() {
        long hour = 3_600_000_000_000L;
        var shortRun = io.quorumlab.chaos.sim.ClusterSimulation.Params.stacked(6 * hour, 1);
        var longRun = io.quorumlab.chaos.sim.ClusterSimulation.Params.stacked(6 * hour + 1, 1);
        assertEquals(1, SimCommand.withWeight(shortRun, null).workload().requestWeight());
        assertEquals(SimCommand.LONG_RUN_WEIGHT, SimCommand.withWeight(longRun, null).workload().requestWeight());
        var twoDays = io.quorumlab.chaos.sim.ClusterSimulation.Params.stacked(48 * hour, 1);
        var week = io.quorumlab.chaos.sim.ClusterSimulation.Params.stacked(168 * hour, 1);
        assertEquals(SimCommand.LONG_RUN_WEIGHT, SimCommand.withWeight(twoDays, null).workload().requestWeight());
        assertEquals(30, SimCommand.withWeight(week, null).workload().requestWeight(), "a week defaults to weight 30");
        assertEquals(3, SimCommand.withWeight(longRun, 3).workload().requestWeight(), "the flag wins");
        var scenarioWeighted = shortRun.withWorkload(shortRun.workload().withRequestWeight(7));
        assertEquals(7, SimCommand.withWeight(scenarioWeighted, null).workload().requestWeight(), "then the scenario's own");
        Outcome o = run("sim", "run", "--minutes", "0.1", "--request-weight", "0");
        assertEquals(2, o.code());
        assertTrue(o.err().contains("requestWeight must be 1..1000"), o.err());
    }

    @Test
    void bothPlacementsAtOnceGiveTheSameRunsAsOneAfterTheOther() {
        // compare-placement runs the two simulations on two threads: each must still be a pure function
        // of its parameters and seed (nothing shared between runs).
        long minute = 60_000_000_000L;
        var a = io.quorumlab.chaos.sim.ClusterSimulation.Params.stacked(minute, 9);
        var b = io.quorumlab.chaos.sim.ClusterSimulation.Params.dedicatedNvme(minute, 9);
        SimCommand.Checked[] together = SimCommand.simulateBoth(a, b, 0.3, false);
        String replay = "replay: quorumlab sim compare-placement --minutes 1 --seed 9 --burst-at 0.3 --output json";
        assertEquals(SimCommand.simulateChecked(a, 0.3, false).result().toJson(), together[0].result().toJson(), replay);
        assertEquals(SimCommand.simulateChecked(b, 0.3, false).result().toJson(), together[1].result().toJson(), replay);
        assertTrue(together[0].check().ok() && together[1].check().ok(), replay);
    }
}
