package io.quorumlab.chaos.sim;

import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.server.runtime.Cancellable;
import io.quorumlab.server.runtime.Runtime;
import io.quorumlab.wal.WalOptions;
import io.quorumlab.wal.storage.CrashMode;
import io.quorumlab.wal.storage.IoHook;
import io.quorumlab.wal.storage.MemStorage;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.HdrHistogram.Histogram;

/**
 * A member's {@link Runtime} in the simulator: its two loops run on the shared virtual-time queue,
 * its WAL and snapshot files live in {@link MemStorage} whose writes and fsyncs go through the node's
 * modelled {@link Disk} (the loop waits for each, as a thread blocked in write() or fdatasync), and
 * its backend is an in-memory store whose durable part survives crashes. The same {@code Member} code
 * runs here and in production; only this class differs.
 */
public final class SimRuntime implements Runtime {
    /** Raft handling, encoding and bookkeeping of one member-loop task (a modelled CPU cost). */
    static final long MEMBER_TASK_NANOS = 20_000;
    /** Applying one batch of committed entries. */
    static final long APPLY_TASK_NANOS = 30_000;

    private final Sim sim;
    private final String name;
    private final Disk disk;
    private final String walTenant;
    private final String backendTenant;
    /**
     * How many real requests a weighted one stands for (the workload's request weight): the WAL
     * entries and backend puts that carry an API server's object (at least {@link #scaledFromBytes}
     * long) are put on the device that many times; everything else (hard states, the checkers' small
     * writes, leases, the consistent index, snapshot files) once. The member's code sees real bytes.
     */
    private final int byteScale;
    private final int scaledFromBytes;
    private final SplittableRandom random;
    private final TreeMap<Path, MemStorage> files = new TreeMap<>();
    private final TreeMap<Path, InMemoryBackend.Disk> backends = new TreeMap<>();
    /** The longest fsync latency kept (longer ones are recorded as this). */
    static final long MAX_FSYNC_NANOS = 3_600_000_000_000L;
    /**
     * fsync latencies since the last {@link #drainFsyncs}, as plain samples: the simulation folds them
     * into its histograms every interval, which costs the samples' count rather than a histogram's
     * whole bucket array per member and interval.
     */
    private long[] fsyncSamples = new long[256];
    private int fsyncCount;
    /** Samples beyond {@link #MAX_FSYNC_SAMPLES} between two drains (keeps the buffer bounded). */
    private Histogram fsyncOverflow;
    static final int MAX_FSYNC_SAMPLES = 1 << 20;
    private SimLoop memberLoop;
    private SimLoop applyLoop;
    /** fsyncs at least this long are remembered as a possible cause of a leader change. */
    static final long SLOW_FSYNC_NANOS = 100_000_000L;
    static final long SLOW_FSYNC_MEMORY_NANOS = 10_000_000_000L;
    private long lastSlowFsyncNanos;
    private long lastSlowFsyncAt;

    public SimRuntime(Sim sim, String name, Disk disk) {
        this(sim, name, disk, 1, Integer.MAX_VALUE);
    }

    /**
     * @param byteScale the request weight (1: bytes are charged as written)
     * @param scaledFromBytes entries and puts at least this long carry a weighted object (the workload's value size)
     */
    public SimRuntime(Sim sim, String name, Disk disk, int byteScale, int scaledFromBytes) {
        if (byteScale < 1) throw new IllegalArgumentException("byteScale must be >= 1");
        if (scaledFromBytes < 1) throw new IllegalArgumentException("scaledFromBytes must be >= 1");
        this.sim = sim;
        this.name = name;
        this.disk = disk;
        this.byteScale = byteScale;
        this.scaledFromBytes = scaledFromBytes;
        this.walTenant = "etcd-wal-" + name;
        this.backendTenant = "etcd-db-" + name;
        this.random = sim.split();
        newLoops();
    }

    private void newLoops() {
        memberLoop = new SimLoop(sim, "member-" + name, MEMBER_TASK_NANOS, 1 << 20);
        applyLoop = new SimLoop(sim, "apply-" + name, APPLY_TASK_NANOS, 1 << 20);
    }

    /** Power loss: loops stop, unsynced file data is lost (or torn), the backend drops its open batch. */
    public void crash(CrashMode mode) {
        memberLoop.kill();
        applyLoop.kill();
        for (MemStorage s : files.values()) s.crash(mode, random);
        newLoops();
    }

    public Disk disk() {
        return disk;
    }

    /**
     * Hands every fsync latency (virtual nanoseconds) this member's WAL observed since the last call
     * to {@code sample}, then forgets them: in the order they happened, unless more than
     * {@link #MAX_FSYNC_SAMPLES} came between two calls, in which case the older ones come first as
     * histogram values (3 significant digits, the precision of the simulation's own histograms).
     */
    public void drainFsyncs(java.util.function.LongConsumer sample) {
        if (fsyncOverflow != null) {
            for (var v : fsyncOverflow.recordedValues()) {
                for (long i = 0; i < v.getCountAtValueIteratedTo(); i++) sample.accept(v.getValueIteratedTo());
            }
            fsyncOverflow = null;
        }
        for (int i = 0; i < fsyncCount; i++) sample.accept(fsyncSamples[i]);
        fsyncCount = 0;
    }

