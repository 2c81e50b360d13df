package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.KeyValue;
import java.nio.ByteBuffer;

/**
 * Backend encodings. KEY bucket keys are revisions: 8-byte big-endian main, 8-byte sub, and a
 * trailing 't' on tombstones, so byte order is revision order and a revision range is a key
 * range (watch catch-up and hashing are sequential scans).
 */
final class Codec {
    static final int REV_BYTES = 16;
    static final byte TOMBSTONE_MARK = 't';

    private Codec() {}

    static byte[] revKey(long main, long sub, boolean tombstone) {
        ByteBuffer b = ByteBuffer.allocate(tombstone ? REV_BYTES + 1 : REV_BYTES);
        b.putLong(main).putLong(sub);
        if (tombstone) b.put(TOMBSTONE_MARK);
        return b.array();
    }

    static long revMain(byte[] k) { return ByteBuffer.wrap(k).getLong(0); }

    static long revSub(byte[] k) { return ByteBuffer.wrap(k).getLong(8); }

    static boolean isTombstone(byte[] k) { return k.length == REV_BYTES + 1 && k[REV_BYTES] == TOMBSTONE_MARK; }

    static byte[] encodeKv(KeyValue kv) {
        ByteBuffer b = ByteBuffer.allocate(4 + kv.key().length + 32 + 4 + kv.value().length);
        b.putInt(kv.key().length).put(kv.key());
        b.putLong(kv.createRevision()).putLong(kv.modRevision()).putLong(kv.version()).putLong(kv.lease());
        b.putInt(kv.value().length).put(kv.value());
        return b.array();
    }

    static KeyValue decodeKv(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte[] key = new byte[b.getInt()];
        b.get(key);
        long c = b.getLong(), m = b.getLong(), v = b.getLong(), l = b.getLong();
        int vlen = b.getInt();
        byte[] val = vlen == 0 ? Bytes.EMPTY : new byte[vlen];
        b.get(val);
        return new KeyValue(key, c, m, v, val, l);
    }

    /** The kv without copying its value out (an empty value stands in). */
    static KeyValue decodeKvWithoutValue(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte[] key = new byte[b.getInt()];
        b.get(key);
        long c = b.getLong(), m = b.getLong(), v = b.getLong(), l = b.getLong();
        return new KeyValue(key, c, m, v, Bytes.EMPTY, l);
    }

    static byte[] decodeKeyOnly(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte[] key = new byte[b.getInt()];
        b.get(key);
        return key;
    }

    static byte[] longBytes(long v) { return ByteBuffer.allocate(8).putLong(v).array(); }

    static long bytesLong(byte[] b) { return ByteBuffer.wrap(b).getLong(); }
}
