package io.quorumlab.cli;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import io.quorumlab.server.member.Member;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code quorumlab snapshot status|restore FILE}: snapshots taken with {@code etcdctl snapshot save}
 * against a quorumlab member (its own format: the backend copy followed by its SHA-256, as etcd appends one).
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true, description = "Inspect or restore a snapshot saved from a quorumlab member.",
        subcommands = {SnapshotCommand.Status.class, SnapshotCommand.Restore.class})
final class SnapshotCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    /**
     * The backend copy inside a snapshot file, after checking the trailing SHA-256; a corrupted file is
     * refused. Layout (see MaintenanceService.snapshot): [u64 length][body][padding][SHA-256].
     */
    static byte[] verified(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        if (all.length < 40) throw new IOException("snapshot " + file + " is too short to be a snapshot");
        byte[] covered = Arrays.copyOf(all, all.length - 32);
        byte[] want = Arrays.copyOfRange(all, all.length - 32, all.length);
        try {
            if (!MessageDigest.isEqual(MessageDigest.getInstance("SHA-256").digest(covered), want)) {
                throw new IOException("snapshot " + file + " is corrupted: SHA-256 mismatch");
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long len = java.nio.ByteBuffer.wrap(covered, 0, 8).getLong();
        if (len < 0 || len > covered.length - 8) throw new IOException("snapshot " + file + " is corrupted: bad length " + len);
        return Arrays.copyOfRange(covered, 8, 8 + (int) len);
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Hash, revision, keys and size of a snapshot file.")
    static final class Status implements Callable<Integer> {
        @Parameters(index = "0", description = "snapshot file")
        Path file;
        @Option(names = {"-w", "--write-out"}, defaultValue = "simple", description = "simple | table | json")
        String format;

        @Override
        public Integer call() {
            try {
                byte[] body = verified(file);
                try (MvccStore store = new MvccStore(new InMemoryBackend(), StoreConfig.defaults().withWatchSyncInterval(0))) {
                    store.transferApplyOwnership();
                    store.restore(new ByteArrayInputStream(body));
                    long hash = store.hashKV(0).hash() & 0xffffffffL;
                    long rev = store.currentRevision();
                    long keys = store.keyCount();
                    long size = Files.size(file);
                    switch (format) {
                        case "json" -> System.out.printf(Locale.ROOT,
                                "{\"hash\":%d,\"revision\":%d,\"totalKey\":%d,\"totalSize\":%d}%n", hash, rev, keys, size);
                        case "table" -> {
                            System.out.println("+----------+----------+------------+------------+");
                            System.out.println("|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |");
                            System.out.println("+----------+----------+------------+------------+");
                            System.out.printf(Locale.ROOT, "| %8x | %8d | %10d | %10s |%n", hash, rev, keys, human(size));
                            System.out.println("+----------+----------+------------+------------+");
                        }
                        default -> System.out.printf(Locale.ROOT, "%x, %d, %d, %s%n", hash, rev, keys, human(size));
                    }
                }
                return 0;
            } catch (IOException | RuntimeException e) {
                System.err.println("quorumlab snapshot: " + e.getMessage());
                return 1;
            }
        }
    }

    static String human(long bytes) {
        if (bytes < 1000) return bytes + " B";
        if (bytes < 1_000_000) return String.format(Locale.ROOT, "%.0f kB", bytes / 1e3);
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    @Command(name = "restore", mixinStandardHelpOptions = true,
            description = "Build a new member's data directory from a snapshot; then start it with the same --initial-cluster.")
    static final class Restore implements Callable<Integer> {
        @Parameters(index = "0", description = "snapshot file")
        Path file;
        @Option(names = "--name", defaultValue = "default")
        String name;
        @Option(names = "--data-dir", description = "default: <name>.etcd")
        Path dataDir;
        @Option(names = "--initial-cluster", description = "name=peerURL,... of the new cluster")
        String initialCluster;
        @Option(names = "--initial-advertise-peer-urls", defaultValue = "http://localhost:2380")
        String peerUrls;
        @Option(names = "--initial-cluster-token", defaultValue = "etcd-cluster")
        String token;

        @Override
        public Integer call() {
            Path dir = dataDir != null ? dataDir : Path.of(name + ".etcd");
            try {
                if (Files.exists(dir) && Files.list(dir).findAny().isPresent()) {
                    System.err.println("quorumlab snapshot: data-dir \"" + dir + "\" exists");
                    return 1;
                }
                String cluster = initialCluster != null ? initialCluster : name + "=" + peerUrls;
                if (!Arrays.stream(cluster.split(",")).anyMatch(e -> e.startsWith(name + "="))) {
                    System.err.println("quorumlab snapshot: couldn't find local name \"" + name + "\" in the initial cluster configuration");
                    return 1;
                }
                byte[] body = verified(file);
                Path db = dir.resolve("member").resolve("snap").resolve("db");
                Files.createDirectories(db);
                try (MvccStore store = new MvccStore(new LmdbBackend(db, BackendConfig.defaults()),
                        StoreConfig.defaults().withWatchSyncInterval(0))) {
                    store.transferApplyOwnership();
                    store.restore(new ByteArrayInputStream(body));
                    // A new cluster: forget the old membership and log position; the member bootstraps anew.
                    Member.prepareRestoredStore(store);
                    System.out.printf(Locale.ROOT, "restored snapshot %s into %s (revision %d, %d keys); start the member with"
                            + " --name %s --data-dir %s --initial-cluster %s --initial-cluster-token %s%n", file, dir,
                            store.currentRevision(), store.keyCount(), name, dir, cluster, token);
                }
                return 0;
            } catch (IOException | RuntimeException e) {
                System.err.println("quorumlab snapshot: " + e.getMessage());
                return 1;
            }
        }
    }
}
