package io.quorumlab.cli;

import io.quorumlab.bench.compare.ProcessCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code quorumlab cluster up|down}: a local cluster of {@code quorumlab server} processes on 127.0.0.1
 * that outlives the command (the same launcher the benchmark uses). {@code up} leaves a state file
 * ({@code cluster.state}: pid and client endpoint per line) in the directory; {@code down} reads it.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "Start or stop a local cluster of server processes.",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Down.class})
final class ClusterCommand implements Runnable {
    static final String STATE = "cluster.state";

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Start N members in DIR and wait until they are healthy.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--members", defaultValue = "3")
        int members;
        @Option(names = "--dir", defaultValue = "quorumlab-cluster", description = "data dirs, logs and the state file")
        Path dir;

        @Override
        public Integer call() throws Exception {
            if (Files.exists(dir.resolve(STATE))) {
                System.err.println("quorumlab cluster: " + dir.resolve(STATE) + " exists: run `quorumlab cluster down --dir " + dir + "` first");
                return 1;
            }
            // Not closed on purpose: the members keep running after this command exits.
            ProcessCluster c = ProcessCluster.start(ServerJvm.serverCommand(), members,
                    dir.toAbsolutePath(), "local");
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < members; i++) lines.add(c.processes().get(i).pid() + " " + c.endpoints().get(i));
            Files.write(dir.resolve(STATE), lines);
            System.out.println("cluster up: " + String.join(",", c.endpoints()));
            System.out.println("  ETCDCTL_API=3 etcdctl --endpoints=" + String.join(",", c.endpoints()) + " member list");
            System.out.println("  stop with: quorumlab cluster down --dir " + dir);
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the members started by `cluster up` (SIGTERM, then SIGKILL).")
    static final class Down implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = "quorumlab-cluster")
        Path dir;

        @Override
        public Integer call() throws IOException, InterruptedException {
            Path state = dir.resolve(STATE);
            if (!Files.exists(state)) {
                System.err.println("quorumlab cluster: no " + state + ": nothing to stop");
                return 1;
            }
            for (String line : Files.readAllLines(state)) {
                long pid = Long.parseLong(line.split(" ")[0]);
                var ph = ProcessHandle.of(pid);
                if (ph.isEmpty()) continue;
                ph.get().destroy();
                try {
                    ph.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception e) {
                    ph.get().destroyForcibly();
                }
            }
            Files.delete(state);
            System.out.println("cluster down");
            return 0;
        }
    }
}
