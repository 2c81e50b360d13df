package io.quorumlab.server.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.UnsafeByteOperations;
import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.AlarmResponse;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.DeleteRangeResponse;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.PutResponse;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.ResponseOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.server.member.MemberApi;
import java.util.ArrayList;
import java.util.List;

/**
 * etcdserverpb protobuf messages (jetcd-grpc's generated classes) to and from the mvcc records.
 *
 * <p>jetcd-grpc 0.8.3 ships a trimmed rpc.proto: a few etcd 3.4 fields are missing from its
 * classes (Compare LEASE target, WatchCreateRequest.watch_id/fragment, WatchResponse.fragment,
 * StatusResponse's later fields, HashKVResponse.hash_revision, AlarmType CORRUPT). They still
 * travel on the wire as protobuf unknown fields, which is how they are read and written here.
 */
final class ProtoMapper {
    /** etcd's Compare.CompareTarget LEASE and the target_union field that carries it. */
    static final int COMPARE_TARGET_LEASE = 4;
    static final int COMPARE_LEASE_FIELD = 8;
    static final int WATCH_CREATE_WATCH_ID_FIELD = 7;
    static final int WATCH_CREATE_FRAGMENT_FIELD = 8;
    static final int WATCH_RESPONSE_FRAGMENT_FIELD = 7;

    private ProtoMapper() {}

    /** The four header fields of one response, read from the member once per response. */
    record Headers(long clusterId, long memberId, long raftTerm) {
        static Headers of(MemberApi m) { return new Headers(m.clusterId(), m.memberId(), m.term()); }

        io.etcd.jetcd.api.ResponseHeader at(long revision) {
            return io.etcd.jetcd.api.ResponseHeader.newBuilder().setClusterId(clusterId).setMemberId(memberId)
                    .setRevision(revision).setRaftTerm(raftTerm).build();
        }
    }

    // ---- bytes -----------------------------------------------------------------------------

    static byte[] bytes(ByteString b) { return b.isEmpty() ? io.quorumlab.mvcc.api.Bytes.EMPTY : b.toByteArray(); }

    /** The store hands out fresh arrays it never mutates again, so wrapping without a copy is safe. */
    static ByteString bs(byte[] b) { return b.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(b); }

    // ---- requests ----------------------------------------------------------------------------

    static RangeRequest range(io.etcd.jetcd.api.RangeRequest p) {
        int order = p.getSortOrderValue(), target = p.getSortTargetValue();
        if (order < 0 || order >= RangeRequest.SortOrder.values().length || target < 0
                || target >= RangeRequest.SortTarget.values().length) {
            throw new InvalidRequest("etcdserver: invalid sort option");
        }
        return new RangeRequest(bytes(p.getKey()), bytes(p.getRangeEnd()), p.getLimit(), p.getRevision(),
                RangeRequest.SortOrder.values()[order], RangeRequest.SortTarget.values()[target], p.getSerializable(),
                p.getKeysOnly(), p.getCountOnly(), p.getMinModRevision(), p.getMaxModRevision(),
                p.getMinCreateRevision(), p.getMaxCreateRevision());
    }

    static PutRequest put(io.etcd.jetcd.api.PutRequest p) {
        return new PutRequest(bytes(p.getKey()), bytes(p.getValue()), p.getLease(), p.getPrevKv(), p.getIgnoreValue(),
                p.getIgnoreLease());
    }

    static DeleteRangeRequest delete(io.etcd.jetcd.api.DeleteRangeRequest p) {
        return new DeleteRangeRequest(bytes(p.getKey()), bytes(p.getRangeEnd()), p.getPrevKv());
    }

    static TxnRequest txn(io.etcd.jetcd.api.TxnRequest p) {
        List<Compare> cmps = new ArrayList<>(p.getCompareCount());
        for (io.etcd.jetcd.api.Compare c : p.getCompareList()) cmps.add(compare(c));
        return new TxnRequest(cmps, ops(p.getSuccessList()), ops(p.getFailureList()));
    }

