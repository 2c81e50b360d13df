package io.quorumlab.cli;

import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Members m1..mN of {@code java -jar cli/target/quorumlab.jar server ...} as OS processes on
 * 127.0.0.1, each with its own data dir and a log file under the cluster's directory. Used by the
 * integration tests (the jar exists after {@code mvn package}).
 */
final class ProcessCluster implements AutoCloseable {
    final Path root;
    final int size;
    final int[] clientPorts;
    final int[] peerPorts;
    private final Process[] processes;
    private final ManagedChannel[] channels;
    private final Path jar;
    private final List<String> extraFlags;

    ProcessCluster(Path root, int size, String... extraFlags) throws IOException {
        this.root = root;
        this.size = size;
        this.extraFlags = List.of(extraFlags);
        this.jar = REFERENCE_ETCD ? null : jar();
        int[] ports = freePorts(2 * size);
        clientPorts = new int[size];
        peerPorts = new int[size];
        for (int i = 0; i < size; i++) {
            clientPorts[i] = ports[2 * i];
            peerPorts[i] = ports[2 * i + 1];
        }
        processes = new Process[size];
        channels = new ManagedChannel[size];
        Files.createDirectories(root.resolve("logs"));
    }

    /**
     * {@code -Dit.server=etcd} runs the same tests against the real etcd binary ({@code /usr/bin/etcd},
     * Debian's etcd-server 3.4.23) with the same flags: a check that the tests encode etcd's behaviour.
     */
    static final boolean REFERENCE_ETCD = "etcd".equals(System.getProperty("it.server"));

    /** The shaded jar {@code mvn package} builds; {@code -Dquorumlab.jar=...} overrides. */
    static Path jar() {
        String p = System.getProperty("quorumlab.jar");
        Path j = (p != null ? Path.of(p) : Path.of("target", "quorumlab.jar")).toAbsolutePath();
        if (!Files.isRegularFile(j)) {
            throw new IllegalStateException(j + " is missing: run `mvn -pl cli -am package -DskipTests` first");
        }
        return j;
    }

    String name(int i) {
        return "m" + (i + 1);
    }

    /** host:port as etcdctl takes it. */
    String hostPort(int i) {
        return "127.0.0.1:" + clientPorts[i];
    }

