package io.quorumlab.raft;

import java.nio.charset.StandardCharsets;
import java.util.List;

final class Util {
    private Util() {}

    static String describeData(EntryType type, byte[] data) {
        if (type == EntryType.CONF_CHANGE) {
            try {
                return ConfChange.decode(data).toString();
            } catch (IllegalArgumentException e) {
                return "<bad conf change>";
            }
        }
        if (data.length == 0) return "<empty>";
        boolean printable = true;
        for (byte b : data) {
            if (b < 0x20 || b > 0x7e) {
                printable = false;
                break;
            }
        }
        if (printable && data.length <= 64) return "\"" + new String(data, StandardCharsets.US_ASCII) + "\"";
        return "<" + data.length + " bytes>";
    }

    /** Takes the longest prefix of {@code entries} whose total size stays within {@code maxBytes}; at least one entry. */
    static List<Entry> limitSize(List<Entry> entries, long maxBytes) {
        if (entries.isEmpty()) return entries;
        long size = entries.get(0).sizeBytes();
        int n = 1;
        while (n < entries.size()) {
            size += entries.get(n).sizeBytes();
            if (size > maxBytes) break;
            n++;
        }
        return n == entries.size() ? entries : entries.subList(0, n);
    }

    /** For constant messages; where the message is computed, use {@code if (!ok) throw violated(...)}, so it is built only on failure. */
    static void check(boolean condition, String what) {
        if (!condition) throw violated(what);
    }

    static IllegalStateException violated(String what) {
        return new IllegalStateException("raft invariant violated: " + what);
    }
}
