package io.quorumlab.mvcc.backend;

import java.util.Arrays;

/** A byte string usable as a sorted-map key with etcd's unsigned lexicographic order. */
public record ByteKey(byte[] bytes) implements Comparable<ByteKey> {
    @Override public int compareTo(ByteKey o) { return Arrays.compareUnsigned(bytes, o.bytes); }

    @Override public boolean equals(Object o) { return o instanceof ByteKey k && Arrays.equals(bytes, k.bytes); }

    @Override public int hashCode() { return Arrays.hashCode(bytes); }

    @Override public String toString() { return io.quorumlab.mvcc.api.Bytes.show(bytes); }
}
