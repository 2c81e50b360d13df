package io.quorumlab.server.member;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.server.TestPorts;
import io.quorumlab.server.api.ClientServer;
import io.quorumlab.server.peer.LocalTransport;
import io.quorumlab.server.runtime.RealRuntime;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member fail-stopped by a failed backend commit (a full LMDB map, as {@link ApplyFailureStopsMemberTest})
 * ends its open watch streams with UNAVAILABLE "etcdserver: server stopped", as every other request
 * is answered, and refuses new ones; before, the streams stayed open and silent.
 */
class WatchFailStopTest {

    /** One raw watch stream: its events and how it ended. */
    static final class Stream implements StreamObserver<WatchResponse> {
        final AtomicInteger events = new AtomicInteger();
        final CompletableFuture<Boolean> created = new CompletableFuture<>();
        final CompletableFuture<Throwable> ended = new CompletableFuture<>();

        @Override
        public void onNext(WatchResponse r) {
            if (r.getCreated()) created.complete(!r.getCanceled());
            events.addAndGet(r.getEventsCount());
        }

        @Override public void onError(Throwable t) { ended.complete(t); }

        @Override public void onCompleted() { ended.complete(null); }

        static Stream open(ManagedChannel ch) {
            Stream s = new Stream();
            StreamObserver<WatchRequest> req = WatchGrpc.newStub(ch).watch(s);
            req.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                    .setKey(ByteString.copyFromUtf8("k")).setRangeEnd(ByteString.copyFromUtf8("l"))).build());
            return s;
        }

        void assertStopped() throws Exception {
            Throwable t = ended.get(10, TimeUnit.SECONDS);
            assertNotNull(t, "the stream ended with OK");
            Status s = Status.fromThrowable(t);
            assertEquals(Status.Code.UNAVAILABLE, s.getCode(), () -> "status " + s);
            assertEquals("etcdserver: server stopped", s.getDescription());
        }
    }

    @Test
    void aFailStoppedMemberEndsItsWatchStreams(@TempDir Path dir) throws Exception {
        Map<String, String> cluster = new LinkedHashMap<>();
        cluster.put("solo", "http://127.0.0.1:" + TestPorts.free());
        MemberConfig cfg = MemberConfig.defaults("solo", dir.resolve("solo"), cluster).withTimeouts(50, 500);
        RealRuntime real = new RealRuntime("solo", 5, 1000);
        Member m = new Member(cfg, new ApplyFailureStopsMemberTest.SmallMapRuntime(real),
                new LocalTransport.Hub().join(cfg.memberId()), MemberMetrics.isolated());
        ClientServer api = null;
        ManagedChannel ch = null;
        try {
            m.start();
            MemberTestSupport.awaitSelfLeader(m);
            api = new ClientServer(m, ClientServer.Config.defaults("127.0.0.1", 0)).start();
            ch = NettyChannelBuilder.forAddress("127.0.0.1", api.port()).usePlaintext().maxInboundMessageSize(64 << 20).build();
            Stream watching = Stream.open(ch);
            assertTrue(watching.created.get(10, TimeUnit.SECONDS), "watch created");
            byte[] value = new byte[64 << 10];
            boolean failed = false;
            for (int i = 0; i < 64 && !failed; i++) { // 4 MiB of values: the 1 MiB map fills
                try {
                    m.propose(PutRequest.of(Bytes.of("k" + i), value)).get(10, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    failed = true;
                }
            }
            assertTrue(failed, "the 1 MiB map took 4 MiB");
            watching.assertStopped();
            assertTrue(m.isStopped());
            Stream late = Stream.open(ch);
            late.assertStopped();
            assertTrue(late.events.get() == 0 && !late.created.isDone(), "a stopped member creates no watcher");
        } finally {
            if (ch != null) ch.shutdownNow();
            if (api != null) api.close();
            m.close();
            real.close();
        }
    }
}
