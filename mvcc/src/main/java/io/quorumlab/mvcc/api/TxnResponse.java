package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.TxnResponse; nested responses carry their own headers, as kube-apiserver <= 1.31 expects. */
public record TxnResponse(ResponseHeader header, boolean succeeded, List<ResponseOp> responses)
        implements Response, ResponseOp {
    public TxnResponse { responses = List.copyOf(responses); }
}
