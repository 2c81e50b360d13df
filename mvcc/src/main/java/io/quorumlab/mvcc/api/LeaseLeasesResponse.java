package io.quorumlab.mvcc.api;

import java.util.List;

public record LeaseLeasesResponse(ResponseHeader header, List<Long> ids) {
    public LeaseLeasesResponse { ids = List.copyOf(ids); }
}
