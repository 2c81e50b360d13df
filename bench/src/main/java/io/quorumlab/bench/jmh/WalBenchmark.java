package io.quorumlab.bench.jmh;

import io.quorumlab.wal.HardState;
import io.quorumlab.wal.Wal;
import io.quorumlab.wal.WalCallback;
import io.quorumlab.wal.WalEntry;
import io.quorumlab.wal.WalMetadata;
import io.quorumlab.wal.WalMetrics;
import io.quorumlab.wal.WalOptions;
import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * WAL durability cost on the real disk, against the device's own limit measured in the same run.
 *
 * <ul>
 *   <li>{@code bareWriteFsync}: one {@code FileChannel.write} of {@code batchRecords} frames' worth
 *       of bytes plus {@code force(false)} on a preallocated 64 MB file (a sweep of batch sizes);</li>
 *   <li>{@code asyncAppenders} ({@code appenders} = 1 or 64): logical appenders without threads,
 *       each issuing its next 256 B append from the previous one's durability callback
 *       ({@link Wal#append(List, HardState, WalCallback)}), like a member loop's queued requests;</li>
 *   <li>{@code asyncAppendersNoDisk}: the same chains on a storage whose write and fdatasync cost
 *       nothing: the committing thread's CPU per batch (64 / score), with no disk weather;</li>
 *   <li>{@code threadAppenders} ({@code kind} = blocking, wakeTree, future, save64; {@code threads}):
 *       appender threads of the benchmark's own repeating that operation while the one JMH thread
 *       waits for durable records; these are paired with the interleaved baseline;</li>
 *   <li>{@code blockingAppenders64} / {@code blockingOneAppender}: 64 or 1 JMH threads, each
 *       {@link Wal#submit} + {@code await()} (adaptive spin, then park); {@code blockingWakeTree64}
 *       the same with {@link WalOptions#delegateWakeups()} (waiters wake each other);</li>
 *   <li>{@code futureAppenders64} / {@code futureOneAppender}: 64 or 1 threads, each
 *       {@link Wal#append(List, HardState)} + {@code join()} (the API measured in session 1);</li>
 *   <li>{@code saveOneRecord} / {@code save64Records}: {@link Wal#save} of 1 or 64 entries per call
 *       from one thread (the member loop).</li>
 * </ul>
 * The {@code @Threads} methods print no baseline pair: JMH's other threads busy-wait while one
 * runs an iteration fixture, which would starve the WAL slices; use {@code threadAppenders}.
 * Scores are records/s, except {@code bareWriteFsync}: write+fsync calls/s (multiply by
 * {@code batchRecords}). Each WAL trial prints fsyncs, records and bytes per fsync, fsync p50/p99
 * and the committer's completion time per batch ("wal-bench" lines).
 *
 * <p><b>Paired baseline.</b> After every measurement iteration of a WAL benchmark (JMH's
 * appenders stopped), the same JVM alternates, for {@code -Dwal.bench.pairedMillis} (default
 * 2000), WAL slices of {@code -Dwal.bench.sliceMillis} (default 100) with the same appenders
 * (the same chains, or as many threads of the benchmark's own running the same operation) and
 * bare write+fdatasync slices in the same directory writing exactly the preceding WAL slice's
 * mean bytes per fsync. "wal-pair" lines give both rates and their ratio: WAL and baseline compare
 * at equal batch size and in the same disk weather; each pair line also gives the committer's CPU
 * per WAL batch and the benchmark thread's CPU per bare loop (ThreadMXBean). With
 * {@code -Dquorumlab.wal.stageTiming=true} the trial prints the WAL's per-batch stage split;
 * {@code -Dwal.bench.chains=lean} runs the async chains without the harness's per-record counter
 * and index lock (default {@code locked}, as in sessions 1-6). Files live under
 * {@code bench/target/jmh-wal} (a real disk, never tmpfs). Run:
 * {@code java -cp cli/target/quorumlab.jar org.openjdk.jmh.Main WalBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WalBenchmark {
    static final int RECORD_BYTES = 256;
    /** On-disk size of one 256 B entry: align8(12 B header + 17 B entry fields + 256 B). */
    static final int FRAME_BYTES = (12 + 17 + RECORD_BYTES + 7) & -8;
    static final long FILE_BYTES = 64L << 20;
    static final long HISTOGRAM_MAX_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Records per invocation of {@code asyncAppenders}; the JMH thread wakes once per this many. */
    static final int ASYNC_OPS = 256;

    /** Where benchmark files go: the bench module's target dir (override with -Dwal.bench.dir). */
    static Path benchRoot() {
        return Path.of(System.getProperty("wal.bench.dir", "bench/target/jmh-wal")).toAbsolutePath();
    }

    static long pairedMillis() {
        return Long.getLong("wal.bench.pairedMillis", 2000);
    }

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** fsync latency and count, shared by the baseline and the WAL; summarised per trial. */
    static final class FsyncStats implements WalMetrics {
        final Recorder recorder = new Recorder(HISTOGRAM_MAX_NANOS, 3);
        final AtomicLong fsyncs = new AtomicLong();
        final LongAdder records = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder batches = new LongAdder();
        final LongAdder batchRequests = new LongAdder();
        final LongAdder completionNanos = new LongAdder();
        final Histogram measured = new Histogram(HISTOGRAM_MAX_NANOS, 3);
        long measuredFsyncs;
        long measuredRecords;
        long measuredNanos;
        long measuredBatches;
        long measuredBatchRequests;
        long measuredCompletionNanos;
        // Last iteration's deltas, for the paired baseline.
        long lastFsyncs;
        long lastRecords;
        long lastBytes;
        long lastNanos;
        long lastP50Nanos;
        long lastP99Nanos;
        private long startFsyncs;
        private long startRecords;
        private long startBytes;
        private long startNanos;
        private long startBatches;
        private long startBatchRequests;
        private long startCompletionNanos;

        @Override
        public void observeFsyncNanos(long nanos) {
            recorder.recordValue(Math.min(nanos, HISTOGRAM_MAX_NANOS));
            fsyncs.incrementAndGet();
        }

        @Override
        public void observeWriteNanos(long nanos) {
        }

        @Override
        public void addWriteBytes(long n) {
            bytes.add(n);
        }

        @Override
        public void observeBatch(int requests, long nanos) {
            batches.increment();
            batchRequests.add(requests);
            completionNanos.add(nanos);
        }

        /**
         * With -Dquorumlab.wal.stageTiming=true: sums of the WAL's per-round split (written by the
         * committing thread only; [0] rounds, then gap, collect, encode, write, fsync, complete ns).
         */
        final long[] stages = new long[7];

        @Override
        public void observeCommitStages(int requests, long gap, long collect, long encode, long write, long fsync,
                                        long complete) {
            long[] st = stages;
            st[0]++;
            st[1] += gap;
            st[2] += collect;
            st[3] += encode;
            st[4] += write;
            st[5] += fsync;
            st[6] += complete;
        }

        void iterationStart() {
            recorder.getIntervalHistogram(); // drop what warmup or setup recorded
            startFsyncs = fsyncs.get();
            startRecords = records.sum();
            startBytes = bytes.sum();
            startBatches = batches.sum();
            startBatchRequests = batchRequests.sum();
            startCompletionNanos = completionNanos.sum();
            startNanos = System.nanoTime();
        }

        /** Returns whether this was a measurement iteration. */
        boolean iterationEnd(IterationParams ip) {
            long now = System.nanoTime();
            Histogram h = recorder.getIntervalHistogram();
            lastFsyncs = fsyncs.get() - startFsyncs;
            lastRecords = records.sum() - startRecords;
            lastBytes = bytes.sum() - startBytes;
            lastNanos = now - startNanos;
            lastP50Nanos = h.getValueAtPercentile(50);
            lastP99Nanos = h.getValueAtPercentile(99);
            if (ip.getType() != IterationType.MEASUREMENT) {
                return false;
            }
            measured.add(h);
            measuredFsyncs += lastFsyncs;
            measuredRecords += lastRecords;
            measuredNanos += lastNanos;
            measuredBatches += batches.sum() - startBatches;
            measuredBatchRequests += batchRequests.sum() - startBatchRequests;
            measuredCompletionNanos += completionNanos.sum() - startCompletionNanos;
            return true;
        }

        void print(BenchmarkParams bp) {
            double secs = measuredNanos / 1e9;
            // Share of wall time spent inside force(): near 100 % means the disk is the limit.
            double fsyncBusy = measured.getTotalCount() == 0 ? 0.0
                    : measured.getMean() * measured.getTotalCount() / measuredNanos;
            String completion = measuredBatches == 0 ? "" : String.format(
                    " requests/batch=%.1f completion/batch=%.1fus completion/request=%.2fus",
                    (double) measuredBatchRequests / measuredBatches, measuredCompletionNanos / 1e3 / measuredBatches,
                    measuredBatchRequests == 0 ? 0.0 : measuredCompletionNanos / 1e3 / measuredBatchRequests);
            System.out.printf("%nwal-bench %s %s: records=%d fsyncs=%d records/s=%.0f fsyncs/s=%.0f records/fsync=%.2f"
                            + " fsync p50=%.3fms p99=%.3fms mean=%.3fms max=%.3fms fsync-busy=%.0f%%%s%n",
                    bp.getBenchmark().replaceAll(".*\\.", ""), paramsOf(bp),
                    measuredRecords, measuredFsyncs, measuredRecords / secs, measuredFsyncs / secs,
                    measuredFsyncs == 0 ? 0.0 : (double) measuredRecords / measuredFsyncs,
                    measured.getValueAtPercentile(50) / 1e6, measured.getValueAtPercentile(99) / 1e6,
                    measured.getMean() / 1e6, measured.getMaxValue() / 1e6, 100 * fsyncBusy, completion);
        }

        static String paramsOf(BenchmarkParams bp) {
            StringBuilder sb = new StringBuilder();
            for (String k : bp.getParamsKeys()) {
                sb.append(k).append('=').append(bp.getParam(k)).append(' ');
            }
            sb.append("threads=").append(bp.getThreads());
            return sb.toString().trim();
        }
    }

    // ============================================================================================
    // Baseline: write + fdatasync of the same bytes on the same directory
    // ============================================================================================

    /**
     * How the bare loop's bytes land on the device: what writing a log's next bytes costs.
     * {@code zeroed}: one preallocated, zero-filled, fsync'd 64 MB file, overwritten in a circle (the
     * device's cheapest case, the issue's baseline). {@code segments}: the zero-filled WAL's own disk
     * traffic without its CPU: every 64 MB the loop moves to a fresh zero-filled, fsync'd file that a
     * background thread prepared meanwhile (then fsyncs the directory, as a cut does).
     * {@code fallocate}: fresh files from fallocate(1) (etcd's preallocation: unwritten extents),
     * {@code sparse}: fresh files extended with ftruncate (holes), {@code append}: fresh empty files
     * that every write extends; each of these three is also switched every 64 MB. {@code fresh}: one
     * zero-filled file of {@code -Dwal.bench.segmentBytes}, written front to back before it wraps:
     * never-rewritten zeroed blocks, as a WAL segment's, without any switch. {@code direct}: the
     * {@code zeroed} circle written with O_DIRECT in whole blocks (the last partial block rewritten
     * by the next write, as the WAL's direct path does) + fdatasync: the device without the page cache.
     */
    enum BareFileMode {
        ZEROED, SEGMENTS, FALLOCATE, SPARSE, APPEND, FRESH, DIRECT;

        static BareFileMode of(String name) {
            return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
        }

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A write+fdatasync loop over a file prepared as {@link BareFileMode} says. */
    static final class BareLoop implements AutoCloseable {
        final Path dir;
        final String prefix;
        final BareFileMode mode;
        /** Prepares the next file for the modes that switch files; null for ZEROED. */
        final ExecutorService preparer;
        final List<Path> used = new ArrayList<>();
        Future<Path> next;
        int fileNo;
        /** Size of each file; the loop wraps (ZEROED, FRESH) or switches files at this size. */
        final long fileBytes;
        FileChannel ch;
        long position;
        long switches;
        /** DIRECT: the file system's block size, and an aligned buffer the whole-block writes come from. */
        int block;
        ByteBuffer aligned;

        BareLoop(Path file) throws IOException {
            this(file, BareFileMode.ZEROED);
        }

        BareLoop(Path file, BareFileMode mode) throws IOException {
            this.dir = file.getParent();
            this.prefix = file.getFileName().toString();
            this.mode = mode;
            this.fileBytes = mode == BareFileMode.FRESH
                    ? Long.getLong("wal.bench.segmentBytes", FILE_BYTES) : FILE_BYTES;
            boolean wraps = mode == BareFileMode.ZEROED || mode == BareFileMode.FRESH || mode == BareFileMode.DIRECT;
            Path first = prepare(wraps ? BareFileMode.SEGMENTS : mode, 0);
            used.add(first);
            if (mode == BareFileMode.DIRECT) {
                block = (int) Files.getFileStore(first).getBlockSize();
                ch = FileChannel.open(first, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
            } else {
                ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            if (wraps) {
                preparer = null;
            } else {
                preparer = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "bare-file-preparer");
                    t.setDaemon(true);
                    return t;
                });
                next = preparer.submit(() -> prepare(mode, ++fileNo));
            }
        }

        /** Creates file number {@code n} as {@code how} says and makes it durable. */
        Path prepare(BareFileMode how, int n) throws IOException {
            Path p = dir.resolve(prefix + "." + n);
            Files.deleteIfExists(p);
            if (how == BareFileMode.FALLOCATE) {
                try {
                    Process pr = new ProcessBuilder("fallocate", "-l", Long.toString(fileBytes), p.toString())
                            .redirectErrorStream(true).start();
                    String out = new String(pr.getInputStream().readAllBytes());
                    if (pr.waitFor() != 0) {
                        throw new IOException("fallocate(1) failed: " + out);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted running fallocate(1)", e);
                }
            }
            try (FileChannel c = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                if (how == BareFileMode.SEGMENTS) {
                    // Real zeros, as the WAL's SegmentPipeline writes them.
                    ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
                    for (long q = 0; q < fileBytes; q += zeros.capacity()) {
                        zeros.clear();
                        while (zeros.hasRemaining()) {
                            c.write(zeros, q + zeros.position());
                        }
                    }
                } else if (how == BareFileMode.SPARSE) {
                    try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(p.toFile(), "rw")) {
                        raf.setLength(fileBytes);
                    }
                }
                c.force(true);
            }
            return p;
        }

        static ByteBuffer randomBatch(int bytes) {
            byte[] b = new byte[bytes];
            new SplittableRandom(bytes).nextBytes(b);
            ByteBuffer buf = ByteBuffer.allocateDirect(bytes);
            buf.put(b).flip();
            return buf;
        }

        /** One write of {@code b} at the current position and one fdatasync; returns force() nanos. */
        long writeAndSync(ByteBuffer b) throws IOException {
            if (position + b.capacity() > fileBytes) {
                if (preparer == null) {
                    position = 0; // wrap: keep overwriting preallocated blocks
                } else {
                    switchFile();
                }
            }
            b.clear();
            long pos = position;
            long w0 = System.nanoTime();
            if (mode == BareFileMode.DIRECT) {
                // O_DIRECT: whole blocks, the last partial block rewritten by the next write (as the
                // WAL's direct path does); the logical position advances by the batch's bytes.
                long start = pos & -(long) block;
                long end = (pos + b.capacity() + block - 1) & -(long) block;
                int len = (int) (end - start);
                if (aligned == null || aligned.capacity() < len) {
                    aligned = ByteBuffer.allocateDirect(len + 2 * block).alignedSlice(block);
                    aligned.put(b.duplicate()).clear();
                }
                ByteBuffer w = aligned.duplicate().limit(len).position(0);
                while (w.hasRemaining()) {
                    ch.write(w, start + w.position());
                }
                pos += b.capacity();
            } else {
                while (b.hasRemaining()) {
                    pos += ch.write(b, pos);
                }
            }
            // DIRECT: the write moves the bytes to the device (what a buffered fdatasync does), so it
            // counts in the "fsync" time, as in the WAL's metric.
            long t0 = mode == BareFileMode.DIRECT ? w0 : System.nanoTime();
            ch.force(false);
            long took = System.nanoTime() - t0;
            position = pos;
            return took;
        }

        /** Moves to the prepared next file (waiting for it, as a WAL cut would) and starts another. */
        private void switchFile() throws IOException {
            Path p;
            try {
                p = next.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted waiting for the next bare file", e);
            } catch (ExecutionException e) {
                throw new IOException("preparing the next bare file failed", e.getCause());
            }
            ch.close();
            used.add(p);
            ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            position = 0;
            switches++;
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the new file's name durable, as a WAL cut's directory fsync
            }
            int n = ++fileNo;
            next = preparer.submit(() -> prepare(mode, n));
        }

        @Override
        public void close() throws IOException {
            if (preparer != null) {
                try {
                    used.add(next.get());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException ignored) {
                    // nothing to delete
                }
                preparer.shutdown();
            }
            ch.close();
            for (Path p : used) {
                Files.deleteIfExists(p);
            }
        }
    }

    @State(Scope.Benchmark)
    public static class BareFile {
        @Param({"1", "16", "32", "64"})
        int batchRecords;
        /** zeroed (the baseline), segments, fallocate, sparse or append: see {@link BareFileMode}. */
        @Param({"zeroed"})
        String file;

        final FsyncStats stats = new FsyncStats();
        Path dir;
        BareLoop loop;
        ByteBuffer batch;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), "bare-");
            loop = new BareLoop(dir.resolve("bare.dat"), BareFileMode.of(file));
            batch = BareLoop.randomBatch(batchRecords * FRAME_BYTES);
        }

        @Setup(Level.Iteration)
        public void iterationStart() {
            stats.iterationStart();
        }

        @TearDown(Level.Iteration)
        public void iterationEnd(IterationParams ip) {
            stats.iterationEnd(ip);
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException {
            stats.print(bp);
            System.out.printf("wal-bench bareWriteFsync %s: file switches=%d%n", FsyncStats.paramsOf(bp), loop.switches);
            loop.close();
            deleteTree(dir);
        }
    }

    @Benchmark
    public long bareWriteFsync(BareFile f) throws IOException {
        f.stats.observeFsyncNanos(f.loop.writeAndSync(f.batch));
        f.stats.records.add(f.batchRecords);
        return f.loop.position;
    }

    // ============================================================================================
    // The WAL on FileChannelStorage
    // ============================================================================================

    /** A WAL plus the paired baseline run after each measurement iteration. */
    abstract static class WalFixture {
        final FsyncStats stats = new FsyncStats();
        final byte[] data = new byte[RECORD_BYTES];
        /** Index assignment and enqueue are one step, so queue order matches index order. */
        final Object appendOrder = new Object();
        Path dir;
        Wal wal;
        /** The bare loops each WAL slice is paired with (-Dwal.bench.bareFile, first = main line). */
        final List<Twin> twins = new ArrayList<>();
        long nextIndex = 1;
        /** Prepares the WAL's spare segments; owned here so setup can wait for the first spare. */
        ExecutorService preparer;
        /** Spare segments whose preparation (zero-fill and fsync) was started. */
        final AtomicLong sparesPrepared = new AtomicLong();
        long sparesAtSetup;
        /** The WAL's group-commit thread (found once it exists) and CPU time reader. */
        Thread committer;
        final java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        // Committer CPU and batches over the measurement iterations, and the stage sums there.
        long iterCpu0;
        long iterBatches0;
        final long[] iterStages0 = new long[7];
        long measuredCpu;
        long measuredCpuBatches;
        final long[] measuredStages = new long[7];
        // Paired-baseline totals over the measurement iterations.
        long pairedWalRecords;
        long pairedWalNanos;
        final StringBuilder pairLines = new StringBuilder();

        /** One bare loop and its totals over the measurement iterations. */
        static final class Twin {
            final BareLoop loop;
            double recordEquivalents;
            long nanos;
            final Histogram fsync = new Histogram(HISTOGRAM_MAX_NANOS, 3);
            // Per paired run (one measurement iteration's interleaved slices).
            long runCalls;
            long runNanos;
            long runCpu;
            double runRecordEquivalents;
            final Histogram runFsync = new Histogram(HISTOGRAM_MAX_NANOS, 3);

            Twin(BareLoop loop) {
                this.loop = loop;
            }
        }

        void open() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), "wal-");
            new SplittableRandom(2).nextBytes(data);
            // -Dwal.bench.segmentBytes: e.g. large enough that no segment is cut or zero-filled while measuring.
            preparer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "wal-segment-preparer");
                t.setDaemon(true);
                return t;
            });
            // -Dwal.bench.recycleSegments: released files rewritten in place (0: every segment zero-filled).
            WalOptions opts = tune(WalOptions.defaults().withMetrics(stats).withMaxWals(2)
                    .withRecycleSegments(recycleSegments())
                    .withSegmentBytes(Long.getLong("wal.bench.segmentBytes", WalOptions.DEFAULT_SEGMENT_BYTES))
                    .withSegmentPreparer(task -> {
                        sparesPrepared.incrementAndGet();
                        preparer.execute(task);
                    }));
            Files.createDirectories(dir.resolve("wal"));
            wal = Wal.create(storage(dir.resolve("wal")), opts, WalMetadata.ofIds(1, 1));
            wal.save(List.of(), new HardState(1, 1, 0)); // term 1, as a freshly elected leader
            if (pairsWithBare()) {
                // -Dwal.bench.bareFile=zeroed,segments,... pairs every WAL slice with each of these loops.
                for (String m : System.getProperty("wal.bench.bareFile", "zeroed").split(",")) {
                    BareFileMode mode = BareFileMode.of(m);
                    twins.add(new Twin(new BareLoop(dir.resolve("paired-" + mode.label() + ".dat"), mode)));
                }
            }
            // Wait for the first spare: its zero-fill must not overlap the first iterations (with a
            // large -Dwal.bench.segmentBytes no segment is then cut or zero-filled while measuring).
            try {
                preparer.submit(() -> { }).get();
            } catch (InterruptedException | ExecutionException e) {
                throw new IOException("waiting for the first spare segment", e);
            }
            sparesAtSetup = sparesPrepared.get();
        }

        static int recycleSegments() {
            return Integer.getInteger("wal.bench.recycleSegments", WalOptions.DEFAULT_RECYCLE_SEGMENTS);
        }

        WalOptions tune(WalOptions opts) {
            return opts;
        }

        WalStorage storage(Path walDir) throws IOException {
            // -Dwal.bench.directIo=true: the WAL appends with O_DIRECT (FileChannelStorage's direct path).
            return new FileChannelStorage(walDir, Boolean.getBoolean("wal.bench.directIo"));
        }

        boolean pairsWithBare() {
            return true;
        }

        void futureAppend() {
            CompletableFuture<Void> done;
            synchronized (appendOrder) {
                long idx = nextIndex++;
                done = wal.append(List.of(WalEntry.normal(1, idx, data)), null);
            }
            done.join();
            stats.records.increment();
        }

        void blockingAppend() throws IOException {
            Wal.PendingAppend p;
            synchronized (appendOrder) {
                long idx = nextIndex++;
                p = wal.submit(List.of(WalEntry.normal(1, idx, data)), null);
            }
            p.await();
            stats.records.increment();
        }

        long saveAndWait(int n) throws IOException {
            List<WalEntry> entries = new ArrayList<>(n);
            long first;
            synchronized (appendOrder) {
                first = nextIndex;
                nextIndex += n;
            }
            for (int i = 0; i < n; i++) {
                entries.add(WalEntry.normal(1, first + i, data));
            }
            wal.save(entries, null);
            stats.records.add(n);
            return first;
        }

        /** Stops issuing appends and returns once none is in flight. */
        abstract void pause();

        abstract void resume();

        void iterationStart() {
            stats.iterationStart();
            resume();
            iterCpu0 = committerCpu();
            iterBatches0 = stats.batches.sum();
            System.arraycopy(stats.stages, 0, iterStages0, 0, 7);
        }

        /** CPU nanoseconds the group-commit thread used so far (0 before it exists). */
        long committerCpu() {
            if (committer == null) {
                for (Thread t : Thread.getAllStackTraces().keySet()) {
                    if (t.getName().equals("wal-group-commit")) {
                        committer = t;
                    }
                }
                if (committer == null) {
                    return 0;
                }
            }
            return Math.max(0, mx.getThreadCpuTime(committer.getId()));
        }

        void iterationEnd(IterationParams ip) throws IOException {
            pause();
            long cpu = committerCpu() - iterCpu0;
            long batches = stats.batches.sum() - iterBatches0;
            boolean measurement = stats.iterationEnd(ip);
            if (measurement && iterCpu0 > 0) {
                measuredCpu += cpu;
                measuredCpuBatches += batches;
                for (int i = 0; i < 7; i++) {
                    measuredStages[i] += stats.stages[i] - iterStages0[i];
                }
            }
            synchronized (appendOrder) {
                wal.releaseTo(nextIndex - 1); // keep the disk footprint bounded across iterations
            }
            if (measurement && stats.lastFsyncs > 0) {
                pairedRun();
            }
        }

        /** Runs the interleaved WAL/bare slices after a measurement iteration. */
        abstract void pairedRun() throws IOException;

        /** Runs {@code loop} for {@code nanos} writing {@code bytes} per fsync; returns the call count. */
        static long bareFor(BareLoop loop, long bytes, long nanos, Histogram into, long[] elapsedOut) throws IOException {
            ByteBuffer batch = BareLoop.randomBatch((int) Math.max(8, bytes));
            long t0 = System.nanoTime();
            long deadline = t0 + nanos;
            long calls = 0;
            long now;
            do {
                into.recordValue(Math.min(loop.writeAndSync(batch), HISTOGRAM_MAX_NANOS));
                calls++;
                now = System.nanoTime();
            } while (now < deadline);
            elapsedOut[0] = now - t0;
            return calls;
        }

        /**
         * Alternates WAL slices of {@code -Dwal.bench.sliceMillis} (default 100) with one slice of
         * each bare loop, for {@code pairedMillis} in all, each bare slice writing the preceding WAL
         * slice's mean bytes per fsync: all see the same disk weather. A WAL slice includes its
         * ramp-up (appenders starting together) and its drain, so it is measured conservatively.
         */
        void interleaved(Runnable start, Runnable stop) throws IOException {
            long slice = TimeUnit.MILLISECONDS.toNanos(Long.getLong("wal.bench.sliceMillis", 100));
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pairedMillis());
            long walRecords = 0;
            long walFsyncs = 0;
            long walBytes = 0;
            long walNanos = 0;
            for (Twin t : twins) {
                t.runCalls = 0;
                t.runNanos = 0;
                t.runRecordEquivalents = 0;
                t.runFsync.reset();
                t.runCpu = 0;
            }
            long walCpu = 0;
            long walBatches = 0;
            Histogram walH = new Histogram(HISTOGRAM_MAX_NANOS, 3);
            long[] elapsed = {0};
            while (System.nanoTime() < end) {
                stats.recorder.getIntervalHistogram();
                long f0 = stats.fsyncs.get();
                long r0 = stats.records.sum();
                long b0 = stats.bytes.sum();
                long bt0 = stats.batches.sum();
                long t0 = System.nanoTime();
                start.run();
                long c0 = committerCpu(); // after start: the first slice may create the thread
                LockSupport.parkNanos(slice);
                stop.run();
                long dt = System.nanoTime() - t0;
                long dcpu = committerCpu() - c0;
                long dbatches = stats.batches.sum() - bt0;
                long df = stats.fsyncs.get() - f0;
                long dr = stats.records.sum() - r0;
                long db = stats.bytes.sum() - b0;
                walH.add(stats.recorder.getIntervalHistogram());
                if (df == 0) {
                    continue;
                }
                walRecords += dr;
                walFsyncs += df;
                walBytes += db;
                walNanos += dt;
                if (c0 > 0) {
                    walCpu += dcpu;
                    walBatches += dbatches;
                }
                for (Twin t : twins) {
                    long bc0 = mx.getCurrentThreadCpuTime();
                    long calls = bareFor(t.loop, (db / df + 7) & -8, slice, t.runFsync, elapsed);
                    t.runCpu += mx.getCurrentThreadCpuTime() - bc0;
                    t.runCalls += calls;
                    t.runNanos += elapsed[0];
                    t.runRecordEquivalents += calls * ((double) dr / df);
                }
            }
            if (walFsyncs == 0) {
                return;
            }
            pairedWalRecords += walRecords;
            pairedWalNanos += walNanos;
            long bytesPerFsync = (walBytes / walFsyncs + 7) & -8;
            double recordsPerFsync = (double) walRecords / walFsyncs;
            double walRate = walRecords / (walNanos / 1e9);
            for (Twin t : twins) {
                t.recordEquivalents += t.runRecordEquivalents;
                t.nanos += t.runNanos;
                t.fsync.add(t.runFsync);
                double bareRate = t.runRecordEquivalents / (t.runNanos / 1e9);
                pairLines.append(String.format("wal-pair interleaved %d ms: wal %.0f records/s (%.1f records, %d B per fsync;"
                                + " fsync p50 %.3f ms p99 %.3f ms mean %.3f ms) | bare(%s) %d B per fsync: %.0f fsyncs/s = %.0f records/s"
                                + " (fsync p50 %.3f ms p99 %.3f ms mean %.3f ms) | wal/bare(%s) = %.1f %%"
                        + " | cpu us per wal batch %.1f, per bare loop %.1f%n",
                        pairedMillis(), walRate, recordsPerFsync, bytesPerFsync, walH.getValueAtPercentile(50) / 1e6,
                        walH.getValueAtPercentile(99) / 1e6, walH.getMean() / 1e6, t.loop.mode.label(), bytesPerFsync,
                        t.runCalls / (t.runNanos / 1e9), bareRate, t.runFsync.getValueAtPercentile(50) / 1e6,
                        t.runFsync.getValueAtPercentile(99) / 1e6, t.runFsync.getMean() / 1e6, t.loop.mode.label(),
                        100 * walRate / bareRate, walBatches == 0 ? 0.0 : walCpu / 1e3 / walBatches,
                        t.runCalls == 0 ? 0.0 : t.runCpu / 1e3 / t.runCalls));
            }
        }

        void close(BenchmarkParams bp) throws IOException {
            stats.print(bp);
            if (measuredCpuBatches > 0) {
                System.out.printf("wal-bench %s %s: committer cpu per batch %.2f us over the measurement iterations (%d batches)%n",
                        bp.getBenchmark().replaceAll(".*\\.", ""), FsyncStats.paramsOf(bp),
                        measuredCpu / 1e3 / measuredCpuBatches, measuredCpuBatches);
            }
            long rounds = measuredStages[0];
            if (rounds > 0) {
                System.out.printf("wal-bench %s %s: stages per batch (us, -Dquorumlab.wal.stageTiming): gap %.2f collect %.2f"
                                + " encode %.2f write %.2f fsync %.2f complete %.2f (%d rounds)%n",
                        bp.getBenchmark().replaceAll(".*\\.", ""), FsyncStats.paramsOf(bp), measuredStages[1] / 1e3 / rounds,
                        measuredStages[2] / 1e3 / rounds, measuredStages[3] / 1e3 / rounds, measuredStages[4] / 1e3 / rounds,
                        measuredStages[5] / 1e3 / rounds, measuredStages[6] / 1e3 / rounds, rounds);
            }
            if (pairedWalNanos > 0) {
                System.out.print(pairLines);
                double wal = pairedWalRecords / (pairedWalNanos / 1e9);
                for (Twin t : twins) {
                    double bare = t.recordEquivalents / (t.nanos / 1e9);
                    System.out.printf("wal-pair %s %s: wal %.0f records/s vs bare(%s) at the same bytes per fsync %.0f records/s"
                                    + " (bare fsync p50 %.3f ms p99 %.3f ms mean %.3f ms; file switches %d) => wal/bare(%s) = %.1f %%%n",
                            bp.getBenchmark().replaceAll(".*\\.", ""), FsyncStats.paramsOf(bp), wal, t.loop.mode.label(), bare,
                            t.fsync.getValueAtPercentile(50) / 1e6, t.fsync.getValueAtPercentile(99) / 1e6,
                            t.fsync.getMean() / 1e6, t.loop.switches, t.loop.mode.label(), 100 * wal / bare);
                }
            }
            // Each zero-filled spare prepared after setup is one cut that did not rewrite a recycled file.
            System.out.printf("wal-bench %s %s: segment-bytes=%d recycle-segments=%d segment cuts (warmup, measurement"
                            + " and paired slices)=%d of which recycled=%d, zero-filled spares started after setup=%d%n",
                    bp.getBenchmark().replaceAll(".*\\.", ""), FsyncStats.paramsOf(bp),
                    Long.getLong("wal.bench.segmentBytes", WalOptions.DEFAULT_SEGMENT_BYTES), recycleSegments(),
                    wal.segmentCuts(), wal.recycledSegmentCuts(), sparesPrepared.get() - sparesAtSetup);
            wal.close();
            preparer.shutdown();
            for (Twin t : twins) {
                t.loop.close();
            }
            deleteTree(dir);
        }
    }

    /** A blocking operation one appender thread repeats. */
    interface AppendOp {
        void run() throws IOException;
    }

    /**
     * Appender threads of the benchmark's own (as many as JMH's {@code @Threads}) that run only
     * during the WAL slices of the interleaved baseline, while JMH's threads wait between iterations.
     */
    static final class Workers {
        final Thread[] threads;
        /** Workers inside their append loop; stop() waits for 0. */
        final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean running;
        volatile boolean shutdown;

        Workers(int n, AppendOp op) {
            threads = new Thread[n];
            for (int i = 0; i < n; i++) {
                threads[i] = new Thread(() -> {
                    while (!shutdown) {
                        if (!running) {
                            LockSupport.park(this);
                            continue;
                        }
                        // Announce first, then re-check: stop() either sees us active or we see it stopped.
                        active.incrementAndGet();
                        try {
                            while (running) {
                                op.run();
                            }
                        } catch (IOException | RuntimeException e) {
                            System.err.println("wal-bench worker failed: " + e);
                        } finally {
                            active.decrementAndGet();
                        }
                    }
                }, "wal-bench-appender-" + i);
                threads[i].setDaemon(true);
                threads[i].start();
            }
        }

        void start() {
            running = true;
            for (Thread t : threads) {
                LockSupport.unpark(t);
            }
        }

        void stop() {
            running = false;
            while (active.get() > 0) {
                LockSupport.parkNanos(100_000);
            }
        }

        void shutdown() throws InterruptedException {
            shutdown = true;
            running = false;
            for (Thread t : threads) {
                LockSupport.unpark(t);
                t.join();
            }
        }
    }

    /** Threads that block per record (futures or submit/await); JMH's threads are the appenders. */
    @State(Scope.Benchmark)
    public static class WalState extends WalFixture {
        @Setup(Level.Trial)
        public void setup() throws IOException {
            open();
        }

        /**
         * No baseline here: while one thread runs a Scope.Benchmark iteration fixture, JMH's other
         * threads busy-wait, which would starve WAL slices of CPU. {@link DrivenState} runs the
         * same appenders on threads of its own, with one JMH thread, and pairs them.
         */
        @Override
        void pairedRun() {
        }

        @Override
        void pause() {
            // JMH runs iteration fixtures of a Scope.Benchmark state after every thread stopped.
        }

        @Override
        void resume() {
        }

        @Setup(Level.Iteration)
        public void iterationSetup() {
            iterationStart();
        }

        @TearDown(Level.Iteration)
        public void iterationTearDown(IterationParams ip) throws IOException {
            iterationEnd(ip);
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException {
            close(bp);
        }
    }

    /** Blocking threads, the committer waking only the root of each batch's wake tree. */
    @State(Scope.Benchmark)
    public static class WakeTreeState extends WalState {
        @Override
        WalOptions tune(WalOptions opts) {
            return opts.withDelegateWakeups(true);
        }
    }

    /**
     * {@code threads} appender threads of the benchmark's own, each repeating one blocking
     * operation ({@code kind}: blocking submit/await, the same with the wake tree, future join, or
     * a save of 64); the single JMH thread only waits for the count of durable records. Unlike the
     * {@code @Threads(64)} methods this can pair its iterations with the interleaved baseline.
     */
    @State(Scope.Benchmark)
    public static class DrivenState extends WalFixture {
        @Param({"blocking", "wakeTree", "future", "save64"})
        String kind;
        @Param({"64"})
        int threads;

        final AtomicLong durable = new AtomicLong();
        volatile long waitTarget = Long.MAX_VALUE;
        volatile Thread waiter;
        long target;
        Workers workers;

        @Override
        WalOptions tune(WalOptions opts) {
            return opts.withDelegateWakeups(kind.equals("wakeTree"));
        }

        @Setup(Level.Trial)
        public void setup() throws IOException {
            open();
            AppendOp op;
            if (kind.equals("future")) {
                op = () -> {
                    futureAppend();
                    counted(1);
                };
            } else if (kind.equals("save64")) {
                op = () -> {
                    saveAndWait(64);
                    counted(64);
                };
            } else {
                op = () -> {
                    blockingAppend();
                    counted(1);
                };
            }
            workers = new Workers(threads, op);
        }

        private void counted(int n) {
            long d = durable.addAndGet(n);
            if (d >= waitTarget) {
                Thread w = waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }

        @Override
        void pause() {
            workers.stop();
        }

        @Override
        void resume() {
            workers.start();
        }

        @Override
        void pairedRun() throws IOException {
            interleaved(workers::start, workers::stop);
        }

        @Setup(Level.Iteration)
        public void iterationSetup() {
            iterationStart();
        }

        @TearDown(Level.Iteration)
        public void iterationTearDown(IterationParams ip) throws IOException {
            iterationEnd(ip);
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException, InterruptedException {
            workers.shutdown();
            close(bp);
        }

        void awaitDurable(int n) {
            long now = durable.get();
            if (target < now) {
                target = now; // records completed between iterations are not this iteration's
            }
            target += n;
            waiter = Thread.currentThread();
            waitTarget = target;
            while (durable.get() < target) {
                LockSupport.park(this);
            }
            waitTarget = Long.MAX_VALUE;
            waiter = null;
        }
    }

    /**
     * Logical appenders without threads: each chain's next append is issued from its previous
     * append's durability callback (on the WAL's group-commit thread). The JMH thread only waits
     * for the count of durable records, waking once per {@link #ASYNC_OPS}.
     */
    @State(Scope.Benchmark)
    public static class AsyncState extends WalFixture {
        static final java.lang.invoke.VarHandle DURABLE;

        static {
            try {
                DURABLE = java.lang.invoke.MethodHandles.lookup().findVarHandle(AsyncState.class, "durable", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @Param({"1", "64"})
        int appenders;

        final List<Chain> chains = new ArrayList<>();
        /**
         * -Dwal.bench.chains=locked (default, as in sessions 1-6): every append takes the fixture's
         * index lock and each record bumps a shared LongAdder. {@code lean}: the same 64 chains
         * without that harness work: appends are made on the committing thread only (resume starts
         * one chain, whose first callback starts the others), so the index needs no lock, and
         * records are counted from the durable counter when pausing.
         */
        final boolean lean = System.getProperty("wal.bench.chains", "locked").equals("lean");
        /** Lean: the first chain's next callback starts the other chains (set by resume, read on the committer). */
        boolean startOthers;
        long durableAtResume;
        /** Written by the committing thread only. */
        volatile long durable;
        volatile long waitTarget = Long.MAX_VALUE;
        volatile Thread waiter;
        volatile boolean paused = true;
        /** Chains that saw "paused" and stopped; counted only when pausing, never per record. */
        final AtomicLong stopped = new AtomicLong();
        long target;

        final class Chain implements WalCallback {
            @Override
            public void onComplete(Throwable failure) {
                // Lean: chains the starter has not started yet stop with it.
                int unstarted = 0;
                if (startOthers && this == chains.get(0)) {
                    startOthers = false;
                    unstarted = chains.size() - 1;
                }
                if (failure != null) {
                    System.err.println("wal-bench append failed: " + failure);
                    stopped.addAndGet(1 + unstarted);
                    return;
                }
                long d = durable + 1;
                if (lean) {
                    DURABLE.setRelease(AsyncState.this, d); // single writer; the reader's volatile read pairs with it
                } else {
                    stats.records.increment();
                    durable = d;
                }
                if (d >= waitTarget) {
                    Thread w = waiter;
                    if (w != null) {
                        waitTarget = Long.MAX_VALUE;
                        LockSupport.unpark(w);
                    }
                }
                if (paused) {
                    stopped.addAndGet(1 + unstarted);
                    return;
                }
                for (int i = 1; i <= unstarted; i++) {
                    chains.get(i).issue();
                }
                issue();
            }

            void issue() {
                if (lean) {
                    // Only the committing thread appends while chains run (resume's one append is
                    // made while every chain is stopped): no lock for the index.
                    long idx = nextIndex++;
                    wal.append(List.of(WalEntry.normal(1, idx, data)), null, this);
                    return;
                }
                synchronized (appendOrder) {
                    long idx = nextIndex++;
                    wal.append(List.of(WalEntry.normal(1, idx, data)), null, this);
                }
            }
        }

        @Setup(Level.Trial)
        public void setup() throws IOException {
            open();
            for (int i = 0; i < appenders; i++) {
                chains.add(new Chain());
            }
        }

        @Override
        void pause() {
            paused = true;
            while (stopped.get() < chains.size()) {
                LockSupport.parkNanos(100_000);
            }
            if (lean) {
                stats.records.add(durable - durableAtResume);
            }
        }

        @Override
        void resume() {
            stopped.set(0);
            paused = false;
            if (lean) {
                durableAtResume = durable;
                startOthers = chains.size() > 1;
                chains.get(0).issue(); // every chain is stopped: nothing else appends now
                return;
            }
            for (Chain c : chains) {
                c.issue();
            }
        }

        @Setup(Level.Iteration)
        public void iterationSetup() {
            iterationStart();
        }

        @TearDown(Level.Iteration)
        public void iterationTearDown(IterationParams ip) throws IOException {
            iterationEnd(ip);
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException {
            close(bp);
        }

        @Override
        void pairedRun() throws IOException {
            interleaved(this::resume, this::pause);
        }

        /** Blocks until {@code n} more records are durable than at the previous call. */
        void awaitDurable(int n) {
            if (target < durable) {
                target = durable; // records completed between iterations are not this iteration's
            }
            target += n;
            waiter = Thread.currentThread();
            waitTarget = target;
            while (durable < target) {
                LockSupport.park(this);
            }
            waiter = null;
        }
    }

    @Benchmark
    @OperationsPerInvocation(ASYNC_OPS)
    public long asyncAppenders(AsyncState s) {
        s.awaitDurable(ASYNC_OPS);
        return s.durable;
    }

    /**
     * The committer's CPU alone: the same 256 B callback chains on a storage whose write and
     * fdatasync return at once (the bytes are dropped). 64 / score = seconds of committing-thread
     * work per record batch outside the disk: encode + CRC, bookkeeping, and completing the batch
     * (the chains' own callback work, issuing the next append, included). No baseline pairing.
     */
    @State(Scope.Benchmark)
    public static class NoDiskState extends AsyncState {
        @Override
        WalStorage storage(Path walDir) {
            return new io.quorumlab.wal.storage.NullStorage();
        }

        @Override
        boolean pairsWithBare() {
            return false;
        }

        @Override
        void pairedRun() {
        }
    }

    @Benchmark
    @OperationsPerInvocation(ASYNC_OPS)
    public long asyncAppendersNoDisk(NoDiskState s) {
        s.awaitDurable(ASYNC_OPS);
        return s.durable;
    }

    @Benchmark
    @OperationsPerInvocation(ASYNC_OPS)
    public long threadAppenders(DrivenState s) {
        s.awaitDurable(ASYNC_OPS);
        return s.durable.get();
    }

    @Benchmark
    @Threads(64)
    public void blockingAppenders64(WalState s) throws IOException {
        s.blockingAppend();
    }

    @Benchmark
    @Threads(64)
    public void blockingWakeTree64(WakeTreeState s) throws IOException {
        s.blockingAppend();
    }

    @Benchmark
    @Threads(1)
    public void blockingOneAppender(WalState s) throws IOException {
        s.blockingAppend();
    }

    @Benchmark
    @Threads(64)
    public void futureAppenders64(WalState s) {
        s.futureAppend();
    }

    @Benchmark
    @Threads(1)
    public void futureOneAppender(WalState s) {
        s.futureAppend();
    }

    @Benchmark
    @Threads(1)
    public long saveOneRecord(WalState s) throws IOException {
        return s.saveAndWait(1);
    }

    /** The member loop's shape: one save of 64 entries, comparable with the bare batch of 64. */
    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(64)
    public long save64Records(WalState s) throws IOException {
        return s.saveAndWait(64);
    }

    // ============================================================================================
    // What a thread wake-up costs here: the price a blocking appender pays per record
    // ============================================================================================

    /** Two threads handing a turn back and forth with park/unpark, as a waiter and its committer do. */
    @State(Scope.Benchmark)
    public static class PingPong {
        volatile int turn; // 0: the benchmark thread's, 1: the partner's
        volatile boolean stop;
        volatile Thread caller;
        Thread partner;

        @Setup(Level.Trial)
        public void setup() {
            partner = new Thread(() -> {
                while (true) {
                    while (turn != 1 && !stop) {
                        LockSupport.park(this);
                    }
                    if (stop) {
                        return;
                    }
                    turn = 0;
                    LockSupport.unpark(caller);
                }
            }, "wal-bench-pingpong");
            partner.setDaemon(true);
            partner.start();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            stop = true;
            LockSupport.unpark(partner);
            partner.join();
        }
    }

    /** Score = round trips/s; each is two wake-ups of a parked thread (one wake-up = 1 / (2 x score)). */
    @Benchmark
    @Threads(1)
    public void parkUnparkRoundTrip(PingPong p) {
        p.caller = Thread.currentThread();
        p.turn = 1;
        LockSupport.unpark(p.partner);
        while (p.turn != 0) {
            LockSupport.park(p);
        }
    }
}
