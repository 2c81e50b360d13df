package io.quorumlab.wal.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real disk: one directory, {@link FileChannel} files, {@code force(false)} as fdatasync.
 *
 * <p>With {@code directIo}, each file also offers writes that bypass the page cache
 * ({@code O_DIRECT}, {@link WalFile#writeDirect}); the WAL's encoder uses them for its appends.
 * Durability is unchanged: a direct write may still sit in the device's volatile cache, so the
 * WAL's fdatasync stays. A file system that refuses {@code O_DIRECT} (tmpfs, some FUSE) is
 * detected when a file first offers it (open, then one block rewritten with its own bytes), logged
 * once, and its files take buffered writes.
 */
public final class FileChannelStorage implements WalStorage {

    private static final Logger LOG = LoggerFactory.getLogger(FileChannelStorage.class);

    /** Zero-fill chunk for preallocation; Java has no fallocate, so we write real zeros once. */
    private static final int PREALLOCATE_CHUNK_BYTES = 1 << 20;

    private final Path dir;
    private final boolean directIo;
    /** Set when the file system refused direct I/O: no later file tries again. */
    private final AtomicBoolean directRefused = new AtomicBoolean();

    public FileChannelStorage(Path dir) throws IOException {
        this(dir, false);
    }

    /** {@code directIo}: offer page-cache-bypassing appends ({@link WalFile#directAlignment()}). */
    public FileChannelStorage(Path dir, boolean directIo) throws IOException {
        this.dir = dir;
        this.directIo = directIo;
        Files.createDirectories(dir);
    }

    public Path dir() {
        return dir;
    }

    @Override
    public WalFile create(String name) throws IOException {
        Path p = resolve(name);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        return new ChannelFile(name, p, ch);
    }

    @Override
    public WalFile open(String name) throws IOException {
        Path p = resolve(name);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new ChannelFile(name, p, ch);
    }

    @Override
    public boolean exists(String name) {
        return Files.exists(resolve(name));
    }

    @Override
    public List<String> list() throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
        }
        names.sort(null);
        return names;
    }

    @Override
    public void delete(String name) throws IOException {
        Files.deleteIfExists(resolve(name));
    }

    @Override
    public void rename(String from, String to) throws IOException {
        Files.move(resolve(from), resolve(to), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void fsyncDir() throws IOException {
        // Opening a directory for READ and forcing it is how the JDK exposes fsync(dirfd) on Linux.
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    @Override
    public String describe() {
        return dir.toString();
    }

    private Path resolve(String name) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..")) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
        return dir.resolve(name);
    }

    private final class ChannelFile implements WalFile {
        private final String name;
        private final Path path;
        private final FileChannel ch;
        /** The O_DIRECT handle, opened on the first {@link #directAlignment()}; null if none. */
        private FileChannel direct;
        private int alignment;
        private boolean directTried;

        ChannelFile(String name, Path path, FileChannel ch) {
            this.name = name;
            this.path = path;
            this.ch = ch;
        }

        @Override
        public int directAlignment() {
            if (!directIo || directRefused.get()) {
                return 0;
            }
            if (!directTried) {
                directTried = true;
                openDirect();
            }
            return direct == null ? 0 : alignment;
        }

        /**
         * Opens the O_DIRECT handle and proves it with one real write: the file's first block
         * rewritten with the bytes it holds (a no-op for its content), so a file system that opens
         * but refuses direct writes is found here, not on the append path.
         */
        private void openDirect() {
            FileChannel d = null;
            try {
                int block = (int) Files.getFileStore(path).getBlockSize();
                if (block <= 0 || Integer.bitCount(block) != 1) {
                    throw new IOException("unusable block size " + block);
                }
                d = FileChannel.open(path, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
                if (ch.size() >= block) {
                    ByteBuffer probe = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
                    probe.limit(block);
                    while (probe.hasRemaining()) {
                        if (ch.read(probe, probe.position()) < 0) {
                            throw new IOException("file shrank while probing");
                        }
                    }
                    probe.flip();
                    while (probe.hasRemaining()) {
                        d.write(probe, probe.position());
                    }
                }
                direct = d;
                alignment = block;
            } catch (IOException | UnsupportedOperationException e) {
                if (d != null) {
                    try {
                        d.close();
                    } catch (IOException ignored) {
                        // the probe already failed; buffered writes go on
                    }
                }
                if (directRefused.compareAndSet(false, true)) {
                    LOG.warn("wal direct I/O unavailable, using buffered writes dir={} error=\"{}\"", dir, e.toString());
                }
            }
        }

        @Override
        public void writeDirect(ByteBuffer src, long position) throws IOException {
            if (direct == null) {
                throw new IllegalStateException("no direct handle on " + name);
            }
            long pos = position;
            while (src.hasRemaining()) {
                pos += direct.write(src, pos);
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long size() throws IOException {
            return ch.size();
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return ch.read(dst, position);
        }

        @Override
        public void write(ByteBuffer src, long position) throws IOException {
            long pos = position;
            while (src.hasRemaining()) {
                pos += ch.write(src, pos);
            }
        }

        @Override
        public void force() throws IOException {
            ch.force(false);
        }

        @Override
        public void truncate(long size) throws IOException {
            ch.truncate(size);
        }

        @Override
        public void preallocate(long size) throws IOException {
            long pos = ch.size();
            if (pos >= size) {
                return;
            }
            ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(PREALLOCATE_CHUNK_BYTES, size - pos));
            while (pos < size) {
                zeros.clear();
                zeros.limit((int) Math.min(zeros.capacity(), size - pos));
                write(zeros, pos);
                pos += zeros.limit();
            }
        }

        @Override
        public void close() throws IOException {
            try {
                if (direct != null) {
                    direct.close();
                }
            } finally {
                ch.close();
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
