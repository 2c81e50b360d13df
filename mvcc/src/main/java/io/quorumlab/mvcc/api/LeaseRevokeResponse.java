package io.quorumlab.mvcc.api;

public record LeaseRevokeResponse(ResponseHeader header) implements Response {}
