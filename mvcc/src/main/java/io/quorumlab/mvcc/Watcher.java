package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.WatchCreateRequest;

/** One watch. Mutable fields are guarded by the hub's monitor. */
final class Watcher {
    final long id;
    final WatchStream stream;
    final byte[] key;
    /** Empty: single key; "\0" turned into null: no upper bound. */
    final byte[] end;
    final boolean singleKey;
    final WatchCreateRequest request;
    /** The next revision this watcher has not been sent (or skipped) yet. */
    long minRev;
    boolean synced;
    boolean canceled;
    /** Events went out since the last periodic progress tick (etcd then skips this watcher's notify). */
    boolean sentSinceProgressTick;

    Watcher(long id, WatchStream stream, WatchCreateRequest req) {
        this.id = id;
        this.stream = stream;
        this.request = req;
        this.key = req.key();
        this.singleKey = req.rangeEnd().length == 0;
        this.end = Bytes.isFromKey(req.rangeEnd()) ? null : req.rangeEnd();
    }

    boolean matches(Event e) {
        if (e.type() == Event.Type.PUT ? request.noPut() : request.noDelete()) return false;
        byte[] k = e.kv().key();
        if (singleKey) return Bytes.compare(k, key) == 0;
        return Bytes.compare(k, key) >= 0 && (end == null || Bytes.compare(k, end) < 0);
    }
}
