package io.quorumlab.bench.compare;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A local 3-member cluster of server processes on 127.0.0.1 with etcd's flags: real etcd (its
 * binary) or quorumlab ({@code java -jar quorumlab.jar server}). Fresh data directories each time.
 */
public final class ProcessCluster implements AutoCloseable {
    private final List<Process> processes = new ArrayList<>();
    private final List<String> endpoints = new ArrayList<>();
    private final Path dir;

    private ProcessCluster(Path dir) {
        this.dir = dir;
    }

    /** @param command the server command before etcd's flags (e.g. {@code etcd} or {@code java -jar q.jar server}) */
    public static ProcessCluster start(List<String> command, int members, Path dir, String label) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        ProcessCluster c = new ProcessCluster(dir);
        io.quorumlab.bench.LocalPorts ports = io.quorumlab.bench.LocalPorts.pick(members);
        try {
            for (int i = 0; i < members; i++) {
                List<String> cmd = new ArrayList<>(command);
                cmd.addAll(ports.memberFlags(i, dir));
                cmd.addAll(List.of("--initial-cluster-token", label + "-bench"));
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("m" + (i + 1) + ".log").toFile());
                pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_"));
                c.processes.add(pb.start());
                c.endpoints.add(ports.endpoint(i));
            }
            c.awaitHealthy(Duration.ofSeconds(60));
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public List<String> endpoints() {
        return endpoints;
    }

    public List<Process> processes() {
        return processes;
    }

    /**
     * CPU time the members have used so far, from /proc: their JIT compiler threads apart from all
     * other threads (a JVM member compiles its hot paths for a minute or more under load; etcd, a Go
     * binary, has no such threads). Zeros where /proc is unavailable.
     */
    public CpuTime cpuTime() {
        long member = 0, compiler = 0;
        for (Process p : processes) {
            try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/" + p.pid() + "/task"))) {
                for (Path t : tasks.toList()) {
                    long ticks = taskTicks(t);
                    if (isCompilerThread(t)) compiler += ticks;
                    else member += ticks;
                }
            } catch (IOException | RuntimeException e) {
                // the process is gone or this is not Linux: count nothing for it
            }
        }
        return new CpuTime(member * NANOS_PER_TICK, compiler * NANOS_PER_TICK);
    }

    /** Nanoseconds of CPU: {@code member} = all threads but the JIT compilers, {@code compiler} = the JIT compilers. */
    public record CpuTime(long memberNanos, long compilerNanos) {
        public CpuTime minus(CpuTime earlier) {
            return new CpuTime(memberNanos - earlier.memberNanos, compilerNanos - earlier.compilerNanos);
        }
    }

    /** /proc reports CPU in USER_HZ ticks, 100 per second on Linux. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private static long taskTicks(Path task) throws IOException {
        String stat = Files.readString(task.resolve("stat"));
        // Fields after the ")" that ends the thread name: state is the 1st, utime the 12th, stime the 13th.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static boolean isCompilerThread(Path task) throws IOException {
        String name = Files.readString(task.resolve("comm")).trim();
        return name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre");
    }

    /** Resident memory of each member, from /proc (0 where unavailable). */
    public List<Long> residentBytes() {
        List<Long> out = new ArrayList<>();
        for (Process p : processes) {
            long rss = 0;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/status"))) {
                    if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            } catch (IOException | RuntimeException e) {
                rss = 0;
            }
            out.add(rss);
        }
        return out;
    }

    private void awaitHealthy(Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (String ep : endpoints) {
            while (true) {
                for (Process p : processes) {
                    if (!p.isAlive()) throw new IllegalStateException("a member exited early; see logs in " + dir);
                }
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + ep + "/health"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200 && r.body().contains("true")) break;
                } catch (IOException e) {
                    // not up yet
                }
                if (System.nanoTime() > deadline) throw new IllegalStateException("cluster not healthy in time; see logs in " + dir);
                Thread.sleep(100);
            }
        }
    }

    @Override
    public void close() {
        for (Process p : processes) p.destroy();
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
