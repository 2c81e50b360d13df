package io.quorumlab.mvcc.api;

/** etcdserverpb.HashKVResponse: CRC32C over the key space up to {@code hashRevision}; equal on every member. */
public record HashKVResponse(ResponseHeader header, long hash, long compactRevision, long hashRevision) {}
