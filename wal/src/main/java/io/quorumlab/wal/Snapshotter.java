package io.quorumlab.wal;

import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raft snapshot files, named {@code %016x-%016x.snap} (term, index) like etcd's, each one
 * CRC-protected and written atomically (temp file, fsync, rename, directory fsync).
 *
 * <pre>
 * file = magic "QLSNAP01" | u64 term | u64 index | u64 dataLength | u32 crc32c | u32 0 | data
 * crc  = CRC32C(term | index | dataLength | data)
 * </pre>
 * The data is opaque here; the server stores raft's snapshot metadata and the state machine in it.
 */
public final class Snapshotter {

    private static final Logger LOG = LoggerFactory.getLogger(Snapshotter.class);
    private static final byte[] MAGIC = "QLSNAP01".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 8 + 8 + 8 + 8 + 4 + 4;
    static final String SUFFIX = ".snap";

    /** A snapshot read back from disk. */
    public record SnapshotFile(long term, long index, byte[] data) {
        public SnapshotMarker marker() {
            return new SnapshotMarker(index, term);
        }
    }

    private final WalStorage storage;

    public Snapshotter(WalStorage storage) {
        this.storage = storage;
    }

    public static String fileName(long term, long index) {
        return String.format(Locale.ROOT, "%016x-%016x%s", term, index, SUFFIX);
    }

    public void save(long term, long index, byte[] data) throws IOException {
        String name = fileName(term, index);
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putLong(term).putLong(index).putLong(data.length).putInt(crc(term, index, data)).putInt(0);
        header.flip();
        writeDurably(name, header, ByteBuffer.wrap(data));
        LOG.info("saved snapshot file={} term={} index={} bytes={}", name, term, index, data.length);
    }

    /** Temp file, fsync, rename, directory fsync: after a crash the file is whole or absent. */
    private void writeDurably(String name, ByteBuffer... parts) throws IOException {
        String tmp = name + WalFormat.TMP_SUFFIX;
        storage.delete(tmp);
        try (WalFile f = storage.create(tmp)) {
            long pos = 0;
            for (ByteBuffer b : parts) {
                int n = b.remaining();
                f.write(b, pos);
                pos += n;
            }
            f.force();
        }
        storage.rename(tmp, name);
        storage.fsyncDir();
    }

    // ---- received backend copies (etcd's <index>.snap.db) ------------------------------------

    static final String DB_SUFFIX = ".snap.db";

    public static String dbFileName(long index) {
        return String.format(Locale.ROOT, "%016x%s", index, DB_SUFFIX);
    }

    /**
     * Saves a follower's received backend copy durably, before the snapshot's WAL marker: a restart whose
     * backend is behind the snapshot restores from it.
     */
    public void saveDb(long index, byte[] data) throws IOException {
        writeDurably(dbFileName(index), ByteBuffer.wrap(data));
    }

    /** The backend copy received with the snapshot at {@code index}, if it was saved. */
    public Optional<byte[]> loadDb(long index) throws IOException {
        String name = dbFileName(index);
        if (!storage.exists(name)) {
            return Optional.empty();
        }
        try (WalFile f = storage.open(name)) {
            return Optional.of(f.readAll());
        }
    }

    /** Deletes backend copies (and their temp files) up to {@code index}; a leftover is harmless, so no fsync. */
    public void removeDbs(long index) throws IOException {
        for (String n : storage.list()) {
            if (!n.endsWith(DB_SUFFIX) && !n.endsWith(DB_SUFFIX + WalFormat.TMP_SUFFIX)) {
                continue;
            }
            try {
                if (Long.parseUnsignedLong(n.substring(0, 16), 16) <= index) {
                    storage.delete(n);
                }
            } catch (RuntimeException e) {
                // not one of ours
            }
        }
    }

    /** Snapshot file names, newest (highest term, then index) first. */
    public List<String> list() throws IOException {
        List<String> out = new ArrayList<>();
        for (String n : storage.list()) {
            if (parse(n) != null) {
                out.add(n);
            }
        }
        out.sort(Comparator.comparing((String n) -> parse(n)[0]).thenComparing(n -> parse(n)[1]).reversed());
        return out;
    }

