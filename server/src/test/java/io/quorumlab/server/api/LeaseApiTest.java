package io.quorumlab.server.api;

import com.google.protobuf.Empty;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.assertStatus;
import static io.quorumlab.server.api.ApiFixture.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeaseApiTest {
    static ApiFixture fx;

    @BeforeAll
    static void start() throws Exception { fx = new ApiFixture(); }

    @AfterAll
    static void stop() throws Exception { fx.close(); }

    static List<Long> leases() throws Exception {
        Empty resp = ClientCalls.blockingUnaryCall(fx.channel, LeaseService.LEASE_LEASES,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), Empty.getDefaultInstance());
        UnknownFieldSet u = resp.getUnknownFields();
        ResponseHeader h = ResponseHeader.parseFrom(u.getField(1).getLengthDelimitedList().get(0));
        assertEquals(FakeMember.MEMBER_ID, h.getMemberId());
        List<Long> ids = new ArrayList<>();
        if (u.hasField(2)) {
            for (var b : u.getField(2).getLengthDelimitedList()) ids.add(UnknownFieldSet.parseFrom(b).getField(1).getVarintList().get(0));
        }
        return ids;
    }

    @Test
    void grantKeepAliveTimeToLiveListAndRevoke() throws Exception {
        LeaseGrantResponse g = fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build());
        long id = g.getID();
        assertTrue(id > 0, "server picks a positive id");
        assertEquals(60, g.getTTL());
        assertTrue(g.hasHeader());
        LeaseGrantResponse fixed = fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(1).setID(77).build());
        assertEquals(77, fixed.getID());
        assertEquals(2, fixed.getTTL(), "minimum TTL applies");
        assertStatus(Status.Code.FAILED_PRECONDITION, "etcdserver: lease already exists",
                () -> fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(5).setID(77).build()));

        fx.kv().put(PutRequest.newBuilder().setKey(bs("/lease/a")).setValue(bs("1")).setLease(id).build());
        fx.kv().put(PutRequest.newBuilder().setKey(bs("/lease/b")).setValue(bs("2")).setLease(id).build());
        LeaseTimeToLiveResponse ttl = fx.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).setKeys(true).build());
        assertEquals(60, ttl.getGrantedTTL());
        assertTrue(ttl.getTTL() > 55 && ttl.getTTL() <= 60, "remaining " + ttl.getTTL());
        assertEquals(List.of("/lease/a", "/lease/b"), ttl.getKeysList().stream().map(ApiFixture::str).sorted().toList());
        LeaseTimeToLiveResponse missing = fx.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(123456).build());
        assertEquals(-1, missing.getTTL(), "etcd answers an unknown lease with TTL -1");

        assertTrue(leases().containsAll(List.of(id, 77L)));

        LinkedBlockingQueue<Object> got = new LinkedBlockingQueue<>();
        StreamObserver<LeaseKeepAliveRequest> ka = LeaseGrpc.newStub(fx.channel).leaseKeepAlive(new StreamObserver<>() {
            @Override public void onNext(LeaseKeepAliveResponse v) { got.add(v); }
            @Override public void onError(Throwable t) { got.add(t); }
            @Override public void onCompleted() { got.add("completed"); }
        });
        ka.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
        LeaseKeepAliveResponse r1 = (LeaseKeepAliveResponse) got.poll(5, TimeUnit.SECONDS);
        assertNotNull(r1);
        assertEquals(id, r1.getID());
        assertEquals(60, r1.getTTL());
        assertEquals(FakeMember.MEMBER_ID, r1.getHeader().getMemberId());
        ka.onNext(LeaseKeepAliveRequest.newBuilder().setID(999_999).build());
        LeaseKeepAliveResponse r2 = (LeaseKeepAliveResponse) got.poll(5, TimeUnit.SECONDS);
        assertNotNull(r2);
        assertEquals(999_999, r2.getID());
        assertEquals(0, r2.getTTL(), "etcd answers a keep-alive of an unknown lease with TTL 0");
        ka.onNext(LeaseKeepAliveRequest.newBuilder().setID(id).build());
        assertEquals(id, ((LeaseKeepAliveResponse) got.poll(5, TimeUnit.SECONDS)).getID());
        ka.onCompleted();
        assertEquals("completed", got.poll(5, TimeUnit.SECONDS));

        long before = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/lease/a")).build()).getHeader().getRevision();
        io.etcd.jetcd.api.LeaseRevokeResponse rv = fx.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
        assertEquals(before + 1, rv.getHeader().getRevision(), "revoke deletes its keys in one revision");
        assertEquals(0, fx.kv().range(RangeRequest.newBuilder().setKey(bs("/lease/")).setRangeEnd(bs("/lease0")).build()).getCount());
        assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                () -> fx.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build()));
        assertTrue(!leases().contains(id));
    }

    @Test
    void expiryDeletesAttachedKeys() throws Exception {
        long id = fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(2).build()).getID();
        fx.kv().put(PutRequest.newBuilder().setKey(bs("/expiring")).setValue(bs("v")).setLease(id).build());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fx.kv().range(RangeRequest.newBuilder().setKey(bs("/expiring")).build()).getCount() != 0) {
            assertTrue(System.nanoTime() < deadline, "lease never expired");
            Thread.sleep(100);
        }
        assertEquals(-1, fx.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).build()).getTTL());
    }

    @Test
    void tooLargeTtl() {
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: too large lease TTL",
                () -> fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(9_000_000_001L).build()));
    }
}
