package io.quorumlab.mvcc.api;

/** etcdserverpb.PutResponse; {@code prevKv} null when not requested or the key did not exist. */
public record PutResponse(ResponseHeader header, KeyValue prevKv) implements Response, ResponseOp {}
