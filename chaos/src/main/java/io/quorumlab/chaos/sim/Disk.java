package io.quorumlab.chaos.sim;

import java.util.ArrayDeque;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One device shared by its tenants (an etcd WAL; on stacked nodes also the API server's logs and
 * audit trail, kubelet and image pulls). Writes land in the page cache as dirty bytes. The device is
 * a FIFO: an fdatasync waits for whatever the device is already doing, then writes its tenant's dirty
 * bytes and pays the device's own sync latency. Two contention paths follow from that alone:
 * <ul>
 *   <li><b>queueing</b>: background writeback of other tenants' data occupies the device, and an
 *       fsync that arrives meanwhile waits for it;</li>
 *   <li><b>entanglement</b>: on ext4 with data=ordered a journal commit forces out other tenants'
 *       dirty data too, so a fraction of everyone's dirty bytes rides along with the WAL's fsync.</li>
 * </ul>
 * The kernel's flusher wakes every {@code writebackIntervalNanos} and writes data dirty for longer
 * than 30 s; above the dirty threshold it writes everything. Nothing here schedules a stall: stalls come from the load put on the device.
 */
public final class Disk {
    /** Linux dirty_expire_centisecs: the flusher writes data that has been dirty this long. */
    static final long DIRTY_EXPIRE_NANOS = 30_000_000_000L;

    private final Sim sim;
    private final String name;
    private final DiskProfile profile;
    private final SplittableRandom random;
    private final double entanglement;
    private final long dirtyThresholdBytes;
    /** Per tenant, dirty chunks in the order written: {time, bytes}. */
    private final TreeMap<String, Tenant> dirty = new TreeMap<>();

    /** A tenant's dirty chunks, and the bytes it has written into the page cache so far. */
    private static final class Tenant extends ArrayDeque<long[]> {
        long written;
    }
    private long totalDirty;
    private long busyUntil;
    private long extraLatencyNanos;
    private long stalledUntil;
    private long bytesWritten;
    private long syncs;

    public Disk(Sim sim, String name, DiskProfile profile, double entanglement, long writebackIntervalNanos,
                long dirtyThresholdBytes) {
        this.sim = sim;
        this.name = name;
        this.profile = profile;
        this.random = sim.split();
        this.entanglement = entanglement;
        this.dirtyThresholdBytes = dirtyThresholdBytes;
        // Each machine's flusher runs on its own phase.
        sim.after((long) (random.nextDouble() * writebackIntervalNanos), () -> scheduleWriteback(writebackIntervalNanos));
    }

    public String name() {
        return name;
    }

    public DiskProfile profile() {
        return profile;
    }

    /** A buffered write: copied into the page cache now, written to the device later. */
    public void write(String tenant, long bytes) {
        if (bytes <= 0) return;
        long now = sim.clock();
        Tenant q = dirty.computeIfAbsent(tenant, k -> new Tenant());
        q.written += bytes;
        long[] last = q.peekLast();
        // Coalesce writes within the same second: the flusher's granularity is coarser anyway.
        if (last != null && now - last[0] < 1_000_000_000L) last[1] += bytes;
        else q.addLast(new long[] {now, bytes});
        totalDirty += bytes;
        // Above the background threshold the kernel starts writing everything out.
        if (totalDirty > dirtyThresholdBytes) writeOut(now, Long.MAX_VALUE);
    }

    /**
     * An fdatasync by {@code tenant} issued at {@code t}; returns when it completes. The device is
     * busy until then.
     */
    public long fsync(String tenant, long t) {
        long own = take(dirty.get(tenant), Long.MAX_VALUE, 1.0);
        long others = 0;
        if (entanglement > 0) {
            for (var e : dirty.entrySet()) {
                if (!e.getKey().equals(tenant)) others += take(e.getValue(), Long.MAX_VALUE, entanglement);
            }
        }
        long start = Math.max(Math.max(t, busyUntil), stalledUntil);
        long service = profile.sampleFsyncNanos(random) + profile.transferNanos(own + others) + extraLatencyNanos;
        busyUntil = start + service;
        bytesWritten += own + others;
        syncs++;
        return busyUntil;
    }

    /** Removes (a share of) the chunks dirtied before {@code olderThan}; returns the bytes taken. */
    private long take(ArrayDeque<long[]> q, long olderThan, double share) {
        if (q == null) return 0;
        long taken = 0;
        if (share >= 1.0) {
            while (!q.isEmpty() && q.peekFirst()[0] < olderThan) taken += q.pollFirst()[1];
        } else {
            for (long[] c : q) {
                if (c[0] >= olderThan) break;
                long part = (long) (c[1] * share);
                c[1] -= part;
                taken += part;
            }
        }
        totalDirty -= taken;
        return taken;
    }

    /** The flusher writes every chunk dirtied before {@code olderThan}; the device is busy meanwhile. */
    private void writeOut(long t, long olderThan) {
        long bytes = 0;
        for (ArrayDeque<long[]> q : dirty.values()) bytes += take(q, olderThan, 1.0);
        if (bytes == 0) return;
        long start = Math.max(Math.max(t, busyUntil), stalledUntil);
        busyUntil = start + profile.transferNanos(bytes);
        bytesWritten += bytes;
    }

    private void scheduleWriteback(long interval) {
        sim.after(interval, () -> {
            writeOut(sim.now(), sim.now() - DIRTY_EXPIRE_NANOS);
            scheduleWriteback(interval);
        });
    }
    /** Fault: the device answers nothing until {@code untilNanos} (a stalled controller, a full queue). */
    public void stallUntil(long untilNanos) {
        stalledUntil = Math.max(stalledUntil, untilNanos);
    }

    /**
     * Fault: every operation from now on takes {@code nanos} longer (a degraded device); negative takes a
     * step back. Overlapping steps add up, like link latency steps.
     */
    public void addExtraLatency(long nanos) {
        long v = extraLatencyNanos + nanos;
        if (v < 0) throw new IllegalStateException("disk latency step on " + name + " removed twice");
        extraLatencyNanos = v;
    }

    /** The latency that latency steps add to each operation now. */
    public long extraLatencyNanos() {
        return extraLatencyNanos;
    }

    /** How long an operation issued now would wait before the device starts it. */
    public long queueDelayNanos() {
        return Math.max(0, Math.max(busyUntil, stalledUntil) - sim.now());
    }

    /** Bytes {@code tenant} has written into the page cache so far (before any write-out). */
    public long writtenBy(String tenant) {
        Tenant t = dirty.get(tenant);
        return t == null ? 0 : t.written;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    public long syncs() {
        return syncs;
    }
}
