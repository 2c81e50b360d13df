package io.quorumlab.mvcc.api;

/** etcdserverpb.CompactionRequest; {@code physical} is the server's concern (wait for completion). */
public record CompactionRequest(long revision, boolean physical) implements Request {}
