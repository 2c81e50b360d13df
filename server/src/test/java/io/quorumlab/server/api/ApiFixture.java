package io.quorumlab.server.api;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.WatchGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** One fake member, one ClientServer on 127.0.0.1:0, one client channel. */
final class ApiFixture implements AutoCloseable {
    final FakeMember member = new FakeMember();
    final ClientServer server;
    final ManagedChannel channel;

    ApiFixture() throws Exception { this(ClientServer.Config.defaults("127.0.0.1", 0)); }

    ApiFixture(ClientServer.Config config) throws Exception {
        server = new ClientServer(member, config).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    KVGrpc.KVBlockingStub kv() { return KVGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS); }

    LeaseGrpc.LeaseBlockingStub lease() { return LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS); }

    MaintenanceGrpc.MaintenanceBlockingStub maintenance() {
        return MaintenanceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    WatchGrpc.WatchStub watch() { return WatchGrpc.newStub(channel); }

    static ByteString bs(String s) { return ByteString.copyFromUtf8(s); }

    static String str(ByteString b) { return b.toString(StandardCharsets.UTF_8); }

    static void assertStatus(Status.Code code, String message, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), () -> "status " + e.getStatus());
        assertEquals(message, e.getStatus().getDescription());
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.close();
        member.close();
    }
}
