package io.quorumlab.mvcc.api;

/** Revocation by a client or, for expiry, by the leader; deletes attached keys in one revision. */
public record LeaseRevokeRequest(long id) implements Request {}
