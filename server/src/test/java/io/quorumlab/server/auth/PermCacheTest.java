package io.quorumlab.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quorumlab.mvcc.api.Bytes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Permissions x requests, answers worked out by hand from etcd 3.4's range_perm_cache.go and pkg/adt
 * (empty byte string = +infinity; point = [k, k+"\0"); range_end "\0" = +inf; Contains needs the
 * intervals meeting the request to be contiguous and to span it).
 */
class PermCacheTest {
    private static final String INF = "\\0"; // written for a range_end of "\0"

    /**
     * perms: ";"-separated roles, each ","-separated "TYPE key [end]" (TYPE R, W, RW or a number; end "\0" =
     * from key; "-" = the empty key); a role named "missing" is granted but does not exist.
     * request: "key" (point, empty range_end) or "key end"; type R or W.
     */
    static Stream<Arguments> table() {
        return Stream.of(
                // single key
                row("R a", "R", "a", true),
                row("R a", "R", "b", false),
                row("R a", "R", "a\u0000", false),
                row("R a", "R", "a a\u0000", true),       // the point's own interval
                row("R a", "R", "a b", false),
                row("R a", "R", "a " + INF, false),
                row("R a", "W", "a", false),               // READ gives no WRITE
                // [a, c)
                row("R a c", "R", "a", true),
                row("R a c", "R", "b", true),
                row("R a c", "R", "bzzz", true),
                row("R a c", "R", "c", false),
                row("R a c", "R", "a c", true),
                row("R a c", "R", "b c", true),
                row("R a c", "R", "a d", false),
                row("R a c", "R", "a c\u0000", false),
                row("R a c", "R", "0 b", false),           // starts before the permission
                row("R a c", "R", "a " + INF, false),
                // from key a: [a, +inf)
                row("R a " + INF, "R", "zzzz", true),
                row("R a " + INF, "R", "b " + INF, true),
                row("R a " + INF, "R", "a zzz", true),
                row("R a " + INF, "R", "0", false),
                row("R a " + INF, "R", "0 " + INF, false),
                // etcdctl's "every key": key "\0" from key; a perm with the empty key covers nothing
                row("R \u0000 " + INF, "R", "\u0000 " + INF, true),
                row("R \u0000 " + INF, "R", "a", true),
                row("R - " + INF, "R", "a", false),
                row("R - " + INF, "R", "\u0000 " + INF, false),
                row("R -", "R", "a", false),
                // prefix a ([a, b)) vs from-key request
                row("R a b", "R", "a " + INF, false),
                row("R a b", "R", "a b", true),
                row("R a b", "R", "abc abd", true),
                // several intervals, several roles
                row("R a b;R b c", "R", "a c", true),      // touching intervals merge
                row("R a b;R b c", "R", "b", true),
                row("R a b,R c d", "R", "a d", false),     // gap [b, c)
                row("R a b,R c d", "R", "c d", true),
                row("R a b,R c d", "R", "b", false),
                row("R a c;R b d", "R", "a d", true),      // overlap
                row("R a c,R b d,R d f", "R", "a f", true),
                row("R a c,R d f", "R", "a f", false),
                row("R a b,R b", "R", "a b\u0000", true),  // a point touching a range
                // READWRITE feeds both; WRITE is not READ
                row("RW a c", "R", "a b", true),
                row("RW a c", "W", "a b", true),
                row("RW a c", "W", "b", true),
                row("W a c", "R", "b", false),
                row("W a c", "W", "a c", true),
                row("R a c;W a c", "W", "b", true),
                row("R a c;W c e", "W", "b", false),
                // inverted and empty permissions cover nothing and do not break others
                row("R c a", "R", "b", false),
                row("R c a", "R", "a c", false),
                row("R a b,R c a", "R", "a b", true),
                row("R a a", "R", "a", false),
                // roles that do not exist, and unknown permission types, count for nothing
                row("missing", "R", "a", false),
                row("missing;R a c", "R", "b", true),
                row("7 a c", "R", "b", false),
                row("7 a c", "W", "b", false),
                // empty and inverted requests follow adt's walk
                row("R a c", "R", "b a", true),            // the interval holding b meets [b, a)
                row("R \u0000 b", "R", "b a", false),      // [\0, b) lies left of b
                row("R a c", "R", "b b", true),
                row("R c d", "R", "b b", false),
                row("R a c", "R", "", false),               // the empty key never matches
                row("R a " + INF, "R", "", false));
    }

    private static Arguments row(String perms, String type, String request, boolean expected) {
        return Arguments.of(perms, type, request, expected);
    }

    @ParameterizedTest(name = "[{index}] perms \"{0}\" {1} \"{2}\" -> {3}")
    @MethodSource("table")
    void permTable(String perms, String type, String request, boolean expected) {
        PermCache cache = cache(perms);
        String[] rq = request.isEmpty() ? new String[] {""} : request.split(" ", -1);
        byte[] key = bytes(rq[0]);
        byte[] end = rq.length > 1 ? bytes(rq[1]) : Bytes.EMPTY;
        assertEquals(expected, cache.permitted("u", key, end, type.equals("R") ? Perm.READ : Perm.WRITE));
    }