    private void recordFsync(long nanos) {
        long v = Math.min(nanos, MAX_FSYNC_NANOS);
        if (fsyncCount == fsyncSamples.length) {
            if (fsyncCount < MAX_FSYNC_SAMPLES) {
                fsyncSamples = java.util.Arrays.copyOf(fsyncSamples, 2 * fsyncCount);
            } else {
                if (fsyncOverflow == null) fsyncOverflow = new Histogram(MAX_FSYNC_NANOS, 3);
                for (int i = 0; i < fsyncCount; i++) fsyncOverflow.recordValue(fsyncSamples[i]);
                fsyncCount = 0;
            }
        }
        fsyncSamples[fsyncCount++] = v;
    }

    /** The most recent fsync of at least 100 ms: its duration (0 if none yet). */
    public long lastSlowFsyncNanos() {
        return lastSlowFsyncNanos;
    }

    public long lastSlowFsyncAt() {
        return lastSlowFsyncAt;
    }

    /** Tasks queued on the member loop (the depth of its backlog). */
    public int memberLoopBacklog() {
        return memberLoop.queued();
    }

    @Override
    public long nanoTime() {
        return sim.clock();
    }

    @Override
    public long wallMillis() {
        return sim.clock() / 1_000_000;
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        Timer t = new Timer(memberLoop, task);
        sim.at(sim.clock() + delayNanos, t);
        return t;
    }

    /** A timer: when it fires, its task joins the loop it was scheduled from, unless cancelled. */
    private static final class Timer implements Runnable, Cancellable {
        private final SimLoop loop;
        private final Runnable task;
        private boolean cancelled;

        Timer(SimLoop loop, Runnable task) {
            this.loop = loop;
            this.task = task;
        }

