package io.quorumlab.mvcc.api;

/**
 * etcdserverpb.RangeRequest. {@code rangeEnd} empty = single key, {@code "\0"} = every key >= key,
 * otherwise the half-open interval [key, rangeEnd). {@code revision <= 0} reads the current revision.
 * {@code serializable} is carried for the server (it decides linearizable vs local reads).
 */
public record RangeRequest(byte[] key, byte[] rangeEnd, long limit, long revision, SortOrder sortOrder,
                           SortTarget sortTarget, boolean serializable, boolean keysOnly, boolean countOnly,
                           long minModRevision, long maxModRevision, long minCreateRevision,
                           long maxCreateRevision) implements Request, RequestOp {
    /** Ordinals equal etcdserverpb's enum numbers (as for every enum in this package): map by number. */
    public enum SortOrder { NONE, ASCEND, DESCEND }
    public enum SortTarget { KEY, VERSION, CREATE, MOD, VALUE }

    public RangeRequest {
        key = Bytes.orEmpty(key);
        rangeEnd = Bytes.orEmpty(rangeEnd);
        if (sortOrder == null) sortOrder = SortOrder.NONE;
        if (sortTarget == null) sortTarget = SortTarget.KEY;
    }

    public static RangeRequest key(byte[] key) { return builder(key).build(); }

    public static RangeRequest range(byte[] key, byte[] rangeEnd) { return builder(key).rangeEnd(rangeEnd).build(); }

    public static Builder builder(byte[] key) { return new Builder(key); }

    public Builder toBuilder() {
        Builder b = new Builder(key);
        b.rangeEnd = rangeEnd; b.limit = limit; b.revision = revision; b.sortOrder = sortOrder;
        b.sortTarget = sortTarget; b.serializable = serializable; b.keysOnly = keysOnly; b.countOnly = countOnly;
        b.minMod = minModRevision; b.maxMod = maxModRevision; b.minCreate = minCreateRevision;
        b.maxCreate = maxCreateRevision;
        return b;
    }

    /** Readable construction for the many optional fields. */
    public static final class Builder {
        private final byte[] key;
        private byte[] rangeEnd = Bytes.EMPTY;
        private long limit, revision, minMod, maxMod, minCreate, maxCreate;
        private SortOrder sortOrder = SortOrder.NONE;
        private SortTarget sortTarget = SortTarget.KEY;
        private boolean serializable, keysOnly, countOnly;

        Builder(byte[] key) { this.key = key; }
        public Builder rangeEnd(byte[] v) { rangeEnd = v; return this; }
        public Builder prefix() { rangeEnd = Bytes.prefixEnd(key); return this; }
        public Builder fromKey() { rangeEnd = Bytes.FROM_KEY; return this; }
        public Builder limit(long v) { limit = v; return this; }
        public Builder revision(long v) { revision = v; return this; }
        public Builder sort(SortOrder o, SortTarget t) { sortOrder = o; sortTarget = t; return this; }
        public Builder serializable(boolean v) { serializable = v; return this; }
        public Builder keysOnly(boolean v) { keysOnly = v; return this; }
        public Builder countOnly(boolean v) { countOnly = v; return this; }
        public Builder minModRevision(long v) { minMod = v; return this; }
        public Builder maxModRevision(long v) { maxMod = v; return this; }
        public Builder minCreateRevision(long v) { minCreate = v; return this; }
        public Builder maxCreateRevision(long v) { maxCreate = v; return this; }

        public RangeRequest build() {
            return new RangeRequest(key, rangeEnd, limit, revision, sortOrder, sortTarget, serializable, keysOnly,
                    countOnly, minMod, maxMod, minCreate, maxCreate);
        }
    }

    @Override public String toString() {
        return "Range{" + Bytes.show(key) + (rangeEnd.length > 0 ? ".." + Bytes.show(rangeEnd) : "") + (limit != 0 ? " limit=" + limit : "")
                + (revision != 0 ? " rev=" + revision : "") + (sortOrder != SortOrder.NONE || sortTarget != SortTarget.KEY
                ? " sort=" + sortOrder + "/" + sortTarget : "") + (serializable ? " serializable" : "") + (keysOnly ? " keysOnly" : "") + (countOnly ? " countOnly" : "")
                + (minModRevision != 0 ? " minMod=" + minModRevision : "") + (maxModRevision != 0 ? " maxMod=" + maxModRevision : "")
                + (minCreateRevision != 0 ? " minCreate=" + minCreateRevision : "")
                + (maxCreateRevision != 0 ? " maxCreate=" + maxCreateRevision : "") + "}";
    }
}
