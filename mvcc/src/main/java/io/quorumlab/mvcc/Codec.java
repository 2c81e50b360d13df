package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.KeyValue;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.BufferUnderflowException;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Backend encodings. KEY bucket keys are revisions: 8-byte big-endian main, 8-byte sub, and a
 * trailing 't' on tombstones, so byte order is revision order and a revision range is a key
 * range (watch catch-up and hashing are sequential scans).
 */
final class Codec {
    static final int REV_BYTES = 16;
    static final byte TOMBSTONE_MARK = 't';

    private Codec() {}

    // Plain array writes through big-endian views (the same bytes ByteBuffer wrote): the apply path
    // encodes a revision key and a kv per write and decodes one per read, and a ByteBuffer per call was
    // not always scalar-replaced.
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    static byte[] revKey(long main, long sub, boolean tombstone) {
        byte[] b = new byte[tombstone ? REV_BYTES + 1 : REV_BYTES];
        LONG.set(b, 0, main);
        LONG.set(b, 8, sub);
        if (tombstone) b[REV_BYTES] = TOMBSTONE_MARK;
        return b;
    }

    static long revMain(byte[] k) { return (long) LONG.get(k, 0); }

    static long revSub(byte[] k) { return (long) LONG.get(k, 8); }

    static boolean isTombstone(byte[] k) { return k.length == REV_BYTES + 1 && k[REV_BYTES] == TOMBSTONE_MARK; }

    /** Layout: key length, key, create, mod, version, lease, value length, value (big-endian). */
    static byte[] encodeKv(KeyValue kv) {
        byte[] key = kv.key(), value = kv.value();
        byte[] b = new byte[4 + key.length + 32 + 4 + value.length];
        INT.set(b, 0, key.length);
        System.arraycopy(key, 0, b, 4, key.length);
        int p = 4 + key.length;
        LONG.set(b, p, kv.createRevision());
        LONG.set(b, p + 8, kv.modRevision());
        LONG.set(b, p + 16, kv.version());
        LONG.set(b, p + 24, kv.lease());
        INT.set(b, p + 32, value.length);
        System.arraycopy(value, 0, b, p + 36, value.length);
        return b;
    }

    static KeyValue decodeKv(byte[] bytes) { return decode(bytes, true); }

    /** The kv without copying its value out (an empty value stands in). */
    static KeyValue decodeKvWithoutValue(byte[] bytes) { return decode(bytes, false); }

    private static KeyValue decode(byte[] bytes, boolean withValue) {
        byte[] key = decodeKeyOnly(bytes);
        int p = 4 + key.length;
        if (bytes.length < p + 36) throw new BufferUnderflowException();
        long c = (long) LONG.get(bytes, p), m = (long) LONG.get(bytes, p + 8), v = (long) LONG.get(bytes, p + 16), l = (long) LONG.get(bytes, p + 24);
        byte[] val = Bytes.EMPTY;
        if (withValue) {
            int vlen = (int) INT.get(bytes, p + 32);
            if (vlen < 0 || vlen > bytes.length - p - 36) throw new BufferUnderflowException();
            if (vlen > 0) val = Arrays.copyOfRange(bytes, p + 36, p + 36 + vlen);
        }
        return new KeyValue(key, c, m, v, val, l);
    }

    static byte[] decodeKeyOnly(byte[] bytes) {
        int n = (int) INT.get(bytes, 0);
        if (n < 0 || n > bytes.length - 4) throw new BufferUnderflowException();
        return Arrays.copyOfRange(bytes, 4, 4 + n);
    }

    static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        LONG.set(b, 0, v);
        return b;
    }

    static long bytesLong(byte[] b) { return (long) LONG.get(b, 0); }
}
