package io.quorumlab.mvcc.api;

/** etcdserverpb.ResponseOp: the result of one {@link RequestOp}. */
public sealed interface ResponseOp permits RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse {
    ResponseHeader header();
}
