package io.quorumlab.mvcc.api;

/** etcdserverpb.PutRequest; {@code lease == 0} means no lease. */
public record PutRequest(byte[] key, byte[] value, long lease, boolean prevKv, boolean ignoreValue,
                         boolean ignoreLease) implements Request, RequestOp {
    public PutRequest {
        key = Bytes.orEmpty(key);
        value = Bytes.orEmpty(value);
    }

    public static PutRequest of(byte[] key, byte[] value) { return new PutRequest(key, value, 0, false, false, false); }

    public static PutRequest of(String key, String value) { return of(Bytes.of(key), Bytes.of(value)); }

    @Override public String toString() {
        return "Put{" + Bytes.show(key) + "=" + Bytes.show(value) + (lease != 0 ? " lease=" + lease : "") + (prevKv ? " prevKv" : "")
                + (ignoreValue ? " ignoreValue" : "") + (ignoreLease ? " ignoreLease" : "") + "}";
    }
}
