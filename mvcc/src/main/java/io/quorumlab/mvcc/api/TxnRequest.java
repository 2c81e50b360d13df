package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.TxnRequest: if every compare holds, run success, else failure; one revision in all. */
public record TxnRequest(List<Compare> compare, List<RequestOp> success, List<RequestOp> failure)
        implements Request, RequestOp {
    public TxnRequest {
        compare = List.copyOf(compare);
        success = List.copyOf(success);
        failure = List.copyOf(failure);
    }

    @Override public String toString() { return "Txn{if " + compare + " then " + success + " else " + failure + "}"; }
}
