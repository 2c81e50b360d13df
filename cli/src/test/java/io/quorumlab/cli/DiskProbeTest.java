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
        assertTrue(r.verdict().startsWith("PASS") || r.verdict().startsWith("FAIL"), r.verdict());
        Path profile = dir.resolve("disk.properties");
        assertEquals(0, Main.commandLine().execute("disk", "probe", "--dir", dir.resolve("e").toString(), "--seconds", "0.3",
                "--profile-out", profile.toString(), "--output", "json"));
        DiskProfile p = DiskProfile.load(profile);
        assertTrue(p.fsyncMedianMs() > 0 && p.fsyncP99Ms() >= p.fsyncMedianMs() && p.writeMBps() > 0, p.toString());
        assertTrue(Files.list(dir.resolve("e")).findAny().isEmpty(), "the probe removes its files");
    }
}
