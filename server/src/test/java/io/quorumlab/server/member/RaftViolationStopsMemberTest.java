package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.raft.Entry;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.TestPorts;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.peer.PeerTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer message whose handling throws inside Raft (an invariant violation: Raft's state can no
 * longer be trusted) stops the member, as etcd's raft panics; it must not go on voting, appending or
 * answering. Raft guards the reachable violations (an append below the commit index is answered,
 * not applied), so the test makes stepping throw with a forwarded proposal whose entry list throws
 * when Raft reads it, delivered straight to the member's inbound handler.
 */
class RaftViolationStopsMemberTest {

    /** A LocalTransport that also hands the member's inbound handler to the test. */
    static final class Tap implements PeerTransport {
        final LocalTransport inner;
        volatile Consumer<Message> inbound;

        Tap(LocalTransport inner) {
            this.inner = inner;
        }

        @Override
        public void start(Consumer<Message> in, Consumer<Long> unreachable) {
            inbound = in;
            inner.start(in, unreachable);
        }

        @Override public void updatePeers(Map<Long, String> peerUrls) { inner.updatePeers(peerUrls); }
        @Override public long send(Message m) { return inner.send(m); }
        @Override public void sendControl(long to, byte[] payload) { inner.sendControl(to, payload); }
        @Override public void onControl(java.util.function.BiConsumer<Long, byte[]> handler) { inner.onControl(handler); }
        @Override public void close() { inner.close(); }
    }

    @Test
    void raftFailingOnAPeerMessageStopsTheMember(@TempDir Path dir) throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        cluster.put("solo", "http://127.0.0.1:" + TestPorts.free());
        MemberConfig cfg = MemberConfig.defaults("solo", dir.resolve("solo"), cluster).withTimeouts(50, 500);
        RealRuntime rt = new RealRuntime("solo", 5, 1000);
        Tap tap = new Tap(new LocalTransport.Hub().join(cfg.memberId()));
        Member m = new Member(cfg, rt, tap, MemberMetrics.isolated());
        try {
            m.start();
            MemberTestSupport.awaitSelfLeader(m);
            m.propose(PutRequest.of("k", "v")).get(10, TimeUnit.SECONDS);
            List<Entry> poisoned = new AbstractList<>() {
                @Override
                public Entry get(int i) {
                    throw new IllegalStateException("raft invariant violated: test");
                }

                @Override
                public int size() {
                    return 1;
                }
            };
            tap.inbound.accept(Message.builder(MessageType.PROP).to(m.memberId()).from(42).entries(poisoned).build());
            EtcdException later = MemberTestSupport.awaitStoppedProposals(m, "Raft failed on a peer message");
            assertEquals(EtcdError.STOPPED, later.error());
            assertTrue(m.isStopped());
        } finally {
            m.close();
            rt.close();
        }
    }
}
