package io.quorumlab.bench;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Members m1..mN in this JVM, on free 127.0.0.1 ports, data under {@code dir}: the demo's and the JMH suite's cluster. */
public final class InProcessCluster {
    private InProcessCluster() {}

    /** Starts every member (the caller closes them); the servers come back in name order. */
    public static List<EtcdServer> start(Path dir, int members, List<EtcdServer> into) throws IOException {
        int[] client = new int[members], peer = new int[members];
        StringBuilder initial = new StringBuilder();
        for (int i = 0; i < members; i++) {
            client[i] = freePort();
            peer[i] = freePort();
            initial.append(i == 0 ? "" : ",").append("m").append(i + 1).append("=http://127.0.0.1:").append(peer[i]);
        }
        for (int i = 0; i < members; i++) {
            String[] args = {"--name", "m" + (i + 1), "--data-dir", dir.resolve("m" + (i + 1)).toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client[i], "--advertise-client-urls", "http://127.0.0.1:" + client[i],
                    "--listen-peer-urls", "http://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer[i],
                    "--initial-cluster", initial.toString()};
            into.add(EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry()));
        }
        return into;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
