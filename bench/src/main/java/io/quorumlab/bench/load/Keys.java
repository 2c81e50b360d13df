package io.quorumlab.bench.load;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.SplittableRandom;

/** Keys and values of the KV workloads: readable keys {@code bench/000042}, values stamped with their due time. */
final class Keys {
    static final String PREFIX = "bench/";

    private Keys() {}

    /** Key number {@code i}, zero-padded to {@code keySize} bytes when it fits. */
    static ByteString key(long i, int keySize) {
        return ByteString.copyFromUtf8(String.format(Locale.ROOT, "%s%0" + Math.max(1, keySize - PREFIX.length()) + "d", PREFIX, i));
    }

    /** The key range {@code [prefix, prefixEnd)} of every key with this prefix (etcd's WithPrefix). */
    static ByteString prefixEnd(ByteString prefix) {
        byte[] end = prefix.toByteArray();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return ByteString.copyFrom(end, 0, i + 1);
            }
        }
        return ByteString.copyFrom(new byte[] {0}); // all keys
    }

    static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    /**
     * {@code base} with the due time written at {@code offset} (when it fits): a watcher in this process
     * computes an event's delivery latency from it (nanoTime is comparable within one JVM).
     */
    static ByteString stamped(byte[] base, int offset, long dueNanos) {
        if (base.length < offset + Long.BYTES) return ByteString.copyFrom(base);
        byte[] v = base.clone();
        ByteBuffer.wrap(v).putLong(offset, dueNanos);
        return ByteString.copyFrom(v);
    }

    /** The due time a {@link #stamped} value carries, or -1. */
    static long stamp(ByteString value, int offset) {
        if (value.size() < offset + Long.BYTES) return -1;
        return value.substring(offset, offset + Long.BYTES).asReadOnlyByteBuffer().getLong();
    }
}