    private static List<RequestOp> ops(List<io.etcd.jetcd.api.RequestOp> in) {
        List<RequestOp> out = new ArrayList<>(in.size());
        for (io.etcd.jetcd.api.RequestOp op : in) {
            switch (op.getRequestCase()) {
                case REQUEST_RANGE -> out.add(range(op.getRequestRange()));
                case REQUEST_PUT -> out.add(put(op.getRequestPut()));
                case REQUEST_DELETE_RANGE -> out.add(delete(op.getRequestDeleteRange()));
                case REQUEST_TXN -> out.add(txn(op.getRequestTxn()));
                // etcd 3.4 answers an op with no request set this way (its checker treats it as a missing key).
                default -> throw new InvalidRequest("etcdserver: key not found");
            }
        }
        return out;
    }

    static Compare compare(io.etcd.jetcd.api.Compare c) {
        int res = c.getResultValue();
        if (res < 0 || res >= Compare.Result.values().length) throw new InvalidRequest("etcdserver: invalid compare result");
        Compare.Result result = Compare.Result.values()[res];
        byte[] key = bytes(c.getKey()), end = bytes(c.getRangeEnd());
        int target = c.getTargetValue();
        return switch (target) {
            case 0 -> new Compare(result, Compare.Target.VERSION, key, end, c.getVersion(), null);
            case 1 -> new Compare(result, Compare.Target.CREATE, key, end, c.getCreateRevision(), null);
            case 2 -> new Compare(result, Compare.Target.MOD, key, end, c.getModRevision(), null);
            case 3 -> new Compare(result, Compare.Target.VALUE, key, end, 0, bytes(c.getValue()));
            case COMPARE_TARGET_LEASE -> new Compare(result, Compare.Target.LEASE, key, end,
                    unknownVarint(c.getUnknownFields(), COMPARE_LEASE_FIELD), null);
            default -> throw new InvalidRequest("etcdserver: invalid compare target");
        };
    }

    static CompactionRequest compaction(io.etcd.jetcd.api.CompactionRequest p) {
        return new CompactionRequest(p.getRevision(), p.getPhysical());
    }

    static AlarmRequest alarm(io.etcd.jetcd.api.AlarmRequest p) {
        int a = p.getActionValue(), t = p.getAlarmValue();
        if (a < 0 || a >= AlarmRequest.Action.values().length) throw new InvalidRequest("etcdserver: invalid alarm action");
        if (t < 0 || t >= AlarmRequest.AlarmType.values().length) throw new InvalidRequest("etcdserver: invalid alarm type");
        return new AlarmRequest(AlarmRequest.Action.values()[a], p.getMemberID(), AlarmRequest.AlarmType.values()[t]);
    }

    static WatchCreateRequest watchCreate(io.etcd.jetcd.api.WatchCreateRequest p) {
        boolean noPut = false, noDelete = false;
        for (int f : p.getFiltersValueList()) {
            if (f == 0) noPut = true;
            else if (f == 1) noDelete = true;
        }
        UnknownFieldSet u = p.getUnknownFields();
        return new WatchCreateRequest(bytes(p.getKey()), bytes(p.getRangeEnd()), p.getStartRevision(), p.getProgressNotify(),
                noPut, noDelete, p.getPrevKv(), unknownVarint(u, WATCH_CREATE_WATCH_ID_FIELD),
                unknownVarint(u, WATCH_CREATE_FRAGMENT_FIELD) != 0);
    }

    static long unknownVarint(UnknownFieldSet u, int field) {
        if (!u.hasField(field)) return 0;
        List<Long> v = u.getField(field).getVarintList();
        return v.isEmpty() ? 0 : v.get(v.size() - 1); // proto3: the last occurrence wins
    }

    static UnknownFieldSet.Field varint(long v) { return UnknownFieldSet.Field.newBuilder().addVarint(v).build(); }

    // ---- responses ---------------------------------------------------------------------------

    static io.etcd.jetcd.api.KeyValue kv(KeyValue kv) {
        return io.etcd.jetcd.api.KeyValue.newBuilder().setKey(bs(kv.key())).setCreateRevision(kv.createRevision())
                .setModRevision(kv.modRevision()).setVersion(kv.version()).setValue(bs(kv.value())).setLease(kv.lease())
                .build();
    }

