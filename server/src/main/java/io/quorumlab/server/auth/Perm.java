package io.quorumlab.server.auth;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Permission;
import io.quorumlab.mvcc.api.Bytes;
import java.util.Arrays;

/**
 * authpb.Permission: a key or range with a type. {@code type} is the protobuf enum number as sent
 * (READ 0, WRITE 1, READWRITE 2); etcd stores any number and ignores unknown ones in its checks,
 * so this keeps them too. {@code rangeEnd} empty: the single key; {@code "\0"}: every key from
 * {@code key} on; else {@code [key, rangeEnd)}.
 */
public record Perm(int type, byte[] key, byte[] rangeEnd) {
    public static final int READ = Permission.Type.READ_VALUE;
    public static final int WRITE = Permission.Type.WRITE_VALUE;
    public static final int READWRITE = Permission.Type.READWRITE_VALUE;

    public Perm {
        key = Bytes.orEmpty(key);
        rangeEnd = Bytes.orEmpty(rangeEnd);
    }

    public static Perm fromProto(Permission p) {
        return new Perm(p.getPermTypeValue(), p.getKey().toByteArray(), p.getRangeEnd().toByteArray());
    }

    public Permission toProto() {
        return Permission.newBuilder().setPermTypeValue(type).setKey(ByteString.copyFrom(key))
                .setRangeEnd(ByteString.copyFrom(rangeEnd)).build();
    }

    boolean sameRange(byte[] k, byte[] end) { return Arrays.equals(key, k) && Arrays.equals(rangeEnd, end); }

    Perm withType(int t) { return new Perm(t, key, rangeEnd); }

    @Override public boolean equals(Object o) {
        return o instanceof Perm p && p.type == type && Arrays.equals(p.key, key) && Arrays.equals(p.rangeEnd, rangeEnd);
    }

    @Override public int hashCode() { return 31 * (31 * type + Arrays.hashCode(key)) + Arrays.hashCode(rangeEnd); }

    @Override public String toString() {
        String t = type == READ ? "READ" : type == WRITE ? "WRITE" : type == READWRITE ? "READWRITE" : "type" + type;
        return t + "[" + Bytes.show(key) + (rangeEnd.length > 0 ? ", " + Bytes.show(rangeEnd) : "") + "]";
    }
}