    @Test
    void unknownUserHasNoPermission() {
        assertEquals(false, cache("R a c").permitted("other", bytes("b"), Bytes.EMPTY, Perm.READ));
    }

    /**
     * The binary-searched merged intervals answer as adt's walk does for every non-empty request range, and a
     * point is covered exactly when some interval holds it. Replay: -Dauth.seed=N.
     */
    @Test
    void mergedIntervalsAgreeWithAdtWalk() {
        long seed = Long.getLong("auth.seed", System.nanoTime());
        Random r = new Random(seed);
        String replay = "seed " + seed + "; replay: mvn -B -o -pl server -am test -Dtest=PermCacheTest#mergedIntervalsAgreeWithAdtWalk"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dauth.seed=" + seed;
        for (int round = 0; round < 300; round++) {
            List<byte[][]> ivls = new ArrayList<>();
            int n = r.nextInt(8);
            for (int i = 0; i < n; i++) {
                byte[][] ivl = PermCache.interval(new Perm(Perm.READ, randomKey(r), randomEnd(r)));
                if (ivl != null) ivls.add(ivl);
            }
            PermCache.Intervals iv = new PermCache.Intervals(ivls);
            for (int q = 0; q < 50; q++) {
                byte[] k = randomKey(r);
                boolean held = false;
                for (byte[][] i : ivls) held |= PermCache.compare(i[0], k) <= 0 && PermCache.compare(k, i[1]) < 0;
                assertEquals(held, iv.point(k), replay + " ivls=" + show(ivls) + " point=" + Bytes.show(k));
                byte[] e = r.nextInt(5) == 0 ? Bytes.EMPTY : randomKey(r);
                if (PermCache.compare(k, e) < 0) {
                    assertEquals(iv.coversByTreeWalk(k, e), iv.covers(k, e),
                            replay + " ivls=" + show(ivls) + " range=" + Bytes.show(k) + ".." + Bytes.show(e));
                }
            }
        }
    }

    private static byte[] randomKey(Random r) {
        byte[] b = new byte[1 + r.nextInt(2)];
        for (int i = 0; i < b.length; i++) b[i] = (byte) ('a' + r.nextInt(4));
        return b;
    }

    private static byte[] randomEnd(Random r) {
        int c = r.nextInt(6);
        if (c == 0) return Bytes.EMPTY;
        if (c == 1) return Bytes.FROM_KEY;
        return randomKey(r);
    }

    private static String show(List<byte[][]> ivls) {
        StringBuilder sb = new StringBuilder("[");
        for (byte[][] i : ivls) sb.append('[').append(Bytes.show(i[0])).append(',').append(Bytes.show(i[1])).append(") ");
        return sb.append(']').toString();
    }

    static PermCache cache(String spec) {
        TreeMap<String, AuthState.Role> roles = new TreeMap<>(AuthState.NAME_ORDER);
        List<String> userRoles = new ArrayList<>();
        String[] roleSpecs = spec.split(";");
        for (int i = 0; i < roleSpecs.length; i++) {
            String name = roleSpecs[i].equals("missing") ? "missing" : "r" + i;
            userRoles.add(name);
            if (name.equals("missing")) continue;
            List<Perm> perms = new ArrayList<>();
            for (String p : roleSpecs[i].split(",")) {
                String[] f = p.split(" ", -1);
                int type = switch (f[0]) {
                    case "R" -> Perm.READ;
                    case "W" -> Perm.WRITE;
                    case "RW" -> Perm.READWRITE;
                    default -> Integer.parseInt(f[0]);
                };
                perms.add(new Perm(type, bytes(f[1]), f.length > 2 ? bytes(f[2]) : Bytes.EMPTY));
            }
            roles.put(name, new AuthState.Role(name, perms));
        }
        userRoles.sort(AuthState.NAME_ORDER);
        AuthState.User u = new AuthState.User("u", new byte[0], userRoles, false);
        return PermCache.build(Map.of("u", u), roles);
    }

    private static byte[] bytes(String s) {
        if (s.equals("-")) return Bytes.EMPTY;
        if (s.equals(INF)) return Bytes.FROM_KEY;
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void intervalOfPermission() {
        assertEquals("[a, a\u0000)", showIvl(PermCache.interval(new Perm(Perm.READ, bytes("a"), Bytes.EMPTY))));
        assertEquals("[a, +inf)", showIvl(PermCache.interval(new Perm(Perm.READ, bytes("a"), Bytes.FROM_KEY))));
        assertEquals("null", showIvl(PermCache.interval(new Perm(Perm.READ, Bytes.EMPTY, Bytes.FROM_KEY))));
        assertEquals("null", showIvl(PermCache.interval(new Perm(Perm.READ, bytes("b"), bytes("a")))));
    }

    private static String showIvl(byte[][] i) {
        if (i == null) return "null";
        return "[" + new String(i[0], java.nio.charset.StandardCharsets.ISO_8859_1) + ", "
                + (i[1].length == 0 ? "+inf" : new String(i[1], java.nio.charset.StandardCharsets.ISO_8859_1)) + ")";
    }
}
