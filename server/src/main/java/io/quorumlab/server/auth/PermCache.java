package io.quorumlab.server.auth;

import io.quorumlab.mvcc.api.Bytes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each user's key permissions, merged per type, answering etcd 3.4's range checks (auth/range_perm_cache.go
 * over pkg/adt's interval tree) exactly. Immutable: rebuilt from an {@link AuthState} after every change.
 *
 * <p>adt's "bytes affine" order: an <em>empty</em> byte string compares greater than every other (it
 * stands for +infinity), the rest compare unsigned. A permission becomes an interval: range_end empty is
 * the point {@code [key, key+"\0")}, range_end {@code "\0"} is {@code [key, +inf)}, else {@code [key, range_end)};
 * intervals with begin >= end (inverted ones, and every one whose key is empty) cover nothing and are dropped.
 * A request with an empty range_end is a point test ({@code begin <= key < end} for some interval); any other is
 * a range test (range_end {@code "\0"} read as +inf) passing when the intervals meeting it are contiguous
 * (touching counts) and together span it, which for a non-empty request range is "one merged interval
 * covers it" (binary search). For an empty or inverted request range adt's tree walk is followed step by step.
 */
final class PermCache {
    static final PermCache EMPTY = new PermCache(Map.of());

    private final Map<String, UserPerms> byUser;

    private PermCache(Map<String, UserPerms> byUser) { this.byUser = byUser; }

    /** etcd's getMergedPerms for every user: READWRITE feeds both types; roles that do not exist are skipped. */
    static PermCache build(Map<String, AuthState.User> users, Map<String, AuthState.Role> roles) {
        if (users.isEmpty()) return EMPTY;
        Map<String, UserPerms> m = new HashMap<>();
        for (AuthState.User u : users.values()) {
            List<byte[][]> read = new ArrayList<>();
            List<byte[][]> write = new ArrayList<>();
            for (String roleName : u.roles()) {
                AuthState.Role role = roles.get(roleName);
                if (role == null) continue;
                for (Perm p : role.perms()) {
                    byte[][] ivl = interval(p);
                    if (ivl == null) continue;
                    if (p.type() == Perm.READ || p.type() == Perm.READWRITE) read.add(ivl);
                    if (p.type() == Perm.WRITE || p.type() == Perm.READWRITE) write.add(ivl);
                }
            }
            m.put(u.name(), new UserPerms(new Intervals(read), new Intervals(write)));
        }
        return new PermCache(Collections.unmodifiableMap(m));
    }

    /**
     * etcd's isRangeOpPermitted: may {@code user} do a {@code type} (READ or WRITE) operation on
     * {@code [key, rangeEnd)}? False for a user not in the cache. Root-role users are the caller's business.
     */
    boolean permitted(String user, byte[] key, byte[] rangeEnd, int type) {
        UserPerms p = byUser.get(user);
        if (p == null) return false;
        Intervals ivs = type == Perm.READ ? p.read : type == Perm.WRITE ? p.write : null;
        if (ivs == null) throw new IllegalArgumentException("check type " + type);
        if (rangeEnd.length == 0) return ivs.point(key);
        return ivs.covers(key, Bytes.isFromKey(rangeEnd) ? Bytes.EMPTY : rangeEnd);
    }

    /** [begin, end) of a permission in affine terms (end empty: +inf), or null if it covers nothing. */
    static byte[][] interval(Perm p) {
        byte[] end;
        if (p.rangeEnd().length == 0) end = Arrays.copyOf(p.key(), p.key().length + 1); // the point key
        else if (Bytes.isFromKey(p.rangeEnd())) end = Bytes.EMPTY;
        else end = p.rangeEnd();
        return compare(p.key(), end) < 0 ? new byte[][] {p.key(), end} : null;
    }

    /** adt.BytesAffineComparable.Compare: empty is +infinity. */
    static int compare(byte[] a, byte[] b) {
        if (a.length == 0) return b.length == 0 ? 0 : 1;
        if (b.length == 0) return -1;
        return Arrays.compareUnsigned(a, b);
    }

    private record UserPerms(Intervals read, Intervals write) {}

    /** One user's intervals of one type: sorted by begin (ties in insertion order), and merged. */
    static final class Intervals {
        private final byte[][] begins, ends;        // every interval, sorted by begin
        private final byte[][] mergedBegins, mergedEnds;  // disjoint, non-touching, sorted

        Intervals(List<byte[][]> ivls) {
            List<byte[][]> sorted = new ArrayList<>(ivls);
            sorted.sort(Comparator.comparing((byte[][] i) -> i[0], PermCache::compare)); // List.sort is stable
            begins = new byte[sorted.size()][];
            ends = new byte[sorted.size()][];
            List<byte[]> mb = new ArrayList<>();
            List<byte[]> me = new ArrayList<>();
            for (int i = 0; i < sorted.size(); i++) {
                byte[] b = sorted.get(i)[0], e = sorted.get(i)[1];
                begins[i] = b;
                ends[i] = e;
                int last = me.size() - 1;
                if (last >= 0 && compare(b, me.get(last)) <= 0) {
                    if (compare(e, me.get(last)) > 0) me.set(last, e);
                } else {
                    mb.add(b);
                    me.add(e);
                }
            }
            mergedBegins = mb.toArray(new byte[0][]);
            mergedEnds = me.toArray(new byte[0][]);
        }

        /** adt Intersects(NewBytesAffinePoint(key)): some interval has begin <= key < end. */
        boolean point(byte[] key) {
            int i = lastBeginAtMost(key);
            return i >= 0 && compare(key, mergedEnds[i]) < 0;
        }

        /** adt Contains([begin, end)); {@code end} empty is +inf. */
        boolean covers(byte[] begin, byte[] end) {
            if (compare(begin, end) >= 0) return coversByTreeWalk(begin, end);
            int i = lastBeginAtMost(begin);
            return i >= 0 && compare(mergedEnds[i], end) >= 0;
        }

        /**
         * adt's Contains as written: visit, in begin order, the intervals that adt's Interval.Compare says
         * meet the query; fail on a gap (maxEnd < next begin); pass if the first begin <= query begin and
         * the largest end >= query end. Used for empty/inverted queries, where "merged cover" differs.
         */
        boolean coversByTreeWalk(byte[] qBegin, byte[] qEnd) {
            byte[] minBegin = null, maxEnd = null;
            for (int i = 0; i < begins.length; i++) {
                if (!meets(qBegin, qEnd, begins[i], ends[i])) continue;
                if (minBegin == null) {
                    minBegin = begins[i];
                    maxEnd = ends[i];
                    continue;
                }
                if (compare(maxEnd, begins[i]) < 0) return false;
                if (compare(ends[i], maxEnd) > 0) maxEnd = ends[i];
            }
            return minBegin != null && compare(maxEnd, qEnd) >= 0 && compare(minBegin, qBegin) <= 0;
        }

        /** adt Interval.Compare(query, ivl) == 0: the query is neither left nor right of the interval. */
        static boolean meets(byte[] qBegin, byte[] qEnd, byte[] b, byte[] e) {
            boolean left = compare(qBegin, b) < 0 && compare(qEnd, b) <= 0;
            boolean right = compare(qBegin, e) >= 0;
            return !left && !right;
        }

        private int lastBeginAtMost(byte[] key) {
            int lo = 0, hi = mergedBegins.length - 1, found = -1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (compare(mergedBegins[mid], key) <= 0) {
                    found = mid;
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            return found;
        }

        int size() { return begins.length; }
    }
}
