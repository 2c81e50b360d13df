package io.quorumlab.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Senders race to reconnect a dropped link (sendControl runs on any thread: gRPC threads forward lease
 * keep-alives to the leader): one dial, not one per sender (extra channels stayed open, unreferenced, and
 * their close cleared the live one). Found by review in session 8.
 */
class PeerConnectRaceTest {
    @Test
    void concurrentSendersOpenOneConnection() throws Exception {
        try (ServerSocket peer = new ServerSocket()) {
            peer.bind(new InetSocketAddress("127.0.0.1", 0));
            List<Socket> accepted = new ArrayList<>();
            AtomicInteger count = new AtomicInteger();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = peer.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                        count.incrementAndGet();
                    }
                } catch (Exception closed) {
                    // done
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            NettyPeerTransport t = new NettyPeerTransport(1, "127.0.0.1", 0);
            int threads = 8, rounds = 25, worst = 0, extra = 0;
            try {
                t.bind();
                t.start(m -> {}, id -> {});
                t.updatePeers(Map.of(2L, "http://127.0.0.1:" + peer.getLocalPort()));
                for (int r = 0; r < rounds; r++) {
                    synchronized (accepted) {
                        for (Socket s : accepted) s.close(); // the link drops
                        accepted.clear();
                    }
                    Thread.sleep(250); // the transport sees the close and its 100 ms reconnect delay passes
                    int before = count.get();
                    CyclicBarrier go = new CyclicBarrier(threads);
                    List<Thread> ts = new ArrayList<>();
                    for (int i = 0; i < threads; i++) {
                        Thread th = new Thread(() -> {
                            try {
                                go.await();
                                t.sendControl(2, new byte[17]);
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        });
                        th.start();
                        ts.add(th);
                    }
                    for (Thread th : ts) th.join();
                    Thread.sleep(150);
                    int n = count.get() - before;
                    worst = Math.max(worst, n);
                    extra += Math.max(0, n - 1);
                }
            } finally {
                t.close();
            }
            String report = "connections dialed by one reconnect of " + threads + " concurrent senders: worst round " + worst
                    + ", extra connections over " + rounds + " rounds " + extra;
            System.out.println(report);
            assertEquals(0, extra, report);
        }
    }
}
