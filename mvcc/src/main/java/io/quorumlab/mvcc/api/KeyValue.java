package io.quorumlab.mvcc.api;

import java.util.Arrays;
import java.util.Objects;

/**
 * mvccpb.KeyValue. A delete event's kv carries only key and modRevision (as in etcd).
 * Arrays are shared, not copied (responses are built per request and handed over): never mutate them.
 */
public record KeyValue(byte[] key, long createRevision, long modRevision, long version, byte[] value, long lease) {
    public KeyValue {
        key = Bytes.orEmpty(key);
        value = Bytes.orEmpty(value);
    }

    public KeyValue withoutValue() { return new KeyValue(key, createRevision, modRevision, version, Bytes.EMPTY, lease); }

    @Override public boolean equals(Object o) {
        return o instanceof KeyValue k && createRevision == k.createRevision && modRevision == k.modRevision
                && version == k.version && lease == k.lease && Arrays.equals(key, k.key) && Arrays.equals(value, k.value);
    }

    @Override public int hashCode() {
        return Objects.hash(Arrays.hashCode(key), createRevision, modRevision, version, Arrays.hashCode(value), lease);
    }

    @Override public String toString() {
        return "KV{" + Bytes.show(key) + " c=" + createRevision + " m=" + modRevision + " v=" + version
                + " val=" + Bytes.show(value) + (lease != 0 ? " lease=" + lease : "") + "}";
    }
}
