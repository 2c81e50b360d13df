package io.quorumlab.mvcc.api;

/** etcdserverpb.LeaseGrantResponse; ttl is after the minimum-TTL floor. */
public record LeaseGrantResponse(ResponseHeader header, long id, long ttlSeconds) implements Response {}
