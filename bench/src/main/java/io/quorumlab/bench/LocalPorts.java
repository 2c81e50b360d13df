package io.quorumlab.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;

/** Free 127.0.0.1 client and peer ports for members m1..mN, and each member's etcd flags for them. */
public final class LocalPorts {
    private final int[] client;
    private final int[] peer;
    private final String initialCluster;

    private LocalPorts(int[] client, int[] peer, String initialCluster) {
        this.client = client;
        this.peer = peer;
        this.initialCluster = initialCluster;
    }

    public static LocalPorts pick(int members) throws IOException {
        int[] client = new int[members], peer = new int[members];
        StringBuilder initial = new StringBuilder();
        for (int i = 0; i < members; i++) {
            client[i] = freePort();
            peer[i] = freePort();
            initial.append(i == 0 ? "" : ",").append(name(i)).append("=http://127.0.0.1:").append(peer[i]);
        }
        return new LocalPorts(client, peer, initial.toString());
    }

    /** {@code m1}, {@code m2}, ... for index 0, 1, ... */
    public static String name(int i) {
        return "m" + (i + 1);
    }

    /** The client endpoint of member {@code i}, {@code 127.0.0.1:port}. */
    public String endpoint(int i) {
        return "127.0.0.1:" + client[i];
    }

    /** Name, data dir ({@code dir/m<i+1>}), client and peer URLs and the initial cluster of member {@code i}. */
    public List<String> memberFlags(int i, Path dir) {
        return List.of("--name", name(i), "--data-dir", dir.resolve(name(i)).toString(),
                "--listen-client-urls", "http://" + endpoint(i), "--advertise-client-urls", "http://" + endpoint(i),
                "--listen-peer-urls", "http://127.0.0.1:" + peer[i], "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer[i],
                "--initial-cluster", initialCluster);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
