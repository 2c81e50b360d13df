package io.quorumlab.mvcc;

import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Backend factories for tests: each kind can be reopened on the same "disk" after a crash. */
final class TestStores {
    private TestStores() {}

    enum Kind { MEMORY, LMDB }

    static final long TEST_MAP_SIZE = 256L << 20;

    /** A place a backend lives across restarts. */
    static final class Disk implements AutoCloseable {
        final Kind kind;
        final InMemoryBackend.Disk memory = new InMemoryBackend.Disk();
        final Path dir;
        final BackendConfig config;

        Disk(Kind kind, BackendConfig config) {
            this.kind = kind;
            this.config = config;
            try {
                this.dir = kind == Kind.LMDB ? Files.createTempDirectory("mvcc-test") : null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Disk(Kind kind) { this(kind, BackendConfig.defaults().withMapSize(TEST_MAP_SIZE)); }

        Backend open() {
            return kind == Kind.MEMORY ? new InMemoryBackend(memory, config) : new LmdbBackend(dir, config);
        }

        @Override public void close() {
            if (dir == null) return;
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static StoreConfig noSyncThread() { return StoreConfig.defaults().withWatchSyncInterval(0); }
}
