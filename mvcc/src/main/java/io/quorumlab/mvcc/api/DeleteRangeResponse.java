package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.DeleteRangeResponse; prevKvs is empty unless requested. */
public record DeleteRangeResponse(ResponseHeader header, long deleted, List<KeyValue> prevKvs)
        implements Response, ResponseOp {
    public DeleteRangeResponse { prevKvs = List.copyOf(prevKvs); }
}
