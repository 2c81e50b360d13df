package io.quorumlab.wal;

import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * How close any WAL in this format can come to the bare {@code write + fdatasync} loop: the floor
 * set by the framing the format mandates, measured on the real disk without the WAL around it.
 * Not a test (nothing asserted, nothing timed in CI): a diagnostic main.
 *
 * <pre>
 * java -cp wal/target/classes:wal/target/test-classes:&lt;slf4j-api&gt; io.quorumlab.wal.FramingFloor DIR [seconds=10] [records=64] [modes=bare,framed]
 * </pre>
 * One thread alternates 100 ms slices of each mode, after 2 s of warm-up, on circular zero-filled,
 * fsync'd 64 MB files in {@code DIR}, every mode writing the same bytes per fdatasync (the framed
 * size of {@code records} 256 B entries):
 * <ul>
 *   <li>{@code bare}: write of a prefilled buffer + fdatasync (WalBenchmark's "zeroed" baseline);</li>
 *   <li>{@code framed}: each batch first frames {@code records} new entries through the WAL's own
 *       {@link FrameWriter} (headers, the copy into its buffer, CRC32C chained record to record),
 *       whose flush is the write; then fdatasync. No requests, no callbacks, no validation: the
 *       format's mandated work and nothing else;</li>
 *   <li>{@code mmap}: the same bytes copied into a shared mapping of the file, then fdatasync
 *       ({@code force(false)} on the channel): whether mapping the segment would save the write
 *       call.</li>
 * </ul>
 * Prints per mode fsyncs/s, cycle, fdatasync mean, the framing time and the thread's CPU per batch,
 * and each mode's rate relative to {@code bare}.
 */
public final class FramingFloor {

    static final long FILE_BYTES = 64L << 20;
    static final int RECORD_BYTES = 256;
    static final long SLICE_NANOS = 100_000_000L;

    /** One way of putting a batch's bytes on the disk. */
    abstract static class Mode implements AutoCloseable {
        final String name;
        long batches;
        long nanos;
        long fsyncNanos;
        long frameNanos;
        long cpuNanos;

        Mode(String name) {
            this.name = name;
        }

        /** Writes one batch and fdatasyncs it; returns nanoseconds spent framing (0 if none). */
        abstract long batch() throws IOException;

        /** fdatasync, timed into {@link #fsyncNanos}. */
        void force(FileChannel ch) throws IOException {
            long f0 = System.nanoTime();
            ch.force(false);
            fsyncNanos += System.nanoTime() - f0;
        }

        void reset() {
            batches = 0;
            nanos = 0;
            fsyncNanos = 0;
            frameNanos = 0;
            cpuNanos = 0;
        }

        @Override
        public void close() throws IOException {
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: FramingFloor DIR [seconds=10] [records=64] [modes=bare,framed]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        int records = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        String[] names = (args.length > 3 ? args[3] : "bare,framed").split(",");
        Files.createDirectories(dir);
        int frame = WalFormat.frameBytes(WalFormat.ENTRY_FIXED_BYTES + RECORD_BYTES);
        int bytes = frame * records;
        List<Mode> modes = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try {
            for (String n : names) {
                Path f = Files.createTempFile(dir, "floor-" + n.trim() + "-", ".dat");
                files.add(f);
                zeroFill(f);
                modes.add(switch (n.trim()) {
                    case "bare" -> new Bare(f, bytes);
                    case "framed" -> new Framed(dir, f, records);
                    case "mmap" -> new Mapped(f, bytes);
                    default -> throw new IllegalArgumentException("unknown mode " + n);
                });
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long warmEnd = System.nanoTime() + 2_000_000_000L;
            long end = warmEnd + (long) (seconds * 1e9);
            boolean counting = false;
            while (System.nanoTime() < end) {
                for (Mode m : modes) {
                    long s0 = System.nanoTime();
                    if (!counting && s0 >= warmEnd) {
                        counting = true;
                        modes.forEach(Mode::reset);
                    }
                    long c0 = mx.getCurrentThreadCpuTime();
                    long n = 0;
                    long fr = 0;
                    long fs = 0;
                    long now;
                    do {
                        fr += m.batch();
                        now = System.nanoTime();
                        n++;
                    } while (now - s0 < SLICE_NANOS);
                    m.batches += n;
                    m.nanos += now - s0;
                    m.frameNanos += fr;
                    m.cpuNanos += mx.getCurrentThreadCpuTime() - c0;
                }
            }
            System.out.printf("framing floor: %d records of %d B per batch = %d B per fdatasync, %s, %.0f s after 2 s warm-up%n",
                    records, RECORD_BYTES, bytes, dir, seconds);
            double bareRate = 0;
            for (Mode m : modes) {
                double rate = m.batches * 1e9 / m.nanos;
                if (m.name.equals("bare")) {
                    bareRate = rate;
                }
                System.out.printf("  %-6s %8.0f fdatasyncs/s  cycle %6.1f us  fdatasync mean %6.1f us  framing %5.2f us  cpu %5.1f us per batch%n",
                        m.name, rate, m.nanos / 1e3 / m.batches, m.fsyncNanos / 1e3 / m.batches,
                        m.frameNanos / 1e3 / m.batches, m.cpuNanos / 1e3 / m.batches);
            }
            if (bareRate > 0) {
                for (Mode m : modes) {
                    if (!m.name.equals("bare")) {
                        System.out.printf("  %s/bare = %.1f %%%n", m.name, 100.0 * (m.batches * 1e9 / m.nanos) / bareRate);
                    }
                }
            }
        } finally {
            for (Mode m : modes) {
                m.close();
            }
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
        }
    }

    static void zeroFill(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
            for (long q = 0; q < FILE_BYTES; q += zeros.capacity()) {
                zeros.clear();
                while (zeros.hasRemaining()) {
                    ch.write(zeros, q + zeros.position());
                }
            }
            ch.force(true);
        }
    }

    static final class Bare extends Mode {
        final FileChannel ch;
        final ByteBuffer batch;
        long pos;

        Bare(Path f, int bytes) throws IOException {
            super("bare");
            ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
            byte[] b = new byte[bytes];
            new SplittableRandom(bytes).nextBytes(b);
            batch = ByteBuffer.allocateDirect(bytes);
            batch.put(b);
        }

        @Override
        long batch() throws IOException {
            if (pos + batch.capacity() > FILE_BYTES) {
                pos = 0;
            }
            batch.clear();
            while (batch.hasRemaining()) {
                pos += ch.write(batch, pos);
            }
            force(ch);
            return 0;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    /** The WAL's FrameWriter on the same kind of file; new entries every batch (data shared, as WalBenchmark's). */
    static final class Framed extends Mode {
        final WalFile file;
        final FrameWriter writer = new FrameWriter(1 << 20);
        final byte[] template = new byte[RECORD_BYTES];
        final int records;
        final int frame;
        long index;

        Framed(Path dir, Path f, int records) throws IOException {
            super("framed");
            this.records = records;
            file = new FileChannelStorage(dir).open(f.getFileName().toString());
            new SplittableRandom(records).nextBytes(template);
            frame = FrameWriter.entryFrameBytes(WalEntry.normal(1, 1, template));
            writer.begin(file, 0, 0, 1, 1);
        }

        @Override
        long batch() throws IOException {
            long t0 = System.nanoTime();
            if (writer.position() + (long) records * frame > FILE_BYTES) {
                writer.begin(file, 0, writer.chainCrc(), 1, 1);
            }
            for (int i = 0; i < records; i++) {
                writer.writeEntry(WalEntry.normal(1, ++index, template)); // a new entry, shared data: as WalBenchmark's chains
            }
            long t1 = System.nanoTime();
            writer.flush();
            long f0 = System.nanoTime();
            file.force();
            fsyncNanos += System.nanoTime() - f0;
            return t1 - t0;
        }

        @Override
        public void close() throws IOException {
            file.close();
        }
    }

    static final class Mapped extends Mode {
        final FileChannel ch;
        final MappedByteBuffer map;
        final byte[] batch;
        int pos;

        Mapped(Path f, int bytes) throws IOException {
            super("mmap");
            ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
            map = ch.map(FileChannel.MapMode.READ_WRITE, 0, FILE_BYTES);
            batch = new byte[bytes];
            new SplittableRandom(bytes).nextBytes(batch);
        }

        @Override
        long batch() throws IOException {
            if (pos + batch.length > FILE_BYTES) {
                pos = 0;
            }
            map.put(pos, batch, 0, batch.length);
            pos += batch.length;
            force(ch);
            return 0;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
