package io.quorumlab.mvcc.api;

public record CompactionResponse(ResponseHeader header) implements Response {}
