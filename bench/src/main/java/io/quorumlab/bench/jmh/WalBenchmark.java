package io.quorumlab.bench.jmh;

import io.quorumlab.wal.HardState;
import io.quorumlab.wal.Wal;
import io.quorumlab.wal.WalEntry;
import io.quorumlab.wal.WalMetadata;
import io.quorumlab.wal.WalMetrics;
import io.quorumlab.wal.WalOptions;
import io.quorumlab.wal.storage.FileChannelStorage;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
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
 *       of bytes plus {@code force(false)} on a preallocated 64 MB file (the physical limit);</li>
 *   <li>{@code appendOneAppender} / {@code appendConcurrent64}: {@link Wal#append} of one 256 B entry,
 *       waiting for durability, from 1 or 64 threads (group commit);</li>
 *   <li>{@code saveOneRecord} / {@code save64Records}: {@link Wal#save} of 1 or 64 entries per call
 *       from one thread (the member loop).</li>
 * </ul>
 * Scores are records/s, except {@code bareWriteFsync}: write+fsync calls/s (multiply by
 * {@code batchRecords}). Each trial prints fsyncs, records per fsync and fsync
 * p50/p99 over the measurement iterations ("wal-bench" lines). Files live under
 * {@code bench/target/jmh-wal} (a real disk, never tmpfs). Run:
 * {@code java -cp cli/target/quorumlab.jar org.openjdk.jmh.Main WalBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class WalBenchmark {
    static final int RECORD_BYTES = 256;
    /** On-disk size of one 256 B entry: align8(12 B header + 17 B entry fields + 256 B). */
    static final int FRAME_BYTES = (12 + 17 + RECORD_BYTES + 7) & -8;
    static final long FILE_BYTES = 64L << 20;
    static final long HISTOGRAM_MAX_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Where benchmark files go: the bench module's target dir (override with -Dwal.bench.dir). */
    static Path benchRoot() {
        return Path.of(System.getProperty("wal.bench.dir", "bench/target/jmh-wal")).toAbsolutePath();
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
        final Histogram measured = new Histogram(HISTOGRAM_MAX_NANOS, 3);
        long measuredFsyncs;
        long measuredRecords;
        long measuredNanos;
        private long iterationStartFsyncs;
        private long iterationStartRecords;
        private long iterationStartNanos;

        @Override
        public void observeFsyncNanos(long nanos) {
            recorder.recordValue(Math.min(nanos, HISTOGRAM_MAX_NANOS));
            fsyncs.incrementAndGet();
        }

        @Override
        public void observeWriteNanos(long nanos) {
        }

        @Override
        public void addWriteBytes(long bytes) {
        }

        void iterationStart() {
            recorder.getIntervalHistogram(); // drop what warmup or setup recorded
            iterationStartFsyncs = fsyncs.get();
            iterationStartRecords = records.sum();
            iterationStartNanos = System.nanoTime();
        }

        void iterationEnd(IterationParams ip) {
            Histogram h = recorder.getIntervalHistogram();
            if (ip.getType() == IterationType.MEASUREMENT) {
                measured.add(h);
                measuredFsyncs += fsyncs.get() - iterationStartFsyncs;
                measuredRecords += records.sum() - iterationStartRecords;
                measuredNanos += System.nanoTime() - iterationStartNanos;
            }
        }

        void print(BenchmarkParams bp) {
            double secs = measuredNanos / 1e9;
            // Share of wall time spent inside force(): near 100 % means the disk is the limit.
            double fsyncBusy = measured.getTotalCount() == 0 ? 0.0
                    : measured.getMean() * measured.getTotalCount() / measuredNanos;
            System.out.printf("%nwal-bench %s %s: records=%d fsyncs=%d records/s=%.0f fsyncs/s=%.0f records/fsync=%.2f"
                            + " fsync p50=%.3fms p99=%.3fms mean=%.3fms max=%.3fms fsync-busy=%.0f%%%n",
                    bp.getBenchmark().replaceAll(".*\\.", ""), bp.getParamsKeys().isEmpty() ? "" : paramsOf(bp),
                    measuredRecords, measuredFsyncs, measuredRecords / secs, measuredFsyncs / secs,
                    measuredFsyncs == 0 ? 0.0 : (double) measuredRecords / measuredFsyncs,
                    measured.getValueAtPercentile(50) / 1e6, measured.getValueAtPercentile(99) / 1e6,
                    measured.getMean() / 1e6, measured.getMaxValue() / 1e6, 100 * fsyncBusy);
        }

        private static String paramsOf(BenchmarkParams bp) {
            StringBuilder sb = new StringBuilder();
            for (String k : bp.getParamsKeys()) {
                sb.append(k).append('=').append(bp.getParam(k)).append(' ');
            }
            return sb.toString().trim();
        }
    }

    // ============================================================================================
    // Baseline: write + fdatasync of the same bytes on the same directory
    // ============================================================================================

    @State(Scope.Benchmark)
    public static class BareFile {
        @Param({"1", "16", "32", "64"})
        int batchRecords;

        final FsyncStats stats = new FsyncStats();
        Path dir;
        FileChannel ch;
        ByteBuffer batch;
        long position;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), "bare-");
            ch = FileChannel.open(dir.resolve("bare.dat"), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            // Preallocate with real zeros, as the WAL does, so the loop never extends the file.
            ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
            for (long p = 0; p < FILE_BYTES; p += zeros.capacity()) {
                zeros.clear();
                while (zeros.hasRemaining()) {
                    ch.write(zeros, p + zeros.position());
                }
            }
            ch.force(true);
            byte[] bytes = new byte[batchRecords * FRAME_BYTES];
            new SplittableRandom(1).nextBytes(bytes);
            batch = ByteBuffer.allocateDirect(bytes.length);
            batch.put(bytes).flip();
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
            ch.close();
            deleteTree(dir);
        }
    }

    @Benchmark
    public long bareWriteFsync(BareFile f) throws IOException {
        ByteBuffer b = f.batch;
        if (f.position + b.capacity() > FILE_BYTES) {
            f.position = 0; // wrap: keep overwriting preallocated blocks
        }
        b.clear();
        long pos = f.position;
        while (b.hasRemaining()) {
            pos += f.ch.write(b, pos);
        }
        long t0 = System.nanoTime();
        f.ch.force(false);
        f.stats.observeFsyncNanos(System.nanoTime() - t0);
        f.stats.records.add(f.batchRecords);
        f.position = pos;
        return pos;
    }

    // ============================================================================================
    // The WAL on FileChannelStorage
    // ============================================================================================

    @State(Scope.Benchmark)
    public static class WalState {
        final FsyncStats stats = new FsyncStats();
        final byte[] data = new byte[RECORD_BYTES];
        /** Index assignment and enqueue are one step, so queue order matches index order. */
        final Object appendOrder = new Object();
        Path dir;
        Wal wal;
        long nextIndex = 1;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Files.createDirectories(benchRoot());
            dir = Files.createTempDirectory(benchRoot(), "wal-");
            new SplittableRandom(2).nextBytes(data);
            WalOptions opts = WalOptions.defaults().withMetrics(stats).withMaxWals(2);
            wal = Wal.create(new FileChannelStorage(dir), opts, WalMetadata.ofIds(1, 1));
            wal.save(List.of(), new HardState(1, 1, 0)); // term 1, as a freshly elected leader
        }

        @Setup(Level.Iteration)
        public void iterationStart() {
            stats.iterationStart();
        }

        @TearDown(Level.Iteration)
        public void iterationEnd(IterationParams ip) throws IOException {
            stats.iterationEnd(ip);
            synchronized (appendOrder) {
                wal.releaseTo(nextIndex - 1); // keep the disk footprint bounded across iterations
            }
        }

        @TearDown(Level.Trial)
        public void tearDown(BenchmarkParams bp) throws IOException {
            stats.print(bp);
            wal.close();
            deleteTree(dir);
        }

        void appendAndWait() {
            java.util.concurrent.CompletableFuture<Void> done;
            synchronized (appendOrder) {
                long idx = nextIndex++;
                done = wal.append(List.of(WalEntry.normal(1, idx, data)), null);
            }
            done.join();
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
    }

    @Benchmark
    @Threads(1)
    public void appendOneAppender(WalState s) {
        s.appendAndWait();
    }

    @Benchmark
    @Threads(64)
    public void appendConcurrent64(WalState s) {
        s.appendAndWait();
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
}
