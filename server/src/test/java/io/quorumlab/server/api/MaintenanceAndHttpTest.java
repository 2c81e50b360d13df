package io.quorumlab.server.api;

import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.DefragmentRequest;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.HashKVResponse;
import io.etcd.jetcd.api.HashRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.assertStatus;
import static io.quorumlab.server.api.ApiFixture.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MaintenanceAndHttpTest {
    static ApiFixture fx;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception { fx = new ApiFixture(); }

    @AfterAll
    static void stop() throws Exception { fx.close(); }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.server.port() + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void statusHashAndAlarms() {
        long rev = fx.kv().put(PutRequest.newBuilder().setKey(bs("/m/k")).setValue(bs("v")).build()).getHeader().getRevision();
        StatusResponse st = fx.maintenance().status(StatusRequest.getDefaultInstance());
        assertEquals("3.4.23", st.getVersion());
        assertEquals(FakeMember.MEMBER_ID, st.getLeader());
        assertEquals(FakeMember.MEMBER_ID, st.getHeader().getMemberId());
        assertEquals(FakeMember.CLUSTER_ID, st.getHeader().getClusterId());
        assertEquals(rev, st.getHeader().getRevision());
        assertEquals(fx.member.term, st.getRaftTerm());
        assertTrue(st.getRaftIndex() > 0);
        assertTrue(st.getDbSize() >= 0); // the in-memory backend counts only committed batches
        assertTrue(st.getUnknownFields().hasField(MaintenanceService.STATUS_DB_SIZE_IN_USE), "dbSizeInUse is sent");
        assertEquals(st.getRaftIndex(), ProtoMapper.unknownVarint(st.getUnknownFields(), MaintenanceService.STATUS_RAFT_APPLIED_INDEX));

        HashKVResponse h1 = fx.maintenance().hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
        HashKVResponse h2 = fx.maintenance().hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
        assertEquals(h1.getHash(), h2.getHash());
        assertEquals(rev, ProtoMapper.unknownVarint(h1.getUnknownFields(), MaintenanceService.HASHKV_HASH_REVISION));
        assertTrue(fx.maintenance().hash(HashRequest.getDefaultInstance()).hasHeader());
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                () -> fx.maintenance().hashKV(HashKVRequest.newBuilder().setRevision(rev + 1000).build()));

        AlarmResponse none = fx.maintenance().alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build());
        assertEquals(0, none.getAlarmsCount());
        fx.maintenance().alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.ACTIVATE)
                .setMemberID(FakeMember.MEMBER_ID).setAlarm(AlarmType.NOSPACE).build());
        try {
            AlarmResponse one = fx.maintenance().alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build());
            assertEquals(1, one.getAlarmsCount());
            assertEquals(AlarmType.NOSPACE, one.getAlarms(0).getAlarm());
            assertStatus(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded",
                    () -> fx.kv().put(PutRequest.newBuilder().setKey(bs("/m/full")).setValue(bs("v")).build()));
            assertTrue(fx.maintenance().status(StatusRequest.getDefaultInstance()).getUnknownFields()
                    .hasField(MaintenanceService.STATUS_ERRORS), "an active alarm is listed in Status.errors");
        } finally {
            fx.maintenance().alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                    .setMemberID(FakeMember.MEMBER_ID).setAlarm(AlarmType.NOSPACE).build());
        }
        fx.kv().put(PutRequest.newBuilder().setKey(bs("/m/ok")).setValue(bs("v")).build());

        // Defragment runs on the member's apply thread and answers with a header.
        assertTrue(fx.maintenance().defragment(DefragmentRequest.getDefaultInstance()).hasHeader());
    }

    @Test
    void grpcHealthFollowsTheLeader() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(fx.channel);
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        long saved = fx.member.leader;
        fx.member.leader = 0;
        try {
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        } finally {
            fx.member.leader = saved;
        }
    }

    @Test
    void httpEndpointsShareTheGrpcPort() throws Exception {
        HttpResponse<String> v = get("/version");
        assertEquals(200, v.statusCode());
        assertEquals("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", v.body());

        HttpResponse<String> h = get("/health");
        assertEquals(200, h.statusCode());
        assertEquals("{\"health\":\"true\"}", h.body());

        long saved = fx.member.leader;
        fx.member.leader = 0;
        try {
            HttpResponse<String> bad = get("/health");
            assertEquals(503, bad.statusCode());
            assertEquals("{\"health\":\"false\"}", bad.body());
        } finally {
            fx.member.leader = saved;
        }
        fx.member.failure = () -> io.quorumlab.server.EtcdError.TIMEOUT.exception();
        try {
            assertEquals(503, get("/health").statusCode(), "a leader but no successful read is unhealthy");
        } finally {
            fx.member.failure = null;
        }

        fx.kv().range(io.etcd.jetcd.api.RangeRequest.newBuilder().setKey(bs("/metrics-probe")).build());
        HttpResponse<String> m = get("/metrics");
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        assertTrue(m.body().contains("grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"etcdserverpb.KV\",grpc_method=\"Range\",grpc_code=\"OK\",}"),
                () -> m.body().lines().filter(l -> l.startsWith("grpc_server_handled")).toList().toString());

        assertEquals(404, get("/nope").statusCode());
        // gRPC still works on the same port after HTTP traffic.
        assertFalse(fx.kv().range(io.etcd.jetcd.api.RangeRequest.newBuilder().setKey(bs("/m/")).setRangeEnd(bs("/m0")).build())
                .getHeader().getRevision() == 0);
    }

    @Test
    void garbageOnThePortIsRefusedAndServingContinues() throws Exception {
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", fx.server.port())) {
            sock.setSoTimeout(5000);
            sock.getOutputStream().write("\u0001\u0002 not a protocol at all\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            sock.getOutputStream().flush();
            String reply = new String(sock.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            assertTrue(reply.startsWith("HTTP/1.1 400"), reply);
        }
        try (java.net.Socket sock = new java.net.Socket("127.0.0.1", fx.server.port())) {
            sock.getOutputStream().write("PRI * HTT".getBytes(java.nio.charset.StandardCharsets.US_ASCII)); // a preface cut short
        }
        assertEquals(200, get("/version").statusCode());
        assertTrue(fx.maintenance().status(StatusRequest.getDefaultInstance()).hasHeader());
    }

    /** Services from elsewhere (the member's Cluster service) can share the port. */
    @Test
    void extraServicesAreMounted() throws Exception {
        io.etcd.jetcd.api.ClusterGrpc.ClusterImplBase cluster = new io.etcd.jetcd.api.ClusterGrpc.ClusterImplBase() {
            @Override
            public void memberList(io.etcd.jetcd.api.MemberListRequest req,
                                   io.grpc.stub.StreamObserver<io.etcd.jetcd.api.MemberListResponse> obs) {
                obs.onNext(io.etcd.jetcd.api.MemberListResponse.newBuilder()
                        .addMembers(io.etcd.jetcd.api.Member.newBuilder().setID(FakeMember.MEMBER_ID).setName("m1")).build());
                obs.onCompleted();
            }
        };
        FakeMember m = new FakeMember();
        try (ClientServer s = new ClientServer(m, ClientServer.Config.defaults("127.0.0.1", 0), java.util.List.of(cluster.bindService())).start()) {
            io.grpc.ManagedChannel ch = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", s.port())
                    .usePlaintext().build();
            try {
                assertEquals("m1", io.etcd.jetcd.api.ClusterGrpc.newBlockingStub(ch).memberList(
                        io.etcd.jetcd.api.MemberListRequest.getDefaultInstance()).getMembers(0).getName());
            } finally {
                ch.shutdownNow();
            }
        } finally {
            m.close();
        }
    }

    @Test
    void aBusyPortFailsStartCleanly() {
        ClientServer second = new ClientServer(fx.member, ClientServer.Config.defaults("127.0.0.1", fx.server.port()));
        assertThrows(java.io.IOException.class, second::start);
        second.close();
    }
}
