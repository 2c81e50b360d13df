package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --auto-compaction-mode periodic: the leader proposes compactions on its own as history ages. */
class AutoCompactionTest {
    @TempDir
    Path dir;

    static int freePort() throws Exception {
        return io.quorumlab.server.TestPorts.free();
    }

    @Test
    void periodicModeCompactsOldHistory() throws Exception {
        int c = freePort(), p = freePort();
        String[] args = {"--name", "a", "--data-dir", dir.resolve("a").toString(),
                "--listen-client-urls", "http://127.0.0.1:" + c, "--advertise-client-urls", "http://127.0.0.1:" + c,
                "--listen-peer-urls", "http://127.0.0.1:" + p, "--initial-advertise-peer-urls", "http://127.0.0.1:" + p,
                "--initial-cluster", "a=http://127.0.0.1:" + p,
                "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "2s"};
        try (EtcdServer s = EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry())) {
            Member m = s.member();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            int i = 0;
            // <= 1: on a slow machine the election can outlast the compactor's first samples (revision 1),
            // so its first compaction may be to revision 1; the next ones must move past it.
            while (m.store().compactRevision() <= 1) {
                assertTrue(System.nanoTime() < deadline, "no auto-compaction within 40 s");
                if (m.leaderId() == m.memberId()) m.propose(PutRequest.of("k", "v" + i++)).get(5, TimeUnit.SECONDS);
                Thread.sleep(200);
            }
            long compacted = m.store().compactRevision();
            assertTrue(compacted > 1 && compacted < m.store().currentRevision(),
                    "compacted " + compacted + " of " + m.store().currentRevision());
        }
    }
}
