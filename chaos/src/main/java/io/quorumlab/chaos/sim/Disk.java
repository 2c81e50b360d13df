package io.quorumlab.chaos.sim;

import java.util.SplittableRandom;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

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
 *
 * <p>A writer that waits for its {@code write()} ({@link #blockingWrite}: the members' WAL and backend
 * writes) pays the page-cache copy (the profile's write distribution) and, like Linux's
 * balance_dirty_pages, is held while the device's dirty plus under-writeback bytes exceed the dirty
 * limit ({@link #DIRTY_LIMIT_FACTOR} times the background threshold, as vm.dirty_ratio 20 is to
 * dirty_background_ratio 10) until the FIFO has written enough: the wait follows from the queued work.
 */
public final class Disk {
    /** Linux dirty_expire_centisecs: the flusher writes data that has been dirty this long. */
    static final long DIRTY_EXPIRE_NANOS = 30_000_000_000L;
    /** vm.dirty_ratio over vm.dirty_background_ratio (Linux defaults 20 and 10): where writers block. */
    static final int DIRTY_LIMIT_FACTOR = 2;
    /** Device operations remembered for the under-writeback count; beyond, the oldest two merge (bounded). */
    static final int MAX_WRITEBACK_OPS = 1024;
    /** The longest write() latency kept in the histogram (longer ones are recorded as this). */
    static final long MAX_WRITE_NANOS = 3_600_000_000_000L;

    private final Sim sim;
    private final String name;
    private final DiskProfile profile;
    private final SplittableRandom random;
    private final double entanglement;
    private final long dirtyThresholdBytes;
    private final long dirtyLimitBytes;
    /** The page-cache copies' own stream, so that the fsync draws do not depend on how many writes came between. */
    private final SplittableRandom writeRandom;
    private final double writeMu, writeSigma;
    /** Every blocking write()'s latency on this device (copy and throttling), 3 significant digits. */
    private final Histogram writeLatency = new Histogram(MAX_WRITE_NANOS, 3);
    private long writeSumNanos;
    private long throttledWrites;
    private long throttledNanos;
    /*
     * The device's work not yet done, for the under-writeback count: a ring of FIFO operations that
     * carry bytes, each {start, end, bytes}; an operation's bytes complete evenly over its service time.
     */
    private final long[] opStart = new long[MAX_WRITEBACK_OPS];
    private final long[] opEnd = new long[MAX_WRITEBACK_OPS];
    private final long[] opBytes = new long[MAX_WRITEBACK_OPS];
    private int opHead;
    private int opCount;
    /** The bytes of the operations in the ring (including the already written part of the head). */
    private long opQueuedBytes;
    /** Per tenant, dirty chunks in the order written: {time, bytes}. */
    private final TreeMap<String, Tenant> dirty = new TreeMap<>();

    /**
     * A tenant's dirty chunks {time, bytes} in the order written (a ring of primitives: the WAL's
     * tenant empties at every fsync and starts a chunk at its next write), and the bytes it has
     * written into the page cache so far.
     */
    private static final class Tenant {
        long written;
        private long[] times = new long[8];
        private long[] bytes = new long[8];
        private int head;
        private int count;

        void add(long now, long b) {
            int last = (head + count - 1) & (times.length - 1);
            // Coalesce writes within the same second: the flusher's granularity is coarser anyway.
            if (count > 0 && now - times[last] < 1_000_000_000L) {
                bytes[last] += b;
                return;
            }
            if (count == times.length) grow();
            int tail = (head + count) & (times.length - 1);
            times[tail] = now;
            bytes[tail] = b;
            count++;
        }

        /** Removes the chunks dirtied before {@code olderThan}; returns their bytes. */
        long takeAll(long olderThan) {
            long taken = 0;
            while (count > 0 && times[head] < olderThan) {
                taken += bytes[head];
                head = (head + 1) & (times.length - 1);
                count--;
            }
            return taken;
        }

        /** Takes {@code share} of each chunk dirtied before {@code olderThan}; returns the bytes taken. */
        long takeShare(long olderThan, double share) {
            long taken = 0;
            for (int i = 0; i < count; i++) {
                int c = (head + i) & (times.length - 1);
                if (times[c] >= olderThan) break;
                long part = (long) (bytes[c] * share);
                bytes[c] -= part;
                taken += part;
            }
            return taken;
        }

        private void grow() {
            int n = times.length;
            long[] t = new long[2 * n], b = new long[2 * n];
            for (int i = 0; i < count; i++) {
                t[i] = times[(head + i) & (n - 1)];
                b[i] = bytes[(head + i) & (n - 1)];
            }
            times = t;
            bytes = b;
            head = 0;
        }
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
        this.dirtyLimitBytes = dirtyThresholdBytes > Long.MAX_VALUE / DIRTY_LIMIT_FACTOR ? Long.MAX_VALUE
                : dirtyThresholdBytes * DIRTY_LIMIT_FACTOR;
        this.writeRandom = random.split();
        double[] w = profile.writeLogNormal();
        this.writeMu = w[0];
        this.writeSigma = w[1];
        // Each machine's flusher runs on its own phase.
        sim.after((long) (random.nextDouble() * writebackIntervalNanos), () -> scheduleWriteback(writebackIntervalNanos));
    }

    public String name() {
        return name;
    }

    public DiskProfile profile() {
        return profile;
    }

    /**
     * A buffered write whose writer does not wait for it here (the API server's log, image pulls):
     * copied into the page cache now, written to the device later.
     */
    public void write(String tenant, long bytes) {
        if (bytes <= 0) return;
        dirty(tenant, bytes, sim.clock());
    }

    /**
     * A buffered {@code write()} by {@code tenant} issued at {@code t} whose caller waits for it; returns
     * when the call returns: after the page-cache copy and, if the device's dirty and under-writeback
     * bytes then exceed the dirty limit, after the device has written enough to bring them back under it.
     */
    public long blockingWrite(String tenant, long bytes, long t) {
        long copied = t + DiskProfile.sampleNanos(writeRandom, writeMu, writeSigma);
        long done = copied;
        if (bytes > 0) {
            dirty(tenant, bytes, copied);
            long over = totalDirty + underWriteback(copied) - dirtyLimitBytes;
            if (over > 0) {
                done = drainedBy(over, copied);
                throttledWrites++;
                throttledNanos += done - copied;
            }
        }
        long took = done - t;
        writeLatency.recordValue(Math.min(took, MAX_WRITE_NANOS));
        writeSumNanos += took;
        return done;
    }

    private void dirty(String tenant, long bytes, long now) {
        Tenant q = dirty.computeIfAbsent(tenant, k -> new Tenant());
        q.written += bytes;
        q.add(now, bytes);
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
        queued(start, busyUntil, own + others);
        bytesWritten += own + others;
        syncs++;
        return busyUntil;
    }

    /** Removes (a share of) the chunks dirtied before {@code olderThan}; returns the bytes taken. */
    private long take(Tenant q, long olderThan, double share) {
        if (q == null) return 0;
        long taken = share >= 1.0 ? q.takeAll(olderThan) : q.takeShare(olderThan, share);
        totalDirty -= taken;
        return taken;
    }

    /** The flusher writes every chunk dirtied before {@code olderThan}; the device is busy meanwhile. */
    private void writeOut(long t, long olderThan) {
        long bytes = 0;
        for (Tenant q : dirty.values()) bytes += take(q, olderThan, 1.0);
        if (bytes == 0) return;
        long start = Math.max(Math.max(t, busyUntil), stalledUntil);
        busyUntil = start + profile.transferNanos(bytes);
        queued(start, busyUntil, bytes);
        bytesWritten += bytes;
    }

    /** A device operation that writes {@code bytes} between {@code start} and {@code end} (FIFO: after every earlier one). */
    private void queued(long start, long end, long bytes) {
        if (bytes <= 0) return;
        underWriteback(sim.now()); // forget what is done (keeps the ring short where no writer asks)
        if (opCount == MAX_WRITEBACK_OPS) {
            // Bounded: the two oldest become one spanning both (their bytes spread over the joint span).
            int second = (opHead + 1) % MAX_WRITEBACK_OPS;
            opStart[second] = opStart[opHead];
            opBytes[second] += opBytes[opHead];
            opHead = second;
            opCount--;
        }
        int i = (opHead + opCount) % MAX_WRITEBACK_OPS;
        opStart[i] = start;
        opEnd[i] = Math.max(end, start + 1);
        opBytes[i] = bytes;
        opCount++;
        opQueuedBytes += bytes;
    }

    /** Bytes submitted to the device and not yet written at {@code t} (the kernel's NR_WRITEBACK). */
    long underWriteback(long t) {
        while (opCount > 0 && opEnd[opHead] <= t) {
            opQueuedBytes -= opBytes[opHead];
            opHead = (opHead + 1) % MAX_WRITEBACK_OPS;
            opCount--;
        }
        if (opCount == 0) return 0;
        return opQueuedBytes - writtenOfHead(t);
    }

    private long writtenOfHead(long t) {
        long s = opStart[opHead], e = opEnd[opHead];
        if (t <= s) return 0;
        return (long) (opBytes[opHead] * ((double) (t - s) / (e - s)));
    }

    /**
     * When the device will have written {@code bytes} more than it has at {@code t} (right after
     * {@link #underWriteback} at {@code t}); the end of its queue if it holds fewer.
     */
    private long drainedBy(long bytes, long t) {
        long need = bytes;
        for (int k = 0; k < opCount; k++) {
            int i = (opHead + k) % MAX_WRITEBACK_OPS;
            long s = opStart[i], e = opEnd[i], b = opBytes[i];
            long left = k == 0 ? b - writtenOfHead(t) : b;
            if (left >= need) {
                // The op writes its bytes evenly over [s, e]: the moment its written part reaches b - left + need.
                return s + (long) Math.ceil((double) (b - left + need) / b * (e - s));
            }
            need -= left;
        }
        return opCount == 0 ? t : opEnd[(opHead + opCount - 1) % MAX_WRITEBACK_OPS];
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

    /** Every blocking write()'s latency on this device so far (nanoseconds; longer than an hour recorded as an hour). */
    public Histogram writeLatency() {
        return writeLatency;
    }

    /** The sum of the blocking writes' latencies (nanoseconds). */
    public long writeLatencySumNanos() {
        return writeSumNanos;
    }

    /** Blocking writes that the dirty limit held, and the time they were held in all (beyond the copy). */
    public long throttledWrites() {
        return throttledWrites;
    }

    public long throttledNanos() {
        return throttledNanos;
    }

    /** Bytes in the page cache not yet submitted to the device. */
    long dirtyBytes() {
        return totalDirty;
    }

    /** Where writers block: dirty plus under-writeback bytes above this. */
    public long dirtyLimitBytes() {
        return dirtyLimitBytes;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    public long syncs() {
        return syncs;
    }
}
