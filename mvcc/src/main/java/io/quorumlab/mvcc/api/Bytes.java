package io.quorumlab.mvcc.api;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Byte-string helpers with etcd's ordering: unsigned lexicographic. */
public final class Bytes {
    public static final byte[] EMPTY = new byte[0];
    /** etcd's "from key" range end: a single zero byte means "every key >= key". */
    public static final byte[] FROM_KEY = new byte[] {0};

    private Bytes() {}

    public static byte[] orEmpty(byte[] b) { return b == null ? EMPTY : b; }

    public static int compare(byte[] a, byte[] b) { return Arrays.compareUnsigned(a, b); }

    public static byte[] of(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    public static boolean isFromKey(byte[] rangeEnd) { return rangeEnd.length == 1 && rangeEnd[0] == 0; }

    /** The range end that selects every key with the given prefix (etcd's GetPrefixRangeEnd). */
    public static byte[] prefixEnd(byte[] prefix) {
        byte[] end = Arrays.copyOf(prefix, prefix.length);
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return Arrays.copyOf(end, i + 1);
            }
        }
        return FROM_KEY; // all 0xff: no upper bound
    }

    /** Printable form for logs and test failures: UTF-8 when printable, hex otherwise. */
    public static String show(byte[] b) {
        if (b == null) return "null";
        for (byte x : b) {
            if (x < 0x20 || x > 0x7e) return "0x" + java.util.HexFormat.of().formatHex(b);
        }
        return '"' + new String(b, StandardCharsets.US_ASCII) + '"';
    }
}
