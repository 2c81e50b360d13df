package io.quorumlab.wal;

import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * Where the group-commit thread's time goes per batch, measured with clock reads around each stage
 * of the real commit path ({@link WalMetrics#observeCommitStages}), not with a sampler. Not a test
 * (no assertions, nothing timed in CI): a diagnostic main.
 *
 * <pre>
 * java -Dquorumlab.wal.stageTiming=true -cp wal/target/classes:wal/target/test-classes:&lt;slf4j-api&gt; \
 *      io.quorumlab.wal.CommitterBreakdown [null|DIR] [chains=64] [seconds=5] [client=bench|lean] [runs=3]
 * </pre>
 * {@code null}: a storage whose write and fdatasync return at once (the committer's CPU alone);
 * {@code DIR}: real files there. {@code client=bench} runs the same callback as WalBenchmark's
 * async chains (LongAdder, volatile counter, an index lock, a new entry and list per record);
 * {@code lean} only what the API needs (a new entry and list per record). Each run also prints the
 * committer thread's CPU per batch (ThreadMXBean), then the encoding split offline: CRC32C alone
 * and the whole frame encoding of the same 64 records through {@link FrameWriter}.
 */
public final class CommitterBreakdown {

    static final int RECORD_BYTES = 256;

    /** Sums of {@link WalMetrics#observeCommitStages} per run. */
    static final class Stages implements WalMetrics {
        long rounds;
        long requests;
        long gap;
        long collect;
        long encode;
        long write;
        long fsync;
        long complete;
        long fsyncs;
        long bytes;

        @Override
        public void observeFsyncNanos(long nanos) {
            fsyncs++;
        }

        @Override
        public void observeWriteNanos(long nanos) {
        }

        @Override
        public void addWriteBytes(long n) {
            bytes += n;
        }

        @Override
        public void observeCommitStages(int requests, long gap, long collect, long encode, long write, long fsync,
                                        long complete) {
            rounds++;
            this.requests += requests;
            this.gap += gap;
            this.collect += collect;
            this.encode += encode;
            this.write += write;
            this.fsync += fsync;
            this.complete += complete;
        }

        void reset() {
            rounds = requests = gap = collect = encode = write = fsync = complete = fsyncs = bytes = 0;
        }
    }

    public static void main(String[] args) throws Exception {
        if (!Wal.STAGE_TIMING) {
            System.err.println("run with -Dquorumlab.wal.stageTiming=true");
            System.exit(2);
        }
        String where = args.length > 0 ? args[0] : "null";
        int chains = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 5;
        String client = args.length > 3 ? args[3] : "bench";
        int runs = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        System.out.printf("committer-breakdown storage=%s chains=%d seconds=%.1f client=%s runs=%d%n", where, chains,
                seconds, client, runs);
        for (int run = 0; run <= runs; run++) {
            long bytesPerFsync = runOnce(where, chains, seconds, client, run == 0 ? "warmup" : "run " + run);
            if (!where.equals("null") && bytesPerFsync > 0) {
                bareLoop(Path.of(where), bytesPerFsync, seconds, run == 0 ? "warmup" : "run " + run);
            }
        }
        encodingSplit();
    }

    /**
     * The issue's baseline after each real-disk run, same bytes per fsync: write + fdatasync in a
     * circle over a zero-filled, fsync'd 64 MB file in the same directory (the bench's "zeroed").
     */
    static void bareLoop(Path where, long bytes, double seconds, String label) throws IOException {
        Path f = Files.createTempFile(where, "bare-", ".dat");
        long fileBytes = FramingFloor.FILE_BYTES;
        FramingFloor.zeroFill(f);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            byte[] b = new byte[(int) bytes];
            new SplittableRandom(bytes).nextBytes(b);
            ByteBuffer batch = ByteBuffer.allocateDirect(b.length);
            batch.put(b).flip();
            long pos = 0;
            long loops = 0;
            long writeNanos = 0;
            long fsyncNanos = 0;
            long start = System.nanoTime();
            long deadline = start + (long) (seconds * 1e9);
            long now;
            do {
                if (pos + bytes > fileBytes) {
                    pos = 0;
                }
                batch.clear();
                long t0 = System.nanoTime();
                while (batch.hasRemaining()) {
                    pos += ch.write(batch, pos);
                }
                long t1 = System.nanoTime();
                ch.force(false);
                now = System.nanoTime();
                writeNanos += t1 - t0;
                fsyncNanos += now - t1;
                loops++;
            } while (now < deadline);
            System.out.printf("%s bare %d B write+fdatasync: %.0f loops/s; per loop (us): write %.2f fsync %.2f, wall %.2f%n",
                    label, bytes, loops / ((now - start) / 1e9), writeNanos / 1e3 / loops, fsyncNanos / 1e3 / loops,
                    (now - start) / 1e3 / loops);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Returns the run's bytes per fsync. */
    static long runOnce(String where, int chains, double seconds, String client, String label) throws Exception {
        Stages stages = new Stages();
        Path dir = null;
        WalStorage storage;
        if (where.equals("null")) {
            storage = new io.quorumlab.wal.storage.NullStorage();
        } else {
            Files.createDirectories(Path.of(where));
            dir = Files.createTempDirectory(Path.of(where), "breakdown-");
            storage = new FileChannelStorage(dir);
        }
        WalOptions opts = WalOptions.defaults().withMetrics(stages).withMaxWals(2);
        Wal wal = Wal.create(storage, opts, WalMetadata.ofIds(1, 1));
        wal.save(List.of(), new HardState(1, 1, 0));
        Driver d = new Driver(wal, chains, client.equals("lean"));
        // Warm the committer thread up, then measure.
        d.start();
        Thread.sleep(300);
        Thread committer = null;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("wal-group-commit")) {
                committer = t;
            }
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu0;
        long n0;
        long w0;
        long dur0;
        synchronized (d.pauseLock) { // the stage sums are written by the committer; read them at a batch edge
            d.pauseBetweenBatches = true;
            while (!d.heldAtEdge) {
                d.pauseLock.wait();
            }
            stages.reset();
            cpu0 = mx.getThreadCpuTime(committer.getId());
            dur0 = d.durable.get();
            w0 = System.nanoTime();
            d.pauseBetweenBatches = false;
            d.pauseLock.notifyAll();
        }
        // Release like a member that snapshots often: every 50 ms, so cuts rewrite recycled files
        // (the bench releases once per iteration).
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            Thread.sleep(50);
            wal.releaseTo(wal.lastIndex());
        }
        long cpu1;
        long dur1;
        long w1;
        Stages s = new Stages();
        synchronized (d.pauseLock) {
            d.pauseBetweenBatches = true;
            while (!d.heldAtEdge) {
                d.pauseLock.wait();
            }
            cpu1 = mx.getThreadCpuTime(committer.getId());
            dur1 = d.durable.get();
            w1 = System.nanoTime();
            s.rounds = stages.rounds;
            s.requests = stages.requests;
            s.gap = stages.gap;
            s.collect = stages.collect;
            s.encode = stages.encode;
            s.write = stages.write;
            s.fsync = stages.fsync;
            s.complete = stages.complete;
            s.fsyncs = stages.fsyncs;
            s.bytes = stages.bytes;
            d.stop = true;
            d.pauseBetweenBatches = false;
            d.pauseLock.notifyAll();
        }
        d.awaitStopped();
        long cuts = wal.segmentCuts();
        long recycled = wal.recycledSegmentCuts();
        wal.close();
        if (dir != null) {
            try (var st = Files.walk(dir)) {
                for (Path p : st.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        double b = Math.max(1, s.rounds);
        double secs = (w1 - w0) / 1e9;
        long records = dur1 - dur0;
        System.out.printf("%s: %.0f records/s, %.1f requests/batch, %d B/fsync, batches %d; per batch (us): gap %.2f"
                        + " collect %.2f encode %.2f write %.2f fsync %.2f complete %.2f | sum %.2f, wall/batch %.2f,"
                        + " committer cpu/batch %.2f (cpu/record %.0f ns); cuts %d, recycled %d%n",
                label, records / secs, s.requests / b, s.fsyncs == 0 ? 0 : s.bytes / s.fsyncs, s.rounds,
                s.gap / b / 1e3, s.collect / b / 1e3, s.encode / b / 1e3, s.write / b / 1e3, s.fsync / b / 1e3,
                s.complete / b / 1e3,
                (s.gap + s.collect + s.encode + s.write + s.fsync + s.complete) / b / 1e3, (w1 - w0) / b / 1e3,
                (cpu1 - cpu0) / b / 1e3, records == 0 ? 0.0 : (double) (cpu1 - cpu0) / records, cuts, recycled);
        return s.fsyncs == 0 ? 0 : s.bytes / s.fsyncs;
    }

    /**
     * Chains that each append their next 256 B record from the previous one's durability callback,
     * like WalBenchmark's async appenders. The pause hook holds the committer at a batch edge (in a
     * callback, once the batch's stage sums are final) so the main thread can read them.
     */
    static final class Driver {
        final Wal wal;
        final boolean lean;
        final byte[] data = new byte[RECORD_BYTES];
        final Object appendOrder = new Object();
        final Object pauseLock = new Object();
        final AtomicLong durable = new AtomicLong();
        final LongAdder benchCounter = new LongAdder();
        volatile long benchDurable;
        volatile boolean pauseBetweenBatches;
        boolean heldAtEdge;
        volatile boolean stop;
        final AtomicLong stopped = new AtomicLong();
        final List<Chain> chains = new ArrayList<>();
        long nextIndex = 1;

        Driver(Wal wal, int n, boolean lean) {
            this.wal = wal;
            this.lean = lean;
            new SplittableRandom(2).nextBytes(data);
            for (int i = 0; i < n; i++) {
                chains.add(new Chain(i == 0));
            }
        }

        void start() {
            if (lean) {
                // Only the first chain starts here; its first callback starts the others, so every
                // later append is made on the committing thread and needs no lock for the index.
                nextIndex = 1;
                wal.append(List.of(WalEntry.normal(1, nextIndex++, data)), null, chains.get(0));
                return;
            }
            synchronized (appendOrder) {
                for (Chain c : chains) {
                    c.issue();
                }
            }
        }

        boolean othersStarted;

        void awaitStopped() {
            while (stopped.get() < chains.size()) {
                LockSupport.parkNanos(100_000);
            }
        }

        final class Chain implements WalCallback {
            /** The first chain's callback is the batch edge where a pause is honoured. */
            final boolean edge;

            Chain(boolean edge) {
                this.edge = edge;
            }

            @Override
            public void onComplete(Throwable failure) {
                if (failure != null) {
                    System.err.println("append failed: " + failure);
                    stopped.incrementAndGet();
                    return;
                }
                if (edge && pauseBetweenBatches) {
                    synchronized (pauseLock) {
                        heldAtEdge = true;
                        pauseLock.notifyAll();
                        while (pauseBetweenBatches) {
                            try {
                                pauseLock.wait();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                return;
                            }
                        }
                        heldAtEdge = false;
                    }
                }
                durable.lazySet(durable.get() + 1); // one writer: the committing thread
                if (stop) {
                    stopped.incrementAndGet();
                    return;
                }
                if (lean) {
                    if (!othersStarted) {
                        othersStarted = true;
                        for (int i = 1; i < chains.size(); i++) {
                            wal.append(List.of(WalEntry.normal(1, nextIndex++, data)), null, chains.get(i));
                        }
                    }
                    long idx = nextIndex++;
                    wal.append(List.of(WalEntry.normal(1, idx, data)), null, this);
                    return;
                }
                // WalBenchmark.AsyncState.Chain's work per record.
                benchCounter.increment();
                benchDurable = benchDurable + 1;
                issue();
            }

            void issue() {
                synchronized (appendOrder) {
                    long idx = nextIndex++;
                    wal.append(List.of(WalEntry.normal(1, idx, data)), null, this);
                }
            }
        }
    }

    /** CRC32C alone vs the whole in-place encoding of 64 frames of 256 B, warm, per batch. */
    static void encodingSplit() throws IOException {
        byte[] data = new byte[RECORD_BYTES];
        new SplittableRandom(3).nextBytes(data);
        int frame = FrameWriter.entryFrameBytes(WalEntry.normal(1, 1, data));
        ByteBuffer region = ByteBuffer.allocateDirect(64 * frame);
        CRC32C crc = new CRC32C();
        io.quorumlab.wal.storage.NullStorage.NullFile file = new io.quorumlab.wal.storage.NullStorage.NullFile("x");
        FrameWriter w = new FrameWriter(1 << 20);
        w.begin(file, 0, 0, 1, 1);
        List<WalEntry> entries = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            entries.add(WalEntry.normal(1, i + 1, data));
        }
        long sink = 0;
        for (int round = 0; round < 3; round++) {
            int iters = 200_000;
            long t0 = System.nanoTime();
            for (int it = 0; it < iters; it++) {
                for (int i = 0; i < 64; i++) {
                    crc.reset();
                    region.limit((i + 1) * frame - 7);
                    region.position(i * frame);
                    crc.update(region);
                    sink += crc.getValue();
                }
            }
            long t1 = System.nanoTime();
            for (int it = 0; it < iters; it++) {
                for (int i = 0; i < 64; i++) {
                    w.writeEntry(entries.get(i));
                }
                w.flush();
            }
            long t2 = System.nanoTime();
            System.out.printf("encoding split (warm, per 64-record batch): crc32c alone %.2f us, FrameWriter"
                    + " encode+crc+flush to a null file %.2f us%n", (t1 - t0) / 1e3 / iters, (t2 - t1) / 1e3 / iters);
        }
        if (sink == 42) {
            System.out.println();
        }
    }

}
