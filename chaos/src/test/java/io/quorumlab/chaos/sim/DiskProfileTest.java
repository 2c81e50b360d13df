package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Built-in and measured disk profiles, with and without the write() fields. */
class DiskProfileTest {
    @TempDir
    Path dir;

    @Test
    void builtInProfilesHaveThePageCacheCopy() {
        for (String n : new String[] {"nvme", "ssd", "cloud-ssd", "hdd"}) {
            DiskProfile p = DiskProfile.named(n);
            assertEquals(DiskProfile.PAGE_CACHE_WRITE_MEDIAN_MS, p.writeMedianMs(), n);
            assertEquals(DiskProfile.PAGE_CACHE_WRITE_P99_MS, p.writeP99Ms(), n);
        }
    }

    @Test
    void aMeasuredProfileWithWriteFieldsUsesThem() throws Exception {
        Path f = dir.resolve("p.properties");
        Files.writeString(f, "fsyncMedianMs=0.8\nfsyncP99Ms=2.5\nwriteMBps=900\nwriteMedianMs=0.004100\nwriteP99Ms=0.021000\n");
        DiskProfile p = DiskProfile.named("measured:" + f);
        assertEquals(0.8, p.fsyncMedianMs());
        assertEquals(2.5, p.fsyncP99Ms());
        assertEquals(900, p.writeMBps());
        assertEquals(0.0041, p.writeMedianMs());
        assertEquals(0.021, p.writeP99Ms());
    }

    @Test
    void aProfileFromBeforeTheProbeTimedWritesGetsThePageCacheCopy() throws Exception {
        Path f = dir.resolve("old.properties");
        Files.writeString(f, "#quorumlab disk probe of /var/lib/etcd\nfsyncMedianMs=0.8\nfsyncP99Ms=2.5\nwriteMBps=900\n");
        DiskProfile p = DiskProfile.load(f);
        assertEquals(0.8, p.fsyncMedianMs());
        assertEquals(DiskProfile.PAGE_CACHE_WRITE_MEDIAN_MS, p.writeMedianMs());
        assertEquals(DiskProfile.PAGE_CACHE_WRITE_P99_MS, p.writeP99Ms());
    }

    @Test
    void halfOfTheWriteFieldsOrBadNumbersAreRefused() throws Exception {
        Path half = dir.resolve("half.properties");
        Files.writeString(half, "fsyncMedianMs=0.8\nfsyncP99Ms=2.5\nwriteMBps=900\nwriteMedianMs=0.004\n");
        var e = assertThrows(IllegalArgumentException.class, () -> DiskProfile.load(half));
        assertTrue(e.getMessage().contains("writeMedianMs and writeP99Ms"), e.getMessage());
        Path bad = dir.resolve("bad.properties");
        Files.writeString(bad, "fsyncMedianMs=0.8\nfsyncP99Ms=2.5\nwriteMBps=900\nwriteMedianMs=0.004\nwriteP99Ms=0.001\n");
        e = assertThrows(IllegalArgumentException.class, () -> DiskProfile.load(bad));
        assertTrue(e.getMessage().contains("bad disk profile"), e.getMessage());
        Path nan = dir.resolve("nan.properties");
        Files.writeString(nan, "fsyncMedianMs=0.8\nfsyncP99Ms=2.5\nwriteMBps=900\nwriteMedianMs=x\nwriteP99Ms=0.01\n");
        assertThrows(IllegalArgumentException.class, () -> DiskProfile.load(nan));
        assertThrows(IllegalArgumentException.class, () -> DiskProfile.load(dir.resolve("missing.properties")));
    }

    @Test
    void fsyncOverrideKeepsTheWriteSide() {
        DiskProfile base = new DiskProfile("b", 1, 4, 300, 0.005, 0.05);
        DiskProfile f = base.withFsync("f", 2, 8);
        assertEquals(0.005, f.writeMedianMs());
        assertEquals(0.05, f.writeP99Ms());
    }
}