        @Override
        public void run() {
            if (!cancelled) loop.submit(task);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    @Override
    public void execute(Runnable task) {
        memberLoop.submit(task);
    }

    @Override
    public void executeApply(Runnable task) {
        applyLoop.submit(task);
    }

    @Override
    public RandomGenerator random() {
        return random;
    }

    @Override
    public WalStorage walStorage(Path dir) {
        MemStorage s = files.get(dir);
        if (s == null) {
            s = new MemStorage(name + ":" + dir, new IoHook() {
                @Override
                public void beforeWrite(String file, long position, java.nio.ByteBuffer src) {
                    // Only WAL segments hold frames (the snapshot directory's files go through here too).
                    boolean segment = file.endsWith(".wal") || file.endsWith(".tmp");
                    long bytes = byteScale == 1 || !segment ? src.remaining() : chargedWalBytes(file, position, src);
                    // write() blocks for the page-cache copy, and longer when the device is over its dirty limit.
                    SimLoop loop = sim.current;
                    long done = disk.blockingWrite(walTenant, bytes, sim.clock());
                    if (loop != null) loop.waitUntil(done);
                }

                @Override
                public void beforeForce(String file) {
                    waitForFsync();
                }

                @Override
                public void beforeFsyncDir() {
                    waitForFsync();
                }
            });
            files.put(dir, s);
        }
        return s;
    }

    private void waitForFsync() {
        SimLoop loop = sim.current;
        long start = sim.clock();
        long done = disk.fsync(walTenant, start);
        walSyncs++;
        long took = done - start;
        recordFsync(took);
        // The longest slow fsync of the last 10 s: a short one right after a long stall does not hide it.
        if (took >= SLOW_FSYNC_NANOS && (start - lastSlowFsyncAt >= SLOW_FSYNC_MEMORY_NANOS || took >= lastSlowFsyncNanos)) {
            lastSlowFsyncNanos = took;
            lastSlowFsyncAt = start;
        }
        if (loop != null) loop.waitUntil(done);
    }

    @Override
    public Backend backend(Path dir, long quotaBytes) throws IOException {
        InMemoryBackend.Disk d = backends.computeIfAbsent(dir, k -> new InMemoryBackend.Disk());
        return new InMemoryBackend(d, BackendConfig.defaults().withClock(sim::clock), new InMemoryBackend.CommitIo() {
            @Override
            public void committing(long batchBytes) {
                backendCommit(batchBytes);
            }

            @Override
            public long entryBytes(int keyLength, int valueLength) {
                long b = InMemoryBackend.CommitIo.super.entryBytes(keyLength, valueLength);
                return valueLength >= scaledFromBytes ? b * byteScale : b;
            }
        });
    }

    // The WAL's frame layout (wal/README.md): a 12-byte header (u32 LE payload length, u8 type, ...),
    // the payload, zero padding to 8 bytes. Entry payloads are 17 bytes of term, index and type, then the data.
    private static final int FRAME_HEADER_BYTES = 12;
    private static final int FRAME_TYPE_ENTRY = 2;
    private static final int ENTRY_FIXED_BYTES = 17;
    private static final long MAX_FRAME_PAYLOAD_BYTES = 256L << 20;
    /** Where the WAL's frame walk stands: the file and position the next write continues, bytes left in the frame. */
    private String frameFile;
    private long framePos = -1;
    private int frameLeft;
    private final byte[] frameHeader = new byte[FRAME_HEADER_BYTES];
    private int frameHeaderFill;

    /**
     * The device bytes of a WAL write: each frame once, an entry frame carrying a weighted object
     * {@link #byteScale} times. The WAL writes whole frames from a frame boundary, a frame larger than
     * its buffer in consecutive pieces; a write elsewhere restarts the walk at a frame boundary. A frame
     * is charged whole when its header is complete. Bytes that are no frame (zeros) count once.
     */
    long chargedWalBytes(String file, long position, java.nio.ByteBuffer src) {
        if (!file.equals(frameFile) || position != framePos) {
            frameFile = file;
            frameLeft = 0;
            frameHeaderFill = 0;
        }
        int i = src.position();
        int end = src.limit();
        framePos = position + (end - i);
        long charged = 0;
        while (i < end) {
            if (frameLeft > 0) {
                int skip = Math.min(frameLeft, end - i);
                frameLeft -= skip;
                i += skip;
                continue;
            }
            int take = Math.min(FRAME_HEADER_BYTES - frameHeaderFill, end - i);
            src.get(i, frameHeader, frameHeaderFill, take);
            frameHeaderFill += take;
            i += take;
            if (frameHeaderFill < FRAME_HEADER_BYTES) break;
            frameHeaderFill = 0;
            long payload = (frameHeader[0] & 0xffL) | (frameHeader[1] & 0xffL) << 8 | (frameHeader[2] & 0xffL) << 16
                    | (frameHeader[3] & 0xffL) << 24;
            int type = frameHeader[4];
            if (type <= 0 || type > 5 || payload > MAX_FRAME_PAYLOAD_BYTES) { // not a frame: the rest of this write counts as written
                charged += FRAME_HEADER_BYTES + (end - i);
                framePos = -1;
                break;
            }
            long frame = (FRAME_HEADER_BYTES + payload + 7) & -8L;
            boolean weighted = type == FRAME_TYPE_ENTRY && payload - ENTRY_FIXED_BYTES >= scaledFromBytes;
            charged += weighted ? frame * byteScale : frame;
            frameLeft = (int) Math.min(Integer.MAX_VALUE, frame - FRAME_HEADER_BYTES);
        }
        return charged;
    }

    /** bbolt's page size. */
    static final int PAGE_BYTES = 4096;
    /**
     * Pages a commit writes besides the entries' own leaf pages: the branch pages on the path to the
     * changed leaves (a tree of this size is 3 levels deep) and the freelist.
     */
    static final int COMMIT_EXTRA_PAGES = 3;

    /**
     * etcd's backend commit (every 100 ms while there are writes: {@code batch-interval}) as bbolt
     * does it: write the dirty pages, fdatasync, write the meta page, fdatasync (each write a blocking
     * {@code write()}: page-cache copy, dirty-limit throttling). Both fsyncs go to this
     * member's device, where a WAL fsync arriving meanwhile waits behind them (the FIFO device), and
     * the apply loop waits for them, as etcd's apply waits for the batch transaction's lock.
     */
    private void backendCommit(long batchBytes) {
        long pages = (batchBytes + PAGE_BYTES - 1) / PAGE_BYTES + COMMIT_EXTRA_PAGES;
        long written = disk.blockingWrite(backendTenant, pages * PAGE_BYTES, sim.clock());
        long dataSynced = disk.fsync(backendTenant, written);
        long metaWritten = disk.blockingWrite(backendTenant, PAGE_BYTES, dataSynced);
        long done = disk.fsync(backendTenant, metaWritten);
        backendCommits++;
        SimLoop loop = sim.current;
        if (loop != null) loop.waitUntil(done);
    }

    private long backendCommits;
    private long walSyncs;

    /** fdatasyncs of WAL and snapshot files (and their directories) put on the device so far. */
    public long walSyncs() {
        return walSyncs;
    }

    /** Backend commits put on the device so far. */
    public long backendCommits() {
        return backendCommits;
    }

    @Override
    public WalOptions tuneWal(WalOptions options) {
        return options.singleThreaded().withNanoClock(sim::clock);
    }

    @Override
    public StoreConfig tuneStore(StoreConfig config) {
        return config.withWatchSyncInterval(0).withClock(sim::clock);
    }

    @Override
    public boolean inMemberLoop() {
        return sim.current == memberLoop;
    }

    @Override
    public boolean sharesEntryArrays() {
        return true; // SimNetwork delivers the sender's Message objects: every member sees the same arrays
    }

    @Override
    public boolean inApplyLoop() {
        return sim.current == applyLoop;
    }
}
