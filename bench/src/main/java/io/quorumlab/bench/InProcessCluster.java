package io.quorumlab.bench;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Members m1..mN in this JVM, on free 127.0.0.1 ports, data under {@code dir}: the demo's and the JMH suite's cluster. */
public final class InProcessCluster {
    private InProcessCluster() {}

    /** Starts every member (the caller closes them); the servers come back in name order. */
    public static List<EtcdServer> start(Path dir, int members, List<EtcdServer> into) throws IOException {
        LocalPorts ports = LocalPorts.pick(members);
        for (int i = 0; i < members; i++) {
            String[] args = ports.memberFlags(i, dir).toArray(new String[0]);
            into.add(EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry()));
        }
        return into;
    }
}
