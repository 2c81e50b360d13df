package io.quorumlab.wal;

import static io.quorumlab.wal.WalTesting.*;
import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.wal.storage.MemStorage;
import io.quorumlab.wal.storage.WalFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of the segment decoder and of verify/open on fuzzed directories: random bytes
 * and mutated valid segments must never throw anything but the WAL's own errors, never hang, and
 * every result must be internally consistent. A failure prints the seed and the command that
 * replays exactly that case.
 */
class DecoderFuzzTest {

    private static final long ITERATIONS = Long.getLong("wal.fuzz.iterations", 20000);

    @Test
    void randomAndMutatedSegmentsNeverCrashOrHang() {
        String fixed = System.getProperty("wal.fuzz.seed");
        long seed = fixed != null ? Long.parseLong(fixed) : new SplittableRandom().nextLong();
        String replay = "mvn -pl wal test -Dtest=DecoderFuzzTest -Dwal.fuzz.seed=" + seed
                + " -Dwal.fuzz.iterations=" + ITERATIONS;
        System.out.println("DecoderFuzzTest seed=" + seed + " (replay: " + replay + ")");
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> fuzz(seed));
        } catch (Throwable t) {
            throw new AssertionError("decoder fuzz failed with seed " + seed + "; replay: " + replay, t);
        }
    }

    private static void fuzz(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<byte[]> corpus = validSegments();
        List<Long> seqs = corpusSeqs;
        SegmentDecoder dec = new SegmentDecoder();
        for (long it = 0; it < ITERATIONS; it++) {
            int pick = rnd.nextInt(corpus.size());
            byte[] input = switch (rnd.nextInt(4)) {
                case 0 -> randomBytes(rnd);
                default -> mutate(corpus.get(pick), rnd);
            };
            // Mostly the segment's own sequence (so version-1 header checks pass), sometimes another.
            long seq = rnd.nextInt(4) == 0 ? rnd.nextInt(8) : seqs.get(pick);
            boolean last = rnd.nextBoolean();
            long prev = rnd.nextInt(3) == 0 ? SegmentDecoder.UNKNOWN_CRC : rnd.nextInt() & 0xFFFFFFFFL;
            long next = rnd.nextInt(3) == 0 ? SegmentDecoder.UNKNOWN_CRC : rnd.nextInt() & 0xFFFFFFFFL;
            int[] seen = {0};
            long[] lastOffset = {-1};
            SegmentDecoder.Result r = dec.scan(input, seq, prev, next, last, (rec, off) -> {
                assertNotNull(rec);
                assertTrue(off > lastOffset[0] && off % WalFormat.ALIGN == 0, "offsets increase, aligned");
                lastOffset[0] = off;
                seen[0]++;
            });
            String ctx = "iteration " + it + " length " + input.length + " result " + r;
            assertNotNull(r.outcome(), ctx);
            assertEquals(seen[0], r.records(), ctx);
            assertTrue(r.validEnd() >= 0 && r.validEnd() <= input.length, ctx);
            assertEquals(0, r.validEnd() % WalFormat.ALIGN, ctx);
            if (r.outcome() == SegmentDecoder.Outcome.TORN) {
                assertTrue(last, "torn tails only in the last segment: " + ctx);
            }
            if (r.outcome() != SegmentDecoder.Outcome.CLEAN) {
                assertNotNull(r.reason(), ctx);
                assertTrue(r.damagedEnd() >= r.validEnd() && r.damagedEnd() <= input.length, ctx);
            }
            if (it % 50 == 0) {
                fuzzDirectory(input, rnd, ctx);
            }
        }
    }

    /** Open and verify must fail only with the WAL's own checked errors on any segment content. */
    private static void fuzzDirectory(byte[] segment, SplittableRandom rnd, String ctx) throws IOException {
        MemStorage s = new MemStorage();
        String name = new WalFormat.SegmentName(0, 0).fileName();
        try (WalFile f = s.create(name)) {
            f.write(ByteBuffer.wrap(segment), 0);
            f.force();
        }
        try {
            WalVerifier.verify(s);
            Wal.Opened o = Wal.open(s, small(4096), rnd.nextBoolean() ? null : SnapshotMarker.ZERO);
            o.wal().close();
        } catch (WalException expected) {
            // refusing is fine; crashing is not
        } catch (RuntimeException e) {
            throw new AssertionError("open/verify threw " + e + " on " + ctx, e);
        }
    }

    private static byte[] randomBytes(SplittableRandom rnd) {
        byte[] b = new byte[rnd.nextInt(2048)];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    /** Bit flips, byte overwrites, truncation, extension and spliced copies of a valid segment. */
    private static byte[] mutate(byte[] valid, SplittableRandom rnd) {
        byte[] b = valid.clone();
        int ops = 1 + rnd.nextInt(4);
        for (int i = 0; i < ops && b.length > 0; i++) {
            switch (rnd.nextInt(5)) {
                case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                case 2 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1));
                case 3 -> b = java.util.Arrays.copyOf(b, b.length + rnd.nextInt(64));
                default -> {
                    int from = rnd.nextInt(b.length);
                    int to = rnd.nextInt(b.length);
                    int len = rnd.nextInt(b.length - Math.max(from, to) + 1);
                    System.arraycopy(b, from, b, to, len);
                }
            }
        }
        // A header claiming a huge length must be rejected without allocating it.
        if (rnd.nextInt(10) == 0 && b.length >= 4) {
            int at = rnd.nextInt(b.length / 8 + 1) * 8;
            if (at + 4 <= b.length) {
                ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(at, rnd.nextInt());
            }
        }
        return b;
    }

    private static final List<Long> corpusSeqs = new ArrayList<>();

    /**
     * Version-1 segments of a fresh log (trimmed after their last record) and recycled ones, whole:
     * their tails hold the frames of the files' previous lives.
     */
    private static List<byte[]> validSegments() throws IOException {
        corpusSeqs.clear();
        List<byte[]> out = new ArrayList<>();
        MemStorage r = new MemStorage();
        try (Wal wal = Wal.create(r, recycling(4096), META)) {
            for (int i = 1; i <= 120; i++) {
                wal.save(List.of(entry(1, i, i * 11 % 300)), new HardState(1, 2, i - 1));
                if (i % 20 == 0) {
                    wal.saveSnapshot(new SnapshotMarker(i, 1));
                    wal.releaseTo(i);
                }
            }
            for (WalFormat.SegmentName n : SegmentFiles.list(r)) {
                byte[] full = SegmentFiles.read(r, n.fileName());
                if (full[5] > WalFormat.TAG_FIRST) {
                    out.add(full);
                    corpusSeqs.add(n.seq());
                }
            }
        }
        assertFalse(out.isEmpty(), "the corpus holds recycled segments");
        MemStorage s = new MemStorage();
        try (Wal wal = Wal.create(s, small(4096), META)) {
            for (int i = 1; i <= 40; i++) {
                wal.save(List.of(entry(1, i, i * 7 % 150)), new HardState(1, 2, i - 1));
                if (i % 15 == 0) {
                    wal.saveSnapshot(new SnapshotMarker(i - 1, 1));
                }
            }
        }
        for (WalFormat.SegmentName n : SegmentFiles.list(s)) {
            byte[] full = SegmentFiles.read(s, n.fileName());
            out.add(java.util.Arrays.copyOf(full, SegmentDecoder.lastNonZeroEnd(full, 0) + 16));
            corpusSeqs.add(n.seq());
        }
        return out;
    }
}
