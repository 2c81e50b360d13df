package io.quorumlab.mvcc.api;

import java.util.List;

/**
 * etcdserverpb.WatchResponse. {@code revision} is the header revision. A response to a progress
 * request for the whole stream has watchId -1 and no events. A compacted watch gets canceled=true
 * and compactRevision set.
 */
public record WatchResponse(long watchId, long revision, boolean created, boolean canceled, long compactRevision,
                            String cancelReason, List<Event> events) {
    public static final long STREAM_PROGRESS_ID = -1;

    public WatchResponse {
        events = List.copyOf(events);
        cancelReason = cancelReason == null ? "" : cancelReason;
    }

    public boolean isProgress() { return !created && !canceled && events.isEmpty(); }

    public static WatchResponse events(long id, long rev, List<Event> evs) { return new WatchResponse(id, rev, false, false, 0, "", evs); }
}
