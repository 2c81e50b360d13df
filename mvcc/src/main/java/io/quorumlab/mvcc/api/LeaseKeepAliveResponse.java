package io.quorumlab.mvcc.api;

public record LeaseKeepAliveResponse(ResponseHeader header, long id, long ttl) {}