    /** Reads one snapshot file, verifying its name, header and checksum. */
    public SnapshotFile read(String name) throws IOException {
        long[] ti = parse(name);
        if (ti == null) {
            throw new WalException("not a snapshot file name: " + name);
        }
        byte[] bytes;
        try (WalFile f = storage.open(name)) {
            bytes = f.readAll();
        }
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < HEADER_BYTES) {
            throw new WalException("snapshot " + name + " truncated: " + bytes.length + " bytes");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new WalException("snapshot " + name + " has a bad magic number");
            }
        }
        long term = bb.getLong(8);
        long index = bb.getLong(16);
        long len = bb.getLong(24);
        int want = bb.getInt(32);
        if (term != ti[0] || index != ti[1]) {
            throw new WalException("snapshot " + name + " holds term=" + term + " index=" + index);
        }
        if (len < 0 || len != bytes.length - HEADER_BYTES) {
            throw new WalException("snapshot " + name + " length mismatch: header says " + len + ", file has "
                    + (bytes.length - HEADER_BYTES));
        }
        byte[] data = java.util.Arrays.copyOfRange(bytes, HEADER_BYTES, bytes.length);
        if (crc(term, index, data) != want) {
            throw new WalException("snapshot " + name + " crc mismatch");
        }
        return new SnapshotFile(term, index, data);
    }

    /** The newest readable snapshot; unreadable ones are renamed {@code .broken} and skipped. */
    public Optional<SnapshotFile> loadNewest() throws IOException {
        return loadNewestAvailable(null);
    }

    /**
     * The newest readable snapshot whose (index, term) is among {@code walMarkers} (see
     * {@link Wal#validSnapshotMarkers}), so raft never restarts from a snapshot the WAL cannot
     * continue. Null {@code walMarkers} accepts any.
     */
    public Optional<SnapshotFile> loadNewestAvailable(List<SnapshotMarker> walMarkers) throws IOException {
        for (String name : list()) {
            long[] ti = parse(name);
            if (walMarkers != null && !walMarkers.contains(new SnapshotMarker(ti[1], ti[0]))) {
                continue;
            }
            try {
                return Optional.of(read(name));
            } catch (WalException e) {
                String broken = name + WalFormat.BROKEN_SUFFIX;
                storage.rename(name, broken);
                storage.fsyncDir();
                LOG.warn("snapshot unreadable, moved aside file={} to={} error=\"{}\"", name, broken, e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Deletes the oldest snapshots beyond {@code maxSnapshots} (etcd --max-snapshots; 0 keeps all). */
    public int purge(int maxSnapshots) throws IOException {
        if (maxSnapshots < 0) {
            throw new IllegalArgumentException("maxSnapshots < 0");
        }
        for (String n : storage.list()) {
            if (n.endsWith(SUFFIX + WalFormat.TMP_SUFFIX)) {
                storage.delete(n); // leftover from a crash during save
            }
        }
        if (maxSnapshots == 0) {
            return 0;
        }
        List<String> names = list();
        int deleted = 0;
        for (int i = maxSnapshots; i < names.size(); i++) {
            storage.delete(names.get(i));
            deleted++;
        }
        if (deleted > 0) {
            storage.fsyncDir();
        }
        return deleted;
    }

    private static int crc(long term, long index, byte[] data) {
        CRC32C c = new CRC32C();
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(term).putLong(index).putLong(data.length).flip();
        c.update(b);
        c.update(data, 0, data.length);
        return (int) c.getValue();
    }

    /** {term, index} from a snapshot file name, or null. */
    private static long[] parse(String name) {
        if (name.length() != 33 + SUFFIX.length() || !name.endsWith(SUFFIX) || name.charAt(16) != '-') {
            return null;
        }
        try {
            return new long[] {Long.parseUnsignedLong(name.substring(0, 16), 16),
                    Long.parseUnsignedLong(name.substring(17, 33), 16)};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
