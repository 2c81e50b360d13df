package io.quorumlab.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberConfig;
import io.quorumlab.server.member.MemberMetrics;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Three members over real TCP on 127.0.0.1, with the connections on the member loop (as
 * {@code EtcdServer} runs them) and on the transport's own threads.
 */
class NettyClusterTest {
    @TempDir
    Path dir;
    private final List<Member> members = new ArrayList<>();
    private final List<RealRuntime> runtimes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Member m : members) m.close();
        for (RealRuntime rt : runtimes) rt.close();
    }

    static int freePort() throws Exception {
        return io.quorumlab.server.TestPorts.free();
    }

    @ParameterizedTest(name = "connections on the member loop: {0}")
    @ValueSource(booleans = {true, false})
    void replicatesOverTcp(boolean onMemberLoop) throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) cluster.put("n" + i, "http://127.0.0.1:" + freePort());
        for (String name : cluster.keySet()) {
            MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500);
            RealRuntime rt = new RealRuntime(name, 10, 1000);
            int port = java.net.URI.create(cluster.get(name)).getPort();
            NettyPeerTransport t = new NettyPeerTransport(cfg.memberId(), "127.0.0.1", port, null,
                    onMemberLoop ? rt.memberEventLoop() : null);
            Member m = new Member(cfg, rt, t, MemberMetrics.isolated());
            m.start();
            members.add(m);
            runtimes.add(rt);
        }
        for (int i = 0; i < 30; i++) {
            Member m = members.get(i % 3);
            for (int attempt = 0; ; attempt++) {
                try {
                    m.propose(PutRequest.of("key" + i, "value" + i)).get(10, TimeUnit.SECONDS);
                    break;
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof EtcdException) || attempt > 100) throw e;
                    Thread.sleep(50);
                }
            }
        }
        for (Member m : members) {
            m.readBarrier().get(10, TimeUnit.SECONDS);
            assertEquals(30, m.store().range(RangeRequest.builder(Bytes.of("key")).prefix().countOnly(true).build()).count());
        }
    }

    /**
     * On the member loop a send is written at once and flushed by {@code flush()}; a sender that never
     * calls it (a control message from a timer task) is flushed by the task queued behind it, and
     * sends from other threads go through the queue. Every one arrives, in order per sender.
     */
    @Test
    void sendsFromTheLoopAndFromOtherThreadsArrive() throws Exception {
        RealRuntime ra = new RealRuntime("a", 10, 1000), rb = new RealRuntime("b", 10, 1000);
        runtimes.add(ra);
        runtimes.add(rb);
        int pa = freePort(), pb = freePort();
        NettyPeerTransport a = new NettyPeerTransport(1, "127.0.0.1", pa, null, ra.memberEventLoop());
        NettyPeerTransport b = new NettyPeerTransport(2, "127.0.0.1", pb, null, rb.memberEventLoop());
        java.util.concurrent.LinkedBlockingQueue<String> got = new java.util.concurrent.LinkedBlockingQueue<>();
        try {
            b.onControl((from, payload) -> {
                if (!rb.inMemberLoop()) got.add("wrong thread");
                got.add(from + ":" + new String(payload, java.nio.charset.StandardCharsets.UTF_8));
            });
            b.start(m -> got.add("raft:" + m.index()), id -> {});
            a.start(m -> {}, id -> got.add("unreachable"));
            a.updatePeers(Map.of(2L, "http://127.0.0.1:" + pb));
            // Connect first: before the connection is up a send is queued and kicked, not written on the loop.
            for (int i = 0; i < 200 && got.isEmpty(); i++) {
                a.sendControl(2, "hello".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                Thread.sleep(20);
            }
            assertEquals("1:hello", got.poll(10, TimeUnit.SECONDS));
            Thread.sleep(100);
            got.clear();
            ra.execute(() -> {
                for (int i = 1; i <= 3; i++) a.send(io.quorumlab.raft.Message.builder(io.quorumlab.raft.MessageType.HEARTBEAT)
                        .from(1).to(2).index(i).build());
                a.flush();
                a.sendControl(2, "no-flush".getBytes(java.nio.charset.StandardCharsets.UTF_8)); // the queued task flushes it
            });
            for (int i = 1; i <= 3; i++) assertEquals("raft:" + i, got.poll(10, TimeUnit.SECONDS));
            assertEquals("1:no-flush", got.poll(10, TimeUnit.SECONDS));
            a.sendControl(2, "other-thread".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertEquals("1:other-thread", got.poll(10, TimeUnit.SECONDS));
        } finally {
            a.close();
            b.close();
        }
    }
}