    static io.etcd.jetcd.api.RangeResponse range(RangeResponse r, Headers h) {
        io.etcd.jetcd.api.RangeResponse.Builder b = io.etcd.jetcd.api.RangeResponse.newBuilder()
                .setHeader(h.at(r.header().revision())).setMore(r.more()).setCount(r.count());
        for (KeyValue kv : r.kvs()) b.addKvs(kv(kv));
        return b.build();
    }

    static io.etcd.jetcd.api.PutResponse put(PutResponse r, Headers h) {
        io.etcd.jetcd.api.PutResponse.Builder b = io.etcd.jetcd.api.PutResponse.newBuilder().setHeader(h.at(r.header().revision()));
        if (r.prevKv() != null) b.setPrevKv(kv(r.prevKv()));
        return b.build();
    }

    static io.etcd.jetcd.api.DeleteRangeResponse delete(DeleteRangeResponse r, Headers h) {
        io.etcd.jetcd.api.DeleteRangeResponse.Builder b = io.etcd.jetcd.api.DeleteRangeResponse.newBuilder()
                .setHeader(h.at(r.header().revision())).setDeleted(r.deleted());
        for (KeyValue kv : r.prevKvs()) b.addPrevKvs(kv(kv));
        return b.build();
    }

    /** Every nested response carries a header too: kube-apiserver <= 1.31 dereferences them. */
    static io.etcd.jetcd.api.TxnResponse txn(TxnResponse r, Headers h) {
        io.etcd.jetcd.api.TxnResponse.Builder b = io.etcd.jetcd.api.TxnResponse.newBuilder()
                .setHeader(h.at(r.header().revision())).setSucceeded(r.succeeded());
        for (ResponseOp op : r.responses()) {
            io.etcd.jetcd.api.ResponseOp.Builder o = io.etcd.jetcd.api.ResponseOp.newBuilder();
            if (op instanceof RangeResponse x) o.setResponseRange(range(x, h));
            else if (op instanceof PutResponse x) o.setResponsePut(put(x, h));
            else if (op instanceof DeleteRangeResponse x) o.setResponseDeleteRange(delete(x, h));
            else if (op instanceof TxnResponse x) o.setResponseTxn(txn(x, h));
            else throw new IllegalStateException("unknown response op " + op);
            b.addResponses(o);
        }
        return b.build();
    }

    static io.etcd.jetcd.api.AlarmResponse alarm(AlarmResponse r, Headers h) {
        io.etcd.jetcd.api.AlarmResponse.Builder b = io.etcd.jetcd.api.AlarmResponse.newBuilder().setHeader(h.at(r.header().revision()));
        for (AlarmResponse.Member m : r.alarms()) {
            b.addAlarms(io.etcd.jetcd.api.AlarmMember.newBuilder().setMemberID(m.memberId()).setAlarmValue(m.alarm().ordinal()));
        }
        return b.build();
    }

    static io.etcd.jetcd.api.Event event(Event e) {
        io.etcd.jetcd.api.Event.Builder b = io.etcd.jetcd.api.Event.newBuilder()
                .setType(e.type() == Event.Type.PUT ? io.etcd.jetcd.api.Event.EventType.PUT : io.etcd.jetcd.api.Event.EventType.DELETE)
                .setKv(kv(e.kv()));
        if (e.prevKv() != null) b.setPrevKv(kv(e.prevKv()));
        return b.build();
    }

    static io.etcd.jetcd.api.WatchResponse watch(WatchResponse r, Headers h) {
        io.etcd.jetcd.api.WatchResponse.Builder b = io.etcd.jetcd.api.WatchResponse.newBuilder().setHeader(h.at(r.revision()))
                .setWatchId(r.watchId()).setCreated(r.created()).setCanceled(r.canceled())
                .setCompactRevision(r.compactRevision()).setCancelReason(r.cancelReason());
        for (Event e : r.events()) b.addEvents(event(e));
        return b.build();
    }

    /** A request that etcd's gRPC layer rejects with InvalidArgument and this exact message. */
    static final class InvalidRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InvalidRequest(String etcdMessage) { super(etcdMessage, null, false, false); }
    }
}
