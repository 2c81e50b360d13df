package io.quorumlab.mvcc;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A throw-away single-member etcd on 127.0.0.1 with random ports and a temp data dir. */
final class EtcdProcess implements AutoCloseable {
    final Process process;
    final Path dataDir;
    final ManagedChannel channel;
    final int clientPort;

    static String binary() {
        String override = System.getProperty("mvcc.etcd");
        if (override != null) return new File(override).canExecute() ? override : null;
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            File f = new File(dir, "etcd");
            if (f.canExecute()) return f.getPath();
        }
        return null;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    EtcdProcess(String binary) throws IOException {
        dataDir = Files.createTempDirectory("etcd-diff");
        clientPort = freePort();
        int peerPort = freePort();
        String client = "http://127.0.0.1:" + clientPort, peer = "http://127.0.0.1:" + peerPort;
        ProcessBuilder pb = new ProcessBuilder(List.of(binary, "--name", "diff", "--data-dir", dataDir.resolve("d").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer, "--initial-cluster", "diff=" + peer, "--heartbeat-interval", "10",
                "--election-timeout", "100", "--logger", "zap", "--log-level", "error", "--unsafe-no-fsync"));
        pb.redirectErrorStream(true);
        pb.redirectOutput(dataDir.resolve("etcd.log").toFile());
        process = pb.start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", clientPort).usePlaintext().build();
    }

    String log() {
        try {
            return Files.readString(dataDir.resolve("etcd.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws IOException {
        channel.shutdownNow();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (var s = Files.walk(dataDir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
