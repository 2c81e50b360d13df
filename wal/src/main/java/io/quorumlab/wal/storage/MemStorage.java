package io.quorumlab.wal.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * An in-memory directory that models what a disk keeps across a power loss.
 *
 * <p>Each file has the bytes readers see now and the bytes that are durable (as of its last
 * fsync); the directory likewise has current and durable name tables (as of the last directory
 * fsync). {@link #crash} rolls both back according to a {@link CrashMode}. Latency and injected
 * errors come from the {@link IoHook}, never from sleeping here, so the simulator can drive it
 * with virtual time. Thread-safe; the hook runs outside the storage's lock.
 */
public final class MemStorage implements WalStorage {

    private final String label;
    private volatile IoHook hook;
    private volatile int directBlockBytes;
    private final Map<String, Node> current = new TreeMap<>();
    private Map<String, Node> durable = new TreeMap<>();
    /** Bumped by a crash; handles opened before it fail loudly instead of writing into the past. */
    private long generation;
    private long forces;
    private long dirFsyncs;
    private long bytesWritten;

    public MemStorage() {
        this("mem", IoHook.NONE);
    }

    public MemStorage(String label, IoHook hook) {
        this.label = label;
        this.hook = hook;
    }

    public void setHook(IoHook hook) {
        this.hook = hook;
    }

    /**
     * Makes files offer direct writes of {@code blockBytes} blocks ({@link WalFile#directAlignment()};
     * 0, the default, offers none), so the WAL's block-aligned write path runs under this disk's
     * crash model. A direct write that breaks the alignment rules fails as the JDK's would.
     */
    public void setDirectBlockBytes(int blockBytes) {
        if (blockBytes < 0 || (blockBytes > 0 && Integer.bitCount(blockBytes) != 1)) {
            throw new IllegalArgumentException("block size must be 0 or a power of two: " + blockBytes);
        }
        this.directBlockBytes = blockBytes;
    }

    // ---- WalStorage ------------------------------------------------------------------------

    @Override
    public synchronized WalFile create(String name) throws IOException {
        checkName(name);
        if (current.containsKey(name)) {
            throw new FileAlreadyExistsException(name);
        }
        Node n = new Node();
        n.name = name;
        current.put(name, n);
        return new Handle(name, n, generation);
    }

    @Override
    public synchronized WalFile open(String name) throws IOException {
        Node n = current.get(name);
        if (n == null) {
            throw new NoSuchFileException(name);
        }
        return new Handle(name, n, generation);
    }

    @Override
    public synchronized boolean exists(String name) {
        return current.containsKey(name);
    }

    @Override
    public synchronized List<String> list() {
        return new ArrayList<>(current.keySet());
    }

    @Override
    public synchronized void delete(String name) {
        current.remove(name);
    }

    @Override
    public synchronized void rename(String from, String to) throws IOException {
        Node n = current.remove(from);
        if (n == null) {
            throw new NoSuchFileException(from);
        }
        current.put(to, n);
        n.name = to;
    }

    @Override
    public void fsyncDir() throws IOException {
        hook.beforeFsyncDir();
        synchronized (this) {
            durable = new TreeMap<>(current);
            dirFsyncs++;
        }
    }

    @Override
    public String describe() {
        return label;
    }

    // ---- fault injection --------------------------------------------------------------------

    /**
     * Simulates a power loss: the directory reverts to its last fsync'd name table and every file
     * to what {@code mode} says survives. {@code random} picks the torn prefix length.
     */
    public synchronized void crash(CrashMode mode, RandomGenerator random) {
        generation++;
        if (mode == CrashMode.KEEP_ALL) {
            durable = new TreeMap<>(current);
        }
        List<Node> all = new ArrayList<>(current.values());
        for (Node n : durable.values()) {
            if (!all.contains(n)) {
                all.add(n);
            }
        }
        for (Node n : all) {
            n.crash(mode, random);
        }
        current.clear();
        current.putAll(durable);
        current.forEach((name, node) -> node.name = name);
    }

    /** Flips one bit in both the visible and the durable content, as a failing disk would. */
    public synchronized void flipBit(String name, long offset, int bit) throws IOException {
        Node n = current.get(name);
        if (n == null) {
            throw new NoSuchFileException(name);
        }
        if (offset < 0 || offset >= n.size) {
            throw new IllegalArgumentException("offset " + offset + " outside " + name + " size " + n.size);
        }
        n.cur[(int) offset] ^= (byte) (1 << (bit & 7));
        if (offset < n.durSize) {
            n.dur[(int) offset] ^= (byte) (1 << (bit & 7));
        }
    }

    /** A deep copy of the durable state: what a fresh process would find after a crash now. */
    public synchronized MemStorage copyDurable() {
        MemStorage copy = new MemStorage(label + "-copy", IoHook.NONE);
        for (Map.Entry<String, Node> e : durable.entrySet()) {
            Node src = e.getValue();
            Node n = new Node();
            n.name = e.getKey();
            n.cur = Arrays.copyOf(src.dur, Math.max(src.durSize, 16));
            n.size = src.durSize;
            n.dur = Arrays.copyOf(src.dur, Math.max(src.durSize, 16));
            n.durSize = src.durSize;
            copy.current.put(e.getKey(), n);
            copy.durable.put(e.getKey(), n);
        }
        return copy;
    }

    public synchronized long forceCount() {
        return forces;
    }

    public synchronized long dirFsyncCount() {
        return dirFsyncs;
    }

    public synchronized long bytesWritten() {
        return bytesWritten;
    }

    private static void checkName(String name) {
        if (name.isEmpty() || name.contains("/")) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
    }

    // ---- file content model -----------------------------------------------------------------

    /** One inode. Guarded by the owning storage's monitor (except reads of {@link #name}). */
    private static final class Node {
        /**
         * Current name, so hooks see a renamed segment under its new name. Written under the
         * storage's monitor, read without it: every write and fsync names its file to the hook.
         */
        volatile String name;
        byte[] cur = new byte[64];
        int size;
        byte[] dur = new byte[64];
        int durSize;
        /** Byte range changed since the last fsync; [lo, hi). */
        int dirtyLo = Integer.MAX_VALUE;
        int dirtyHi;
        /** The last unsynced write and what it overwrote, so a crash can tear it. */
        int lastPos = -1;
        int lastLen;
        byte[] lastOld;
        int lastOldSize;

        void write(ByteBuffer src, int pos) {
            int len = src.remaining();
            int end = pos + len;
            ensure(end);
            lastPos = pos;
            lastLen = len;
            lastOldSize = size;
            lastOld = Arrays.copyOfRange(cur, pos, end);
            src.get(cur, pos, len);
            size = Math.max(size, end);
            dirty(pos, end);
        }

        void truncate(int newSize) {
            if (newSize < size) {
                Arrays.fill(cur, newSize, size, (byte) 0);
                dirty(newSize, size);
            }
            size = newSize;
            lastPos = -1; // a truncate is a metadata change: not torn, simply lost if unsynced
        }

        void force() {
            if (dirtyHi > dirtyLo || durSize != size) {
                if (dur.length < cur.length) {
                    dur = Arrays.copyOf(dur, cur.length);
                }
                if (dirtyHi > dirtyLo) {
                    System.arraycopy(cur, dirtyLo, dur, dirtyLo, dirtyHi - dirtyLo);
                }
                if (size < durSize) {
                    Arrays.fill(dur, size, durSize, (byte) 0);
                }
                durSize = size;
            }
            dirtyLo = Integer.MAX_VALUE;
            dirtyHi = 0;
            lastPos = -1;
            lastOld = null;
        }

        void crash(CrashMode mode, RandomGenerator random) {
            switch (mode) {
                case KEEP_ALL -> force();
                case LOSE_UNSYNCED -> revertToDurable();
                case TEAR_LAST_WRITE -> {
                    if (lastPos >= 0) {
                        int keep = random.nextInt(lastLen + 1);
                        int from = lastPos + keep;
                        int to = lastPos + lastLen;
                        System.arraycopy(lastOld, keep, cur, from, to - from);
                        int newSize = Math.max(lastOldSize, from);
                        if (newSize < size) {
                            Arrays.fill(cur, newSize, size, (byte) 0);
                        }
                        size = newSize;
                    }
                    force();
                }
            }
        }

        private void revertToDurable() {
            if (cur.length < dur.length) {
                cur = Arrays.copyOf(cur, dur.length);
            }
            if (dirtyHi > dirtyLo) {
                int hi = Math.min(dirtyHi, dur.length);
                if (hi > dirtyLo) {
                    System.arraycopy(dur, dirtyLo, cur, dirtyLo, hi - dirtyLo);
                }
                if (dirtyHi > hi) {
                    Arrays.fill(cur, Math.max(dirtyLo, hi), dirtyHi, (byte) 0);
                }
            }
            if (size > durSize) {
                Arrays.fill(cur, durSize, size, (byte) 0);
            }
            size = durSize;
            dirtyLo = Integer.MAX_VALUE;
            dirtyHi = 0;
            lastPos = -1;
            lastOld = null;
        }

        private void dirty(int lo, int hi) {
            dirtyLo = Math.min(dirtyLo, lo);
            dirtyHi = Math.max(dirtyHi, hi);
        }

        private void ensure(int capacity) {
            if (capacity > cur.length) {
                cur = Arrays.copyOf(cur, Math.max(capacity, cur.length * 2));
            }
        }
    }

    private final class Handle implements WalFile {
        private final String name;
        private final Node node;
        private final long openedIn;
        private boolean closed;

        Handle(String name, Node node, long generation) {
            this.name = name;
            this.node = node;
            this.openedIn = generation;
        }

        private void check() throws IOException {
            if (closed) {
                throw new IOException("file closed: " + name);
            }
            if (openedIn != generation) {
                throw new IOException("file handle from before a simulated crash: " + name);
            }
        }

        @Override
        public String name() {
            String current = node.name;
            return current != null ? current : name;
        }

        @Override
        public long size() throws IOException {
            synchronized (MemStorage.this) {
                check();
                return node.size;
            }
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            synchronized (MemStorage.this) {
                check();
                if (position >= node.size) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), node.size - position);
                dst.put(node.cur, (int) position, n);
                return n;
            }
        }

        @Override
        public void write(ByteBuffer src, long position) throws IOException {
            if (position + src.remaining() > Integer.MAX_VALUE - 64) {
                throw new IOException("MemStorage file too large: " + name);
            }
            hook.beforeWrite(name(), position, src);
            synchronized (MemStorage.this) {
                check();
                bytesWritten += src.remaining();
                node.write(src, (int) position);
            }
        }

        @Override
        public int directAlignment() {
            return directBlockBytes;
        }

        @Override
        public void writeDirect(ByteBuffer src, long position) throws IOException {
            int block = directBlockBytes;
            if (block == 0) {
                throw new UnsupportedOperationException("no direct writes on " + name);
            }
            if (!src.isDirect() || position % block != 0 || src.remaining() % block != 0
                    || src.position() % block != 0) {
                throw new IOException("unaligned direct write: " + name + " position=" + position + " length="
                        + src.remaining() + " buffer-offset=" + src.position() + " direct=" + src.isDirect());
            }
            write(src, position);
        }

        @Override
        public void force() throws IOException {
            hook.beforeForce(name());
            synchronized (MemStorage.this) {
                check();
                forces++;
                node.force();
            }
        }

        @Override
        public void truncate(long size) throws IOException {
            synchronized (MemStorage.this) {
                check();
                node.truncate((int) Math.min(size, node.size));
            }
        }

        @Override
        public void preallocate(long size) throws IOException {
            synchronized (MemStorage.this) {
                check();
                if (size > node.size) {
                    node.ensure((int) size);
                    // Bytes past the size are zero in both copies, except where an unsynced
                    // truncate left older durable bytes: only those differ from the new zeros.
                    if (node.durSize > node.size) node.dirty(node.size, (int) Math.min(size, node.durSize));
                    node.size = (int) size;
                    node.lastPos = -1;
                }
            }
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        public String toString() {
            return label + "/" + name;
        }
    }
}
