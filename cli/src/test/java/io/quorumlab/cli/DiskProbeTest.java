package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.bench.disk.DiskProbe;
import io.quorumlab.chaos.sim.DiskProfile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk probe on a temp dir, and its profile fed to the simulator's disk model. */
class DiskProbeTest {
    @TempDir
    Path dir;

    @Test
    void probeMeasuresAndWritesAProfileTheSimulatorLoads() throws Exception {
        DiskProbe.Result r = DiskProbe.run(new DiskProbe.Spec(dir.resolve("d"), 2300, 500_000_000L, 8L << 20, false, 50));
        assertTrue(r.syncs() > 0, r.json());
        assertTrue(r.p50Ms() > 0 && r.p99Ms() >= r.p50Ms() && r.maxMs() >= r.p99Ms(), r.json());
        assertTrue(r.writeMBps() > 0, r.json());
        // Each write() is timed apart from its fdatasync (on tmpfs a sync can cost less than a copy: no order asserted).
        assertTrue(r.writeP50Ms() > 0 && r.writeP99Ms() >= r.writeP50Ms() && r.writeMaxMs() >= r.writeP99Ms(), r.json());
        assertTrue(r.json().contains("\"writeP50Ms\": ") && r.json().contains("\"writeP99Ms\": "), r.json());
        assertTrue(r.table().contains("write()"), r.table());
        assertEquals(String.format(java.util.Locale.ROOT, "%.6f", Math.max(0.000001, r.writeP50Ms())), r.profile().getProperty("writeMedianMs"));
        assertTrue(r.verdict().startsWith("PASS") || r.verdict().startsWith("FAIL"), r.verdict());
        Path profile = dir.resolve("disk.properties");
        assertEquals(0, Main.commandLine().execute("disk", "probe", "--dir", dir.resolve("e").toString(), "--seconds", "0.3",
                "--profile-out", profile.toString(), "--output", "json"));
        DiskProfile p = DiskProfile.load(profile);
        assertTrue(p.fsyncMedianMs() > 0 && p.fsyncP99Ms() >= p.fsyncMedianMs() && p.writeMBps() > 0, p.toString());
        java.util.Properties saved = new java.util.Properties();
        try (var in = Files.newInputStream(profile)) {
            saved.load(in);
        }
        assertEquals(Double.parseDouble(saved.getProperty("writeMedianMs")), p.writeMedianMs(), p.toString());
        assertEquals(Double.parseDouble(saved.getProperty("writeP99Ms")), p.writeP99Ms(), p.toString());
        assertTrue(p.writeMedianMs() > 0 && p.writeP99Ms() >= p.writeMedianMs(), p.toString());
        assertTrue(Files.list(dir.resolve("e")).findAny().isEmpty(), "the probe removes its files");
    }
}
