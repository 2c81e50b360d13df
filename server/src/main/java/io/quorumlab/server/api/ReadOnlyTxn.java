package io.quorumlab.server.api;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.ResponseHeader;
import io.quorumlab.mvcc.api.ResponseOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * A transaction without puts or deletes, evaluated against the local store like etcd serves it
 * (no Raft entry). Consistency: every compare and range reads one pinned revision; the history
 * at a revision never changes, so the answer equals what the store's own txn would return then.
 * The compare semantics mirror MvccStore's (a missing key compares as zeros; VALUE never matches it).
 */
final class ReadOnlyTxn {
    private static final int COMPACTION_RACE_RETRIES = 3;

    private ReadOnlyTxn() {}

    static boolean isReadOnly(TxnRequest t) {
        for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
            for (RequestOp op : ops) {
                if (op instanceof PutRequest || op instanceof DeleteRangeRequest) return false;
                if (op instanceof TxnRequest n && !isReadOnly(n)) return false;
            }
        }
        return true;
    }

    /** etcd's isTxnSerializable: every op of both branches is a serializable range (a nested txn is not). */
    static boolean isSerializable(TxnRequest t) {
        for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
            for (RequestOp op : ops) if (!(op instanceof RangeRequest r) || !r.serializable()) return false;
        }
        return true;
    }

    static TxnResponse run(MvccStore store, TxnRequest t) {
        assert isReadOnly(t);
        for (int attempt = 0; ; attempt++) {
            long rev = store.currentRevision();
            try {
                TxnResponse nested = eval(store, t, rev);
                return new TxnResponse(ResponseHeader.ofRevision(rev), nested.succeeded(), nested.responses());
            } catch (MvccException e) {
                // A compaction past our pinned revision landed between reads: pin a newer one.
                if (e.code() != ErrorCode.COMPACTED || attempt >= COMPACTION_RACE_RETRIES) throw e;
            }
        }
    }

    private static TxnResponse eval(MvccStore store, TxnRequest t, long rev) {
        boolean ok = true;
        for (Compare c : t.compare()) {
            if (!compare(store, c, rev)) {
                ok = false;
                break;
            }
        }
        List<ResponseOp> out = new ArrayList<>();
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof RangeRequest r) {
                if (r.revision() > rev) throw new MvccException(ErrorCode.FUTURE_REV);
                RangeResponse rr = store.range(r.revision() > 0 ? r : r.toBuilder().revision(rev).build());
                out.add(new RangeResponse(ResponseHeader.ofRevision(rev), rr.kvs(), rr.more(), rr.count()));
            } else if (op instanceof TxnRequest n) {
                out.add(eval(store, n, rev));
            } else {
                throw new IllegalStateException("not a read-only op: " + op);
            }
        }
        // Nested txn headers carry no revision, as the store's (and etcd's) own txn leaves them.
        return new TxnResponse(new ResponseHeader(0, 0, 0, 0), ok, out);
    }

    private static boolean compare(MvccStore store, Compare c, long rev) {
        List<KeyValue> kvs = store.range(RangeRequest.builder(c.key()).rangeEnd(c.rangeEnd()).revision(rev).build()).kvs();
        if (kvs.isEmpty()) {
            if (c.target() == Compare.Target.VALUE) return false;
            return compareKv(c, new KeyValue(c.key(), 0, 0, 0, Bytes.EMPTY, 0));
        }
        for (KeyValue kv : kvs) if (!compareKv(c, kv)) return false;
        return true;
    }

    private static boolean compareKv(Compare c, KeyValue kv) {
        int r = switch (c.target()) {
            case VALUE -> Integer.signum(Bytes.compare(kv.value(), c.value()));
            case CREATE -> Long.compare(kv.createRevision(), c.number());
            case MOD -> Long.compare(kv.modRevision(), c.number());
            case VERSION -> Long.compare(kv.version(), c.number());
            case LEASE -> Long.compare(kv.lease(), c.number());
        };
        return switch (c.result()) {
            case EQUAL -> r == 0;
            case NOT_EQUAL -> r != 0;
            case GREATER -> r > 0;
            case LESS -> r < 0;
        };
    }
}
