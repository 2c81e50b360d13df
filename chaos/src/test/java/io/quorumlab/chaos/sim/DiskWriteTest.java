package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The disk model's write side: the page-cache copy, dirty-limit throttling, and the member loop waiting for both. */
class DiskWriteTest {
    private static final long MB = 1_000_000;

    private static String replay(long seed) {
        return " (seed " + seed + "; replay: mvn -B -o -pl chaos -am test -Dtest=DiskWriteTest -Dsurefire.failIfNoSpecifiedTests=false)";
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void writeLatencyOnAnIdleDeviceFollowsTheProfilesCopyDistribution(long seed) {
        Sim sim = new Sim(seed);
        DiskProfile profile = new DiskProfile("t", 1, 5, 200, 0.008, 0.060);
        Disk d = new Disk(sim, "n", profile, 0.0, 5_000_000_000L, 1L << 40);
        Histogram seen = new Histogram(3_600_000_000_000L, 3);
        long t = 0;
        for (int i = 0; i < 40_000; i++) {
            t += 1_000_000;
            seen.recordValue(d.blockingWrite("wal", 2300, t) - t);
        }
        double p50 = seen.getValueAtPercentile(50) / 1e6, p99 = seen.getValueAtPercentile(99) / 1e6;
        assertEquals(0.008, p50, 0.008 * 0.04, "median" + replay(seed));
        assertEquals(0.060, p99, 0.060 * 0.10, "p99" + replay(seed));
        assertEquals(0, d.throttledWrites(), "an idle device never throttles" + replay(seed));
        assertEquals(40_000, d.writeLatency().getTotalCount(), "the device's own histogram saw every write");
        assertEquals(seen.getValueAtPercentile(99), d.writeLatency().getValueAtPercentile(99), "the device records what the writer waited");
    }

    @Test
    void anIdleDevicesWriteCostsOnlyTheCopy() {
        Sim sim = new Sim(1);
        // median = p99: the copy is exactly 10 us.
        Disk d = new Disk(sim, "n", new DiskProfile("t", 1, 1, 100, 0.010, 0.010), 0.0, 5_000_000_000L, 10 * MB);
        long t = 0;
        for (int i = 0; i < 1000; i++) {
            t += 10_000_000; // 1 MB every 10 ms = the device's own 100 MB/s: it keeps up
            assertEquals(10_000, d.blockingWrite("wal", MB, t) - t, "write " + i);
            if (i % 50 == 49) d.fsync("wal", t); // the writer's fsyncs drain its dirty data now and then
        }
        assertEquals(0, d.throttledWrites());
    }

    @Test
    void aWriteIsHeldUntilTheDeviceHasWrittenWhatTheDirtyLimitRequires() {
        Sim sim = new Sim(1);
        // 100 MB/s, background threshold 10 MB, so the dirty limit is 20 MB; the copy is exactly 10 us.
        Disk d = new Disk(sim, "n", new DiskProfile("t", 1, 1, 100, 0.010, 0.010), 0.0, 5_000_000_000L, 10 * MB);
        assertEquals(20 * MB, d.dirtyLimitBytes());
        d.write("kubelet", 15 * MB); // over the threshold: submitted, the device writes it over [0, 150 ms]
        d.write("kubelet", 15 * MB); // again: queued behind, [150 ms, 300 ms]
        assertEquals(30 * MB, d.underWriteback(0));
        // 1 MB more at t=0: dirty 1 MB + 30 MB under writeback (less the 1 MB the device wrote in the copy's
        // 10 us) = 31 MB, 11 MB over the limit; the device writes 11 MB in 110 ms from t=0.
        long done = d.blockingWrite("wal", MB, 0);
        assertEquals(110_000_000, done, 1_000, "held until the backlog is back at the limit");
        assertEquals(d.dirtyLimitBytes(), d.dirtyBytes() + d.underWriteback(done), 200, "released exactly at the limit");
        assertEquals(1, d.throttledWrites());
        assertEquals(110_000_000 - 10_000, d.throttledNanos(), 1_000);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2})
    void aTenantWritingFasterThanTheDeviceDrainsIsPacedToTheDevicesBandwidth(long seed) {
        Sim sim = new Sim(seed);
        Disk d = new Disk(sim, "n", new DiskProfile("t", 1, 4, 100, 0.006, 0.040), 0.0, 5_000_000_000L, 10 * MB);
        // Wants 1 MB every 1 ms (1 GB/s) against a 100 MB/s device.
        long t = 0, firstHeld = -1;
        int n = 3000;
        long[] at = new long[n];
        for (int i = 0; i < n; i++) {
            long done = d.blockingWrite("writer", MB, t);
            assertTrue(done >= t, "a write returns after it is issued");
            assertTrue(d.dirtyBytes() + d.underWriteback(done) <= d.dirtyLimitBytes() + 200,
                    "a writer is never released above the dirty limit" + replay(seed));
            if (done - t > 1_000_000 && firstHeld < 0) firstHeld = i;
            at[i] = done;
            t = done + 1_000_000;
        }
        assertTrue(firstHeld > 0 && firstHeld < 40, "held once dirty + writeback pass 20 MB: " + firstHeld + replay(seed));
        // Once throttled, the writer gets exactly what the device drains: 1 MB per 10 ms.
        double perWriteMs = (at[n - 1] - at[n - 1001]) / 1000.0 / 1e6;
        assertEquals(10.0, perWriteMs, 0.2, "paced to the device's 100 MB/s" + replay(seed));
        assertTrue(d.throttledNanos() > 20e9, "most of the run was spent held: " + d.throttledNanos() + replay(seed));
    }

