package io.quorumlab.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for the members a test starts on 127.0.0.1. A port taken from {@code new ServerSocket(0)} and
 * released is in the kernel's ephemeral range (32768-60999 by default), where the outgoing connections of
 * members started first get their source ports: one of them can take a later member's port before that
 * member binds it ("address already in use"). These ports lie below that range, were bindable when
 * handed out, and are never handed out twice in one JVM.
 */
public final class TestPorts {
    private static final int LOW = 20_000;
    private static final int HIGH = 32_000;
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private TestPorts() {
    }

    public static synchronized int free() throws IOException {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOW, HIGH);
            if (!HANDED_OUT.add(port)) continue;
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException inUse) {
                // taken by something else on this machine: try another
            }
        }
        throw new IOException("no free port in [" + LOW + ", " + HIGH + ") after 1,000 tries");
    }
}
