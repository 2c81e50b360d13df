package io.quorumlab.mvcc.api;

/**
 * Answer to a Raft entry whose index is not above the persisted consistent index: it was applied
 * before a restart, so applying it again would double-apply. Nothing changed.
 */
public record AlreadyApplied(ResponseHeader header, long consistentIndex) implements Response {}
