package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.RangeResponse: {@code count} is every key in the range at the revision, before limit and filters. */
public record RangeResponse(ResponseHeader header, List<KeyValue> kvs, boolean more, long count)
        implements Response, ResponseOp {
    public RangeResponse { kvs = List.copyOf(kvs); }
}
