package io.quorumlab.mvcc.api;

public record LeaseCheckpointResponse(ResponseHeader header) implements Response {}
