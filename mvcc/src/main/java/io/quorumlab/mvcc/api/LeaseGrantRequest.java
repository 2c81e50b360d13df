package io.quorumlab.mvcc.api;

/** etcdserverpb.LeaseGrantRequest; the server picks a non-zero id before proposing when the client sent 0. */
public record LeaseGrantRequest(long ttlSeconds, long id) implements Request {}
