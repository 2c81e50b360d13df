package io.quorumlab.wal;

import io.quorumlab.wal.WalFormat.SegmentName;
import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Directory-level helpers shared by open, verify and repair. */
final class SegmentFiles {

    private SegmentFiles() {
    }

    /** Segment names sorted by sequence; checks the sequence has no holes. */
    static List<SegmentName> list(WalStorage storage) throws IOException {
        List<SegmentName> segs = new ArrayList<>();
        for (String n : storage.list()) {
            SegmentName s = SegmentName.parse(n);
            if (s != null) {
                segs.add(s);
            }
        }
        segs.sort(null);
        for (int i = 1; i < segs.size(); i++) {
            SegmentName a = segs.get(i - 1);
            SegmentName b = segs.get(i);
            if (b.seq() != a.seq() + 1) {
                throw new WalCorruptException(storage.describe(), b.fileName(), 0,
                        "segment sequence jumps from " + a.seq() + " to " + b.seq() + " (missing segment)");
            }
            if (b.firstIndex() < a.firstIndex()) {
                throw new WalCorruptException(storage.describe(), b.fileName(), 0,
                        "segment first index decreases: " + a.fileName() + " then " + b.fileName());
            }
        }
        return segs;
    }

    static List<String> tmpFiles(WalStorage storage) throws IOException {
        List<String> out = new ArrayList<>();
        for (String n : storage.list()) {
            if (n.endsWith(WalFormat.TMP_SUFFIX)) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * The chain value segment {@code segs[i + 1]} starts from (its intact crc record), or
     * {@link SegmentDecoder#UNKNOWN_CRC} for the last segment or a damaged record.
     */
    static long nextChain(WalStorage storage, List<SegmentName> segs, int i) throws IOException {
        if (i + 1 >= segs.size()) {
            return SegmentDecoder.UNKNOWN_CRC;
        }
        SegmentName next = segs.get(i + 1);
        ByteBuffer head = ByteBuffer.allocate(SegmentDecoder.CRC_RECORD_BYTES);
        try (WalFile f = storage.open(next.fileName())) {
            while (head.hasRemaining() && f.read(head, head.position()) > 0) {
                // read the record whole unless the file is shorter
            }
        }
        return SegmentDecoder.carriedCrc(java.util.Arrays.copyOf(head.array(), head.position()), next.seq());
    }

    static byte[] read(WalStorage storage, String name) throws IOException {
        try (WalFile f = storage.open(name)) {
            return f.readAll();
        }
    }

    /**
     * Moves {@code bytes[from, to)} of {@code name} into a new {@code .broken} file (never
     * overwriting an earlier one) so nothing an operator might need is destroyed.
     */
    static String saveBroken(WalStorage storage, String name, byte[] bytes, int from, int to) throws IOException {
        String broken = name + WalFormat.BROKEN_SUFFIX;
        for (int i = 1; storage.exists(broken); i++) {
            broken = name + WalFormat.BROKEN_SUFFIX + "." + i;
        }
        try (WalFile f = storage.create(broken)) {
            f.write(ByteBuffer.wrap(bytes, from, Math.max(0, to - from)), 0);
            f.force();
        }
        storage.fsyncDir();
        return broken;
    }

    /** Zero-fills {@code [from, to)} of a segment so the append-only zero-tail invariant holds. */
    static void zeroFill(WalStorage storage, String name, long from, long to) throws IOException {
        try (WalFile f = storage.open(name)) {
            long end = Math.min(to, f.size());
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(0, end - from)));
            long pos = from;
            while (pos < end) {
                zeros.clear();
                zeros.limit((int) Math.min(zeros.capacity(), end - pos));
                f.write(zeros, pos);
                pos += zeros.limit();
            }
            f.force();
        }
    }
}
