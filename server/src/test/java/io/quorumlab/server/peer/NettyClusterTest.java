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
import java.net.ServerSocket;
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

/** Three members over real TCP on 127.0.0.1. */
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
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void replicatesOverTcp() throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) cluster.put("n" + i, "http://127.0.0.1:" + freePort());
        for (String name : cluster.keySet()) {
            MemberConfig cfg = MemberConfig.defaults(name, dir.resolve(name), cluster).withTimeouts(50, 500);
            RealRuntime rt = new RealRuntime(name, 10, 1000);
            int port = java.net.URI.create(cluster.get(name)).getPort();
            Member m = new Member(cfg, rt, new NettyPeerTransport(cfg.memberId(), "127.0.0.1", port), MemberMetrics.isolated());
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
}
