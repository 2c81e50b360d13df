package io.quorumlab.mvcc.api;

/** etcdserverpb.RequestOp: one operation inside a transaction branch. */
public sealed interface RequestOp permits RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest {}