    @Test
    void aLongDeviceQueueStaysBoundedAndKeepsItsBytes() {
        Sim sim = new Sim(1);
        Disk d = new Disk(sim, "n", new DiskProfile("t", 1, 1, 1, 0.010, 0.010), 0.0, 5_000_000_000L, 1L << 40);
        long total = 0;
        for (int i = 0; i < 3 * Disk.MAX_WRITEBACK_OPS; i++) { // 1 MB/s: each 1 kB fsync queues 2 ms of work
            d.write("wal", 1000);
            d.fsync("wal", 0);
            total += 1000;
        }
        assertEquals(total, d.underWriteback(0), "merged operations keep every byte");
        assertEquals(0, d.underWriteback(Long.MAX_VALUE / 2), "and the queue drains");
    }

    @Test
    void theMemberLoopWaitsForItsWalWrite() throws Exception {
        Sim sim = new Sim(3);
        Disk d = new Disk(sim, "n", new DiskProfile("t", 1, 1, 100, 0.010, 0.010), 0.0, 5_000_000_000L, 10 * MB);
        SimRuntime rt = new SimRuntime(sim, "m", d);
        var f = rt.walStorage(Path.of("/wal")).create("0.wal");
        d.write("kubelet", 15 * MB);
        d.write("kubelet", 15 * MB); // 30 MB under writeback, 10 MB over the limit
        long[] clock = new long[3];
        rt.execute(() -> {
            try {
                clock[0] = sim.clock();
                f.write(ByteBuffer.allocate(100), 0); // held: the device must write 10 MB + 100 B first
                clock[1] = sim.clock();
                f.write(ByteBuffer.allocate(100), 100); // below the limit now: only the copy
                clock[2] = sim.clock();
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
        sim.runUntil(1_000_000_000L);
        assertEquals(0, clock[0]);
        assertEquals(100_001_000, clock[1], 2_000, "the write() returned when the device had drained 10 MB (100 ms)");
        assertEquals(clock[1] + 10_000, clock[2], 1_000, "an unthrottled write costs the copy");
        assertEquals(2, d.writeLatency().getTotalCount());
    }

    @Test
    void theResultCarriesEachDevicesWriteLatencies() {
        // One simulated minute, stacked: the members' WAL and backend writes on each node's device.
        SimResult r = ClusterSimulationTest.run(ClusterSimulation.Params.stacked(60_000_000_000L, 7), null);
        String replay = " (replay: quorumlab sim run --placement stacked --minutes 1 --seed 7 --output json)";
        assertEquals(3, r.diskWrites().size(), r.diskWrites() + replay);
        for (SimResult.DeviceWrites d : r.diskWrites()) {
            assertTrue(d.histogram().count() > 1000, d + replay);
            // An idle-enough device: writes cost the page-cache copy (cloud-ssd: median 6 us, p99 40 us).
            assertEquals(DiskProfile.PAGE_CACHE_WRITE_MEDIAN_MS, d.p50Ms(), 0.001, d + replay);
            assertEquals(0, d.throttled(), d + replay);
            long[] c = d.histogram().cumulativeCounts();
            for (int k = 1; k < c.length; k++) assertTrue(c[k] >= c[k - 1], "cumulative" + replay);
            assertEquals(d.histogram().count(), c[c.length - 1], "nothing above 8 s" + replay);
        }
        String json = r.toJson();
        assertTrue(json.contains("\"disk_write_duration_seconds\": [\n    {\"device\": \"cp1\", \"le\": [0.000001, 0.000002"), json);
    }
}