    String allHostPorts() {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < size; i++) all.add(hostPort(i));
        return String.join(",", all);
    }

    Path log(int i) {
        return root.resolve("logs").resolve(name(i) + ".log");
    }

    List<String> command(int i) {
        StringBuilder initial = new StringBuilder();
        for (int j = 0; j < size; j++) {
            if (j > 0) initial.append(',');
            initial.append(name(j)).append("=http://127.0.0.1:").append(peerPorts[j]);
        }
        String client = "http://" + hostPort(i);
        String peer = "http://127.0.0.1:" + peerPorts[i];
        List<String> cmd = new ArrayList<>(REFERENCE_ETCD ? List.of("/usr/bin/etcd")
                : List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx256m", "-XX:+UseSerialGC", "-jar", jar.toString(), "server"));
        cmd.addAll(List.of("--name", name(i), "--data-dir", root.resolve(name(i)).toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial.toString(), "--initial-cluster-token", "quorumlab-it",
                "--initial-cluster-state", "new"));
        cmd.addAll(extraFlags);
        return cmd;
    }

    void startAll() throws IOException {
        for (int i = 0; i < size; i++) start(i);
    }

    /** Starts member i (again, after a kill, on the same directory and flags). */
    void start(int i) throws IOException {
        if (processes[i] != null && processes[i].isAlive()) throw new IllegalStateException(name(i) + " is running");
        Files.writeString(log(i), "==== start " + String.join(" ", command(i)) + "\n", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(command(i)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(i).toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
        processes[i] = pb.start();
    }

    /** kill -9 (SIGKILL): no shutdown hook runs. */
    void kill9(int i) throws InterruptedException {
        Process p = processes[i];
        if (p == null) return;
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) throw new AssertionError(name(i) + " survived SIGKILL for 10 s");
        appendMarker(i, "==== killed -9 (exit " + p.exitValue() + ")");
    }

    /** Writes a thread dump of member i (jstack) next to its log; returns where, for a failure message. */
    String threadDump(int i) {
        Path out = root.resolve("logs").resolve(name(i) + "-" + System.currentTimeMillis() + ".jstack");
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstack").toString(),
                    String.valueOf(processes[i].pid())).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
            return out.toString();
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "(no thread dump: " + e + ")";
        }
    }

    /** Sends a signal by name ("STOP", "CONT") to member i's process. */
    void signal(int i, String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(processes[i].pid())).inheritIO().start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) throw new AssertionError("kill -" + name + " failed");
        appendMarker(i, "==== SIG" + name);
    }

    boolean alive(int i) {
        return processes[i] != null && processes[i].isAlive();
    }

    ManagedChannel channel(int i) {
        if (channels[i] == null) {
            channels[i] = ManagedChannelBuilder.forAddress("127.0.0.1", clientPorts[i]).usePlaintext().build();
        }
        return channels[i];
    }

    KVGrpc.KVBlockingStub kv(int i, long deadlineMillis) {
        return KVGrpc.newBlockingStub(channel(i)).withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
    }

    StatusResponse status(int i, long deadlineMillis) {
        return MaintenanceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)
                .status(StatusRequest.getDefaultInstance());
    }

    /** Waits until member i answers Status and knows a leader; fails early if its process died. */
    StatusResponse awaitReady(int i, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!alive(i)) {
                throw new AssertionError(name(i) + " exited (" + processes[i].exitValue() + ") while starting; log tail:\n" + tail(i, 30));
            }
            try {
                StatusResponse s = status(i, 1000);
                if (s.getLeader() != 0) return s;
                last = "no leader yet";
            } catch (StatusRuntimeException e) {
                last = e.getStatus().toString();
                channel(i).resetConnectBackoff();
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name(i) + " not ready within " + seconds + " s (" + last + "); log tail:\n" + tail(i, 30));
    }

    /** Waits until every running member reports the same leader; returns that leader's index. */
    int awaitLeader(long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        String seen = "";
        while (System.nanoTime() < deadline) {
            long leader = 0;
            boolean agree = true;
            int leaderIndex = -1;
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < size; i++) {
                if (!alive(i)) continue;
                try {
                    StatusResponse s = status(i, 1000);
                    sb.append(name(i)).append("->").append(Long.toHexString(s.getLeader())).append(' ');
                    if (s.getLeader() == 0 || (leader != 0 && leader != s.getLeader())) agree = false;
                    leader = s.getLeader();
                    if (s.getHeader().getMemberId() == s.getLeader()) leaderIndex = i;
                } catch (StatusRuntimeException e) {
                    sb.append(name(i)).append(": ").append(e.getStatus().getCode()).append(' ');
                    channel(i).resetConnectBackoff();
                    agree = false;
                }
            }
            seen = sb.toString();
            if (agree && leaderIndex >= 0) return leaderIndex;
            Thread.sleep(100);
        }
        throw new AssertionError("members did not agree on a leader within " + seconds + " s: " + seen);
    }

    String tail(int i, int lines) {
        try {
            List<String> all = Files.readAllLines(log(i), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log: " + e + ")";
        }
    }

    private void appendMarker(int i, String line) {
        try {
            Files.writeString(log(i), line + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // only a marker for a human reading the log
        }
    }

    /** Stops every member (SIGTERM, then SIGKILL after 5 s) and closes the client channels. */
    @Override
    public void close() {
        for (ManagedChannel c : channels) {
            if (c != null) c.shutdownNow();
        }
        for (Process p : processes) {
            if (p == null || !p.isAlive()) continue;
            try {
                new ProcessBuilder("kill", "-CONT", String.valueOf(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException ignored) {
                // a stopped member would not see SIGTERM; SIGKILL below still ends it
            }
            p.destroy();
        }
        for (int i = 0; i < size; i++) {
            Process p = processes[i];
            if (p == null) continue;
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    static int[] freePorts(int n) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) s.close();
        }
    }
}
