package io.quorumlab.server.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.server.EtcdError;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.assertStatus;
import static io.quorumlab.server.api.ApiFixture.bs;
import static io.quorumlab.server.api.ApiFixture.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvApiTest {
    static ApiFixture fx;

    @BeforeAll
    static void start() throws Exception { fx = new ApiFixture(); }

    @AfterAll
    static void stop() throws Exception { fx.close(); }

    static PutResponse put(String k, String v) { return fx.kv().put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).build()); }

    static void assertHeader(ResponseHeader h, long revision) {
        assertEquals(FakeMember.CLUSTER_ID, h.getClusterId());
        assertEquals(FakeMember.MEMBER_ID, h.getMemberId());
        assertEquals(fx.member.term, h.getRaftTerm());
        assertEquals(revision, h.getRevision());
    }

    @Test
    void putGetPrefixLimitCountKeysOnlyAndOldRevisions() {
        long r1 = put("/kv/a", "1").getHeader().getRevision();
        put("/kv/b", "2");
        put("/kv/c", "3");
        PutResponse p = fx.kv().put(PutRequest.newBuilder().setKey(bs("/kv/a")).setValue(bs("1b")).setPrevKv(true).build());
        long rev = p.getHeader().getRevision();
        assertEquals(r1 + 3, rev, "one revision per write");
        assertHeader(p.getHeader(), rev);
        assertEquals("1", str(p.getPrevKv().getValue()));

        RangeResponse one = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/a")).build());
        assertHeader(one.getHeader(), rev);
        KeyValue a = one.getKvs(0);
        assertEquals("1b", str(a.getValue()));
        assertEquals(r1, a.getCreateRevision());
        assertEquals(rev, a.getModRevision());
        assertEquals(2, a.getVersion());

        ByteString end = ByteString.copyFrom(Bytes.prefixEnd(Bytes.of("/kv/")));
        RangeResponse page = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/")).setRangeEnd(end).setLimit(2).build());
        assertEquals(2, page.getKvsCount());
        assertTrue(page.getMore());
        assertEquals(3, page.getCount(), "count is exact, before limit");
        RangeResponse next = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/b\0")).setRangeEnd(end).setLimit(2)
                .setRevision(page.getHeader().getRevision()).build());
        assertEquals("/kv/c", str(next.getKvs(0).getKey()));
        assertFalse(next.getMore());

        RangeResponse keysOnly = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/")).setRangeEnd(end).setKeysOnly(true).build());
        assertEquals(3, keysOnly.getKvsCount());
        assertTrue(keysOnly.getKvs(0).getValue().isEmpty());
        RangeResponse countOnly = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/")).setRangeEnd(end).setCountOnly(true).build());
        assertEquals(0, countOnly.getKvsCount());
        assertEquals(3, countOnly.getCount());

        RangeResponse old = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/a")).setRevision(r1).build());
        assertEquals("1", str(old.getKvs(0).getValue()));
        RangeResponse desc = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/")).setRangeEnd(end)
                .setSortOrder(RangeRequest.SortOrder.DESCEND).setSortTarget(RangeRequest.SortTarget.MOD).build());
        assertEquals("/kv/a", str(desc.getKvs(0).getKey()));
        RangeResponse serial = fx.kv().range(RangeRequest.newBuilder().setKey(bs("/kv/b")).setSerializable(true).build());
        assertEquals("2", str(serial.getKvs(0).getValue()));

        DeleteRangeResponse d = fx.kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/kv/")).setRangeEnd(end).setPrevKv(true).build());
        assertEquals(3, d.getDeleted());
        assertEquals(3, d.getPrevKvsCount());
        assertHeader(d.getHeader(), rev + 1);
    }

    static Compare modEquals(String key, long rev) {
        return Compare.newBuilder().setKey(bs(key)).setTarget(Compare.CompareTarget.MOD).setResult(Compare.CompareResult.EQUAL)
                .setModRevision(rev).build();
    }

    static RequestOp putOp(String k, String v) {
        return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))).build();
    }

    static RequestOp getOp(String k) { return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(k))).build(); }

    static RequestOp delOp(String k) {
        return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs(k))).build();
    }

    /** kube-apiserver's create, update (with a stale and a current revision) and delete transactions. */
    @Test
    void kubeStyleTransactions() {
        String k = "/registry/pods/default/p1";
        TxnResponse create = fx.kv().txn(TxnRequest.newBuilder().addCompare(modEquals(k, 0)).addSuccess(putOp(k, "v1")).build());
        assertTrue(create.getSucceeded());
        long created = create.getHeader().getRevision();
        assertHeader(create.getHeader(), created);
        ResponseOp putResp = create.getResponses(0);
        assertTrue(putResp.getResponsePut().hasHeader(), "nested put response carries a header");
        assertHeader(putResp.getResponsePut().getHeader(), created);

        TxnResponse again = fx.kv().txn(TxnRequest.newBuilder().addCompare(modEquals(k, 0)).addSuccess(putOp(k, "v1"))
                .addFailure(getOp(k)).build());
        assertFalse(again.getSucceeded(), "create of an existing key fails");
        assertEquals(created, again.getHeader().getRevision(), "a failed txn writes nothing");

        TxnResponse stale = fx.kv().txn(TxnRequest.newBuilder().addCompare(modEquals(k, created - 1)).addSuccess(putOp(k, "v2"))
                .addFailure(getOp(k)).build());
        assertFalse(stale.getSucceeded());
        RangeResponse current = stale.getResponses(0).getResponseRange();
        assertTrue(current.hasHeader());
        assertHeader(current.getHeader(), created);
        assertEquals("v1", str(current.getKvs(0).getValue()));

        TxnResponse update = fx.kv().txn(TxnRequest.newBuilder().addCompare(modEquals(k, created)).addSuccess(putOp(k, "v2"))
                .addFailure(getOp(k)).build());
        assertTrue(update.getSucceeded());
        assertEquals(created + 1, update.getHeader().getRevision());

        TxnResponse delete = fx.kv().txn(TxnRequest.newBuilder().addCompare(modEquals(k, created + 1)).addSuccess(delOp(k))
                .addFailure(getOp(k)).build());
        assertTrue(delete.getSucceeded());
        assertEquals(1, delete.getResponses(0).getResponseDeleteRange().getDeleted());
        assertHeader(delete.getResponses(0).getResponseDeleteRange().getHeader(), created + 2);

        // kube's compaction bookkeeping: If(version(compact_rev_key) == 0) Then(Put) Else(Range).
        Compare version0 = Compare.newBuilder().setKey(bs("compact_rev_key")).setTarget(Compare.CompareTarget.VERSION)
                .setResult(Compare.CompareResult.EQUAL).setVersion(0).build();
        assertTrue(fx.kv().txn(TxnRequest.newBuilder().addCompare(version0).addSuccess(putOp("compact_rev_key", "1"))
                .addFailure(getOp("compact_rev_key")).build()).getSucceeded());
    }

    @Test
    void readOnlyTxnIsServedWithoutProposingAndNestedTxnsWork() {
        long rev = put("/ro/x", "1").getHeader().getRevision();
        int before = fx.member.proposals.get();
        TxnRequest ro = TxnRequest.newBuilder().addCompare(Compare.newBuilder().setKey(bs("/ro/x")).setTarget(Compare.CompareTarget.VALUE)
                        .setResult(Compare.CompareResult.EQUAL).setValue(bs("1")))
                .addSuccess(getOp("/ro/x"))
                .addSuccess(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder().addSuccess(getOp("/ro/x"))))
                .build();
        TxnResponse r = fx.kv().txn(ro);
        assertEquals(before, fx.member.proposals.get(), "a read-only txn is a read");
        assertTrue(r.getSucceeded());
        assertHeader(r.getHeader(), rev);
        assertEquals("1", str(r.getResponses(0).getResponseRange().getKvs(0).getValue()));
        assertTrue(r.getResponses(1).getResponseTxn().hasHeader());
        assertEquals("1", str(r.getResponses(1).getResponseTxn().getResponses(0).getResponseRange().getKvs(0).getValue()));

        // Compare with range_end: every key in [a, c) must satisfy it.
        put("/rr/a", "x");
        put("/rr/b", "y");
        Compare allX = Compare.newBuilder().setKey(bs("/rr/a")).setRangeEnd(bs("/rr/c")).setTarget(Compare.CompareTarget.VALUE)
                .setResult(Compare.CompareResult.EQUAL).setValue(bs("x")).build();
        assertFalse(fx.kv().txn(TxnRequest.newBuilder().addCompare(allX).build()).getSucceeded());
        Compare allPresent = allX.toBuilder().setTarget(Compare.CompareTarget.VERSION).setResult(Compare.CompareResult.GREATER)
                .setVersion(0).build();
        assertTrue(fx.kv().txn(TxnRequest.newBuilder().addCompare(allPresent).build()).getSucceeded());

        // A nested write txn goes through Raft and its nested response carries a header.
        TxnResponse w = fx.kv().txn(TxnRequest.newBuilder()
                .addSuccess(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder().addSuccess(putOp("/nested/k", "v")))).build());
        assertTrue(w.getResponses(0).getResponseTxn().getResponses(0).getResponsePut().hasHeader());
        assertEquals(before + 3, fx.member.proposals.get());
    }

    @Test
    void compareOnLeaseTravelsAsAnUnknownField() {
        long lease = fx.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build()).getID();
        fx.kv().put(PutRequest.newBuilder().setKey(bs("/leased")).setValue(bs("v")).setLease(lease).build());
        Compare leaseEq = Compare.newBuilder().setKey(bs("/leased")).setResult(Compare.CompareResult.EQUAL)
                .setTargetValue(ProtoMapper.COMPARE_TARGET_LEASE)
                .setUnknownFields(UnknownFieldSet.newBuilder().addField(ProtoMapper.COMPARE_LEASE_FIELD, ProtoMapper.varint(lease)).build())
                .build();
        assertTrue(fx.kv().txn(TxnRequest.newBuilder().addCompare(leaseEq).build()).getSucceeded());
        Compare leaseOther = leaseEq.toBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(ProtoMapper.COMPARE_LEASE_FIELD, ProtoMapper.varint(lease + 1)).build()).build();
        assertFalse(fx.kv().txn(TxnRequest.newBuilder().addCompare(leaseOther).build()).getSucceeded());
    }

    @Test
    void validationErrorsHaveEtcdsCodesAndMessages() {
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                () -> fx.kv().put(PutRequest.newBuilder().setValue(bs("v")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                () -> fx.kv().range(RangeRequest.newBuilder().build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                () -> fx.kv().deleteRange(DeleteRangeRequest.newBuilder().build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: invalid sort option",
                () -> fx.kv().range(RangeRequest.newBuilder().setKey(bs("k")).setSortOrderValue(9).build()));
        TxnRequest.Builder many = TxnRequest.newBuilder();
        for (int i = 0; i <= 128; i++) many.addSuccess(putOp("/many/" + i, "v"));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request", () -> fx.kv().txn(many.build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request",
                () -> fx.kv().txn(TxnRequest.newBuilder().addSuccess(putOp("/dup", "1")).addSuccess(putOp("/dup", "2")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: value is provided",
                () -> fx.kv().put(PutRequest.newBuilder().setKey(bs("k")).setValue(bs("v")).setIgnoreValue(true).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: key not found",
                () -> fx.kv().txn(TxnRequest.newBuilder().addSuccess(RequestOp.getDefaultInstance()).build()));
        byte[] big = new byte[ClientServer.Config.DEFAULT_MAX_REQUEST_BYTES + 1000];
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large",
                () -> fx.kv().put(PutRequest.newBuilder().setKey(bs("/big")).setValue(ByteString.copyFrom(big)).build()));
        assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                () -> fx.kv().put(PutRequest.newBuilder().setKey(bs("/nolease")).setValue(bs("v")).setLease(424242).build()));
        long rev = put("/future", "v").getHeader().getRevision();
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                () -> fx.kv().range(RangeRequest.newBuilder().setKey(bs("/future")).setRevision(rev + 100).build()));
    }

    @Test
    void compactionAndCompactedReads() {
        long r1 = put("/c/k", "1").getHeader().getRevision();
        long r2 = put("/c/k", "2").getHeader().getRevision();
        io.etcd.jetcd.api.CompactionResponse c = fx.kv().compact(CompactionRequest.newBuilder().setRevision(r2).setPhysical(true).build());
        assertTrue(c.hasHeader());
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted",
                () -> fx.kv().range(RangeRequest.newBuilder().setKey(bs("/c/k")).setRevision(r1).build()));
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted",
                () -> fx.kv().compact(CompactionRequest.newBuilder().setRevision(r1).build()));
        assertEquals("2", str(fx.kv().range(RangeRequest.newBuilder().setKey(bs("/c/k")).setRevision(r2).build()).getKvs(0).getValue()));
    }

    @Test
    void memberFailuresAndUnexpectedExceptions() {
        try {
            fx.member.failure = EtcdError.NO_LEADER::exception;
            assertStatus(Status.Code.UNAVAILABLE, "etcdserver: no leader", () -> put("/f", "v"));
            assertStatus(Status.Code.UNAVAILABLE, "etcdserver: no leader", () -> fx.kv().range(RangeRequest.newBuilder().setKey(bs("/f")).build()));
            fx.member.failure = EtcdError.TIMEOUT::exception;
            assertStatus(Status.Code.UNAVAILABLE, "etcdserver: request timed out", () -> put("/f", "v"));
            fx.member.failure = EtcdError.TOO_MANY_REQUESTS::exception;
            assertStatus(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: too many requests", () -> put("/f", "v"));
            fx.member.failure = EtcdError.NOT_LEADER::exception;
            assertStatus(Status.Code.FAILED_PRECONDITION, "etcdserver: not leader", () -> put("/f", "v"));
            fx.member.failure = () -> new IllegalStateException("boom");
            io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class, () -> put("/f", "v"));
            assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("boom"));
        } finally {
            fx.member.failure = null;
        }
        // Serializable reads never touch the member: they work without a leader.
        long saved = fx.member.leader;
        try {
            fx.member.leader = 0;
            fx.kv().range(RangeRequest.newBuilder().setKey(bs("/f")).setSerializable(true).build());
            Metadata md = new Metadata();
            md.put(ApiInterceptor.HAS_LEADER, "true");
            KVGrpc.KVBlockingStub requireLeader = fx.kv().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
            assertStatus(Status.Code.UNAVAILABLE, "etcdserver: no leader",
                    () -> requireLeader.range(RangeRequest.newBuilder().setKey(bs("/f")).setSerializable(true).build()));
        } finally {
            fx.member.leader = saved;
        }
        put("/f", "after");
    }
}
