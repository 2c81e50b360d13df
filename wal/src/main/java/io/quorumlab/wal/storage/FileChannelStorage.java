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
import java.util.stream.Stream;

/** The real disk: one directory, {@link FileChannel} files, {@code force(false)} as fdatasync. */
public final class FileChannelStorage implements WalStorage {

    /** Zero-fill chunk for preallocation; Java has no fallocate, so we write real zeros once. */
    private static final int PREALLOCATE_CHUNK_BYTES = 1 << 20;

    private final Path dir;

    public FileChannelStorage(Path dir) throws IOException {
        this.dir = dir;
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
        return new ChannelFile(name, ch);
    }

    @Override
    public WalFile open(String name) throws IOException {
        Path p = resolve(name);
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new ChannelFile(name, ch);
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

    private static final class ChannelFile implements WalFile {
        private final String name;
        private final FileChannel ch;

        ChannelFile(String name, FileChannel ch) {
            this.name = name;
            this.ch = ch;
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
            ch.close();
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
