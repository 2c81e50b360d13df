package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.backend.ByteKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Request validation etcd performs at the gRPC layer before proposing (so a bad request never
 * enters the log). The server calls {@link #validate}; the store calls it again at apply, which is
 * harmless and keeps direct users (simulator, tests) honest.
 */
public final class TxnChecks {
    private TxnChecks() {}

    public static void validate(Request r, int maxTxnOps) {
        if (r instanceof RangeRequest q) checkRange(q);
        else if (r instanceof PutRequest p) checkPut(p);
        else if (r instanceof DeleteRangeRequest d) checkDelete(d);
        else if (r instanceof TxnRequest t) {
            checkTxn(t, maxTxnOps);
            checkIntervals(t.success());
            checkIntervals(t.failure());
        }
    }

    private static void checkRange(RangeRequest r) {
        if (r.key().length == 0) throw new MvccException(ErrorCode.EMPTY_KEY);
    }

    private static void checkPut(PutRequest p) {
        if (p.key().length == 0) throw new MvccException(ErrorCode.EMPTY_KEY);
        if (p.ignoreValue() && p.value().length != 0) throw new MvccException(ErrorCode.VALUE_PROVIDED);
        if (p.ignoreLease() && p.lease() != 0) throw new MvccException(ErrorCode.LEASE_PROVIDED);
    }

    private static void checkDelete(DeleteRangeRequest d) {
        if (d.key().length == 0) throw new MvccException(ErrorCode.EMPTY_KEY);
    }

    /** Op budget: the widest of compare/success/failure counts; nested txns get what is left. */
    private static void checkTxn(TxnRequest t, int maxTxnOps) {
        int opc = Math.max(t.compare().size(), Math.max(t.success().size(), t.failure().size()));
        if (opc > maxTxnOps) throw new MvccException(ErrorCode.TOO_MANY_OPS);
        for (Compare c : t.compare()) if (c.key().length == 0) throw new MvccException(ErrorCode.EMPTY_KEY);
        for (RequestOp op : t.success()) checkOp(op, maxTxnOps - opc);
        for (RequestOp op : t.failure()) checkOp(op, maxTxnOps - opc);
    }

    private static void checkOp(RequestOp op, int budget) {
        if (op instanceof RangeRequest q) checkRange(q);
        else if (op instanceof PutRequest p) checkPut(p);
        else if (op instanceof DeleteRangeRequest d) checkDelete(d);
        else if (op instanceof TxnRequest t) checkTxn(t, budget);
        else throw new IllegalStateException("unknown op " + op);
    }

    /** A deleted interval [begin, end); end empty means a single key; byte-wise as etcd's affine intervals. */
    private record Interval(byte[] begin, byte[] end) {
        boolean contains(byte[] k) {
            if (end.length == 0) return Bytes.compare(begin, k) == 0;
            return Bytes.compare(begin, k) <= 0 && Bytes.compare(k, end) < 0;
        }
    }

    private record PutsDels(Set<ByteKey> puts, List<Interval> dels) {}

    private static boolean intersects(List<Interval> dels, byte[] k) {
        for (Interval i : dels) if (i.contains(k)) return true;
        return false;
    }

    /**
     * No key may be written twice in one revision: a put may not repeat a put or fall inside a
     * delete of the same transaction (then/else branches of one nested txn are exclusive, so the
     * same key in both is fine). Overlapping deletes are allowed.
     */
    private static PutsDels checkIntervals(List<RequestOp> reqs) {
        List<Interval> dels = new ArrayList<>();
        for (RequestOp op : reqs) {
            if (op instanceof DeleteRangeRequest d) dels.add(new Interval(d.key(), d.rangeEnd()));
        }
        Set<ByteKey> puts = new HashSet<>();
        for (RequestOp op : reqs) {
            if (!(op instanceof TxnRequest t)) continue;
            PutsDels then = checkIntervals(t.success());
            PutsDels otherwise = checkIntervals(t.failure());
            for (ByteKey k : then.puts()) {
                if (puts.contains(k) || intersects(dels, k.bytes())) throw new MvccException(ErrorCode.DUPLICATE_KEY);
                puts.add(k);
            }
            for (ByteKey k : otherwise.puts()) {
                if (puts.contains(k) && !then.puts().contains(k)) throw new MvccException(ErrorCode.DUPLICATE_KEY);
                if (intersects(dels, k.bytes())) throw new MvccException(ErrorCode.DUPLICATE_KEY);
                puts.add(k);
            }
            dels.addAll(then.dels());
            dels.addAll(otherwise.dels());
        }
        for (RequestOp op : reqs) {
            if (!(op instanceof PutRequest p)) continue;
            ByteKey k = new ByteKey(p.key());
            if (puts.contains(k) || intersects(dels, p.key())) throw new MvccException(ErrorCode.DUPLICATE_KEY);
            puts.add(k);
        }
        return new PutsDels(puts, dels);
    }
}
