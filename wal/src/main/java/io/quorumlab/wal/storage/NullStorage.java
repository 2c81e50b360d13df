package io.quorumlab.wal.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A directory whose files keep only their size: writes and fsyncs cost nothing. For measuring the
 * WAL's own CPU (WalBenchmark, CommitterBreakdown); nothing written can be read back.
 */
public final class NullStorage implements WalStorage {
    private final TreeMap<String, NullFile> files = new TreeMap<>();

    @Override
    public synchronized WalFile create(String name) throws IOException {
        if (files.containsKey(name)) {
            throw new java.nio.file.FileAlreadyExistsException(name);
        }
        NullFile f = new NullFile(name);
        files.put(name, f);
        return f;
    }

    @Override
    public synchronized WalFile open(String name) throws IOException {
        NullFile f = files.get(name);
        if (f == null) {
            throw new java.nio.file.NoSuchFileException(name);
        }
        return f;
    }

    @Override
    public synchronized boolean exists(String name) {
        return files.containsKey(name);
    }

    @Override
    public synchronized List<String> list() {
        return new ArrayList<>(files.keySet());
    }

    @Override
    public synchronized void delete(String name) {
        files.remove(name);
    }

    @Override
    public synchronized void rename(String from, String to) throws IOException {
        NullFile f = files.remove(from);
        if (f == null) {
            throw new java.nio.file.NoSuchFileException(from);
        }
        files.put(to, f);
    }

    @Override
    public void fsyncDir() {
    }

    @Override
    public String describe() {
        return "null-storage";
    }

    /** A file that keeps only its size. */
    public static final class NullFile implements WalFile {
        private final String name;
        private volatile long size;

        public NullFile(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            return -1;
        }

        @Override
        public void write(ByteBuffer src, long position) {
            long end = position + src.remaining();
            src.position(src.limit());
            if (end > size) {
                size = end;
            }
        }

        @Override
        public void force() {
        }

        @Override
        public void truncate(long newSize) {
            size = newSize;
        }

        @Override
        public void preallocate(long newSize) {
            if (newSize > size) {
                size = newSize;
            }
        }

        @Override
        public void close() {
        }
    }
}
