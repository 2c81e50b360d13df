package io.quorumlab.mvcc.api;

/** etcdserverpb.DeleteRangeRequest; rangeEnd has the same meaning as in {@link RangeRequest}. */
public record DeleteRangeRequest(byte[] key, byte[] rangeEnd, boolean prevKv) implements Request, RequestOp {
    public DeleteRangeRequest {
        key = Bytes.orEmpty(key);
        rangeEnd = Bytes.orEmpty(rangeEnd);
    }

    public static DeleteRangeRequest key(byte[] key) { return new DeleteRangeRequest(key, Bytes.EMPTY, false); }

    @Override public String toString() {
        return "Delete{" + Bytes.show(key) + (rangeEnd.length > 0 ? ".." + Bytes.show(rangeEnd) : "") + (prevKv ? " prevKv" : "") + "}";
    }
}
