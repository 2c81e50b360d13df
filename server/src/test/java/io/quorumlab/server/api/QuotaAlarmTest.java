package io.quorumlab.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DefragmentRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's NOSPACE drill from the seed guides against a real member: fill a small quota until
 * writes fail with etcd's error and the alarm is raised, then delete, compact, defragment, disarm, and
 * write again.
 */
class QuotaAlarmTest {
    @TempDir
    Path dir;

    static int freePort() throws Exception {
        return io.quorumlab.server.TestPorts.free();
    }

    @Test
    void fillQuotaThenCompactDefragDisarm() throws Exception {
        int c = freePort(), p = freePort();
        String[] args = {"--name", "q", "--data-dir", dir.resolve("q").toString(),
                "--listen-client-urls", "http://127.0.0.1:" + c, "--advertise-client-urls", "http://127.0.0.1:" + c,
                "--listen-peer-urls", "http://127.0.0.1:" + p, "--initial-advertise-peer-urls", "http://127.0.0.1:" + p,
                "--initial-cluster", "q=http://127.0.0.1:" + p, "--quota-backend-bytes", String.valueOf(1L << 20)};
        try (EtcdServer s = EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (s.member().leaderId() != s.member().memberId()) {
                assertTrue(System.nanoTime() < deadline, "no leader");
                Thread.sleep(20);
            }
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", c).usePlaintext().build();
            try {
                var kv = KVGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                var mt = MaintenanceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                ByteString value = ByteString.copyFrom(new byte[16 * 1024]);
                StatusRuntimeException full = null;
                for (int i = 0; i < 2000 && full == null; i++) {
                    try {
                        kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("big/" + i)).setValue(value).build());
                    } catch (StatusRuntimeException e) {
                        full = e;
                    }
                }
                assertTrue(full != null, "a 1 MiB quota must fill up");
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
                assertEquals("etcdserver: mvcc: database space exceeded", full.getStatus().getDescription());
                var alarms = mt.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build());
                assertEquals(1, alarms.getAlarmsCount(), alarms.toString());
                assertEquals(AlarmType.NOSPACE, alarms.getAlarms(0).getAlarm());

                // Recovery as etcd documents it: free space, compact, defragment, disarm.
                long rev = kv.deleteRange(DeleteRangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("big/"))
                        .setRangeEnd(ByteString.copyFromUtf8("big0")).build()).getHeader().getRevision();
                kv.compact(CompactionRequest.newBuilder().setRevision(rev).setPhysical(true).build());
                mt.defragment(DefragmentRequest.getDefaultInstance());
                mt.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                        .setMemberID(alarms.getAlarms(0).getMemberID()).setAlarm(AlarmType.NOSPACE).build());
                assertEquals(0, mt.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build()).getAlarmsCount());
                kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("after")).setValue(ByteString.copyFromUtf8("ok")).build());
                assertThrows(StatusRuntimeException.class, () -> kv.put(PutRequest.newBuilder()
                        .setKey(ByteString.EMPTY).setValue(ByteString.copyFromUtf8("x")).build()), "sanity: errors still errors");
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
