package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.LeaseTimeToLiveResponse; ttl is the remaining whole seconds. */
public record LeaseTimeToLiveResponse(ResponseHeader header, long id, long ttl, long grantedTtl, List<byte[]> keys) {
    public LeaseTimeToLiveResponse { keys = List.copyOf(keys); }
}
