package io.quorumlab.cli;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ConfigException;
import io.quorumlab.server.config.ServerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code quorumlab server [etcd flags]}: one member, configured exactly like etcd. */
@Command(name = "server", description = "Run an etcd-compatible member. Takes etcd's flags, ETCD_* variables and --config-file.",
        usageHelpAutoWidth = true)
final class ServerCommand implements Callable<Integer> {
    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static final String USAGE = """
            Usage: quorumlab server [etcd flags]

            Runs one member. Flags, ETCD_* environment variables and --config-file YAML follow etcd 3.4/3.5:
              --name --data-dir --wal-dir --listen-client-urls --advertise-client-urls
              --listen-peer-urls --initial-advertise-peer-urls --initial-cluster
              --initial-cluster-state new|existing --initial-cluster-token
              --heartbeat-interval --election-timeout --snapshot-count --max-snapshots --max-wals
              --quota-backend-bytes --backend-batch-interval --backend-batch-limit
              --max-txn-ops --max-request-bytes --max-concurrent-streams --grpc-keepalive-*
              --pre-vote --strict-reconfig-check --auto-compaction-mode --auto-compaction-retention
              --cert-file --key-file --client-cert-auth --trusted-ca-file (client TLS)
              --experimental-watch-progress-notify-interval --logger --log-level --config-file
              --version
            Example (single member):
              quorumlab server --name m1 --data-dir /tmp/m1 --listen-client-urls http://127.0.0.1:2379 \\
                --advertise-client-urls http://127.0.0.1:2379
            """;

    @Override
    public Integer call() {
        ServerConfig cfg;
        try {
            cfg = ServerConfig.parse(args.toArray(String[]::new), System.getenv(), w -> System.err.println("quorumlab: warning: " + w));
        } catch (ConfigException e) {
            switch (e.reason()) {
                case HELP_REQUESTED -> {
                    System.out.print(USAGE);
                    return 0;
                }
                case VERSION_REQUESTED -> {
                    System.out.println("quorumlab server " + new Main.Version().getVersion()[0].replace("quorumlab ", ""));
                    System.out.println("etcd Version: 3.4.23 (API compatible)");
                    System.out.println("Java Version: " + System.getProperty("java.version"));
                    return 0;
                }
                default -> {
                    System.err.println("quorumlab server: " + e.getMessage());
                    return 1;
                }
            }
        }
        EtcdServer server;
        try {
            server = EtcdServer.start(cfg, CollectorRegistry.defaultRegistry);
        } catch (IllegalStateException | IllegalArgumentException e) {
            System.err.println("quorumlab server: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean shuttingDown = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            shuttingDown.set(true);
            // SIGTERM / Ctrl-C: stop serving, flush, close the WAL and backend.
            server.close();
            stopped.countDown();
        }, "shutdown"));
        try {
            // A member removed from the cluster stops serving; like etcd, the process then exits.
            while (!stopped.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
                if (server.member().isStopped() && !shuttingDown.get()) {
                    System.err.println("quorumlab server: the member has been permanently removed from the cluster; exiting");
                    server.close();
                    return 0;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
