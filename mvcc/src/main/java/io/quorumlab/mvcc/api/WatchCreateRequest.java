package io.quorumlab.mvcc.api;

/**
 * etcdserverpb.WatchCreateRequest. {@code startRevision <= 0} starts at current+1; watchId 0 asks
 * the stream to assign one. Filters are flattened to two booleans (NOPUT, NODELETE).
 * Fragmenting large responses is left to the gRPC layer (it knows the message size limit).
 */
public record WatchCreateRequest(byte[] key, byte[] rangeEnd, long startRevision, boolean progressNotify,
                                 boolean noPut, boolean noDelete, boolean prevKv, long watchId,
                                 boolean fragment) {
    public WatchCreateRequest {
        key = Bytes.orEmpty(key);
        rangeEnd = Bytes.orEmpty(rangeEnd);
    }

    public static WatchCreateRequest of(byte[] key, byte[] rangeEnd, long startRevision) {
        return new WatchCreateRequest(key, rangeEnd, startRevision, false, false, false, false, 0, false);
    }

    public WatchCreateRequest withPrevKv() {
        return new WatchCreateRequest(key, rangeEnd, startRevision, progressNotify, noPut, noDelete, true, watchId, fragment);
    }

    public WatchCreateRequest withFilters(boolean noPutEvents, boolean noDeleteEvents) {
        return new WatchCreateRequest(key, rangeEnd, startRevision, progressNotify, noPutEvents, noDeleteEvents, prevKv,
                watchId, fragment);
    }

    public WatchCreateRequest withProgressNotify() {
        return new WatchCreateRequest(key, rangeEnd, startRevision, true, noPut, noDelete, prevKv, watchId, fragment);
    }
}
