package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.LmdbBackend;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.TestPorts;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.Cancellable;
import io.quorumlab.server.runtime.RealRuntime;
import io.quorumlab.server.runtime.Runtime;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backend commit that fails (here a real one: LMDB's map is full, as with a full disk) stops the
 * member as etcd's panic would: the store fail-stops, later proposals fail at once with
 * "etcdserver: server stopped" instead of being applied in memory over a batch that never reached
 * the disk.
 */
class ApplyFailureStopsMemberTest {

    /** The real runtime, but a backend whose LMDB map holds only 1 MiB. */
    static final class SmallMapRuntime implements Runtime {
        final RealRuntime real;

        SmallMapRuntime(RealRuntime real) {
            this.real = real;
        }

        @Override public long nanoTime() { return real.nanoTime(); }
        @Override public long wallMillis() { return real.wallMillis(); }
        @Override public Cancellable schedule(long delayNanos, Runnable task) { return real.schedule(delayNanos, task); }
        @Override public void execute(Runnable task) { real.execute(task); }
        @Override public void executeApply(Runnable task) { real.executeApply(task); }
        @Override public RandomGenerator random() { return real.random(); }
        @Override public WalStorage walStorage(Path dir) throws IOException { return real.walStorage(dir); }
        @Override public boolean inMemberLoop() { return real.inMemberLoop(); }
        @Override public boolean inApplyLoop() { return real.inApplyLoop(); }

        @Override
        public Backend backend(Path dir, long quotaBytes) {
            return new LmdbBackend(dir, BackendConfig.defaults().withBatch(TimeUnit.MILLISECONDS.toNanos(5), 1000)
                    .withMapSize(1L << 20));
        }
    }

    @Test
    void aFailedBackendCommitStopsTheMember(@TempDir Path dir) throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        cluster.put("solo", "http://127.0.0.1:" + TestPorts.free());
        MemberConfig cfg = MemberConfig.defaults("solo", dir.resolve("solo"), cluster).withTimeouts(50, 500);
        RealRuntime real = new RealRuntime("solo", 5, 1000);
        Member m = new Member(cfg, new SmallMapRuntime(real), new LocalTransport.Hub().join(cfg.memberId()),
                MemberMetrics.isolated());
        try {
            m.start();
            MemberTestSupport.awaitSelfLeader(m);
            byte[] value = new byte[64 << 10];
            int acknowledged = 0;
            Throwable firstFailure = null;
            for (int i = 0; i < 64 && firstFailure == null; i++) { // 4 MiB of values: the 1 MiB map fills
                try {
                    m.propose(PutRequest.of(io.quorumlab.mvcc.api.Bytes.of("k" + i), value)).get(10, TimeUnit.SECONDS);
                    acknowledged++;
                } catch (ExecutionException e) {
                    firstFailure = e.getCause();
                }
            }
            assertTrue(firstFailure != null, "a 1 MiB map took " + acknowledged + " puts of 64 KiB");
            // Once stopped (asynchronously, on the member loop), every proposal fails at once.
            EtcdException later = MemberTestSupport.awaitStoppedProposals(m, "the backend failed (" + firstFailure + ")");
            assertEquals(EtcdError.STOPPED, later.error());
            assertTrue(m.store().range(io.quorumlab.mvcc.api.RangeRequest.key(io.quorumlab.mvcc.api.Bytes.of("after")))
                    .count() == 0, "no entry is applied after the failure");
        } finally {
            m.close();
            real.close();
        }
    }
}
