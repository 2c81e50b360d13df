package io.quorumlab.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimpleTokensTest {
    private static final long S = 1_000_000_000L;
    private final long[] now = {1_000 * S};

    private SimpleTokens tokens(long ttlSeconds) {
        SimpleTokens t = new SimpleTokens(ttlSeconds, () -> now[0]);
        t.enable();
        return t;
    }

    @Test
    void prefixIsSixteenLetters() {
        Random r = new Random(42);
        Set<Character> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            String p = SimpleTokens.newPrefix(r);
            assertTrue(p.matches("[a-zA-Z]{16}"), p);
            for (char c : p.toCharArray()) seen.add(c);
        }
        assertEquals(52, seen.size(), "every letter is drawn");
    }

    @Test
    void tokenIsPrefixDotIndexAndNamesItsIndex() {
        SimpleTokens t = tokens(300);
        String token = t.assign("u1", "mWvDeYtqnamSHFOi", 92);
        assertEquals("mWvDeYtqnamSHFOi.92", token);
        assertEquals(92, SimpleTokens.index(token));
        assertEquals("u1", t.lookup(token));
        assertNull(t.lookup("mWvDeYtqnamSHFOi.93"));
    }

    @Test
    void malformedTokensNameNoIndex() {
        assertEquals(-1, SimpleTokens.index("abc"));
        assertEquals(-1, SimpleTokens.index("a.b.1"));
        assertEquals(-1, SimpleTokens.index("abc."));
        assertEquals(-1, SimpleTokens.index("abc.-1"));
        assertEquals(-1, SimpleTokens.index("abc.+1"));
        assertEquals(-1, SimpleTokens.index("abc.1x"));
        assertEquals(-1, SimpleTokens.index("abc.99999999999999999999"));
        assertEquals(5, SimpleTokens.index(".5"));
        assertEquals(Long.MAX_VALUE, SimpleTokens.index("a." + Long.MAX_VALUE));
        assertEquals(-1, SimpleTokens.index("a.9223372036854775808"));
    }

    @Test
    void ttlSlidesOnEveryLookup() {
        SimpleTokens t = tokens(5);
        String token = t.assign("u1", "p", 7);
        now[0] += 4 * S;
        assertEquals("u1", t.lookup(token)); // expiry now t0 + 9 s
        now[0] += 4 * S;
        assertEquals("u1", t.lookup(token)); // expiry now t0 + 13 s
        assertEquals(0, t.sweep(now[0] + 5 * S), "exactly at expiry: kept");
        assertEquals(1, t.sweep(now[0] + 5 * S + 1));
        assertNull(t.lookup(token));
    }

    @Test
    void expiredTokenFailsBeforeTheSweep() {
        SimpleTokens t = tokens(5);
        String token = t.assign("u1", "p", 1);
        now[0] += 5 * S + 1;
        assertNull(t.lookup(token));
        assertEquals(1, t.size());
        assertEquals(1, t.sweep(now[0]));
        assertEquals(0, t.size());
    }

    @Test
    void zeroTtlMeansEtcdsDefault() {
        SimpleTokens t = tokens(0);
        String token = t.assign("u1", "p", 1);
        now[0] += 300 * S;
        assertEquals("u1", t.lookup(token));
        now[0] += 300 * S + 1;
        assertNull(t.lookup(token));
    }

    @Test
    void invalidateUserDropsOnlyThatUsersTokens() {
        SimpleTokens t = tokens(300);
        String a1 = t.assign("a", "x", 1), a2 = t.assign("a", "y", 2), b = t.assign("b", "z", 3);
        t.invalidateUser("a");
        assertNull(t.lookup(a1));
        assertNull(t.lookup(a2));
        assertEquals("b", t.lookup(b));
    }

    @Test
    void disabledStoresNothingAndDisableClears() {
        SimpleTokens t = new SimpleTokens(300, () -> now[0]);
        String before = t.assign("u", "p", 1);
        assertEquals("p.1", before);
        assertNull(t.lookup(before), "not stored while disabled");
        t.enable();
        String token = t.assign("u", "p", 2);
        assertEquals("u", t.lookup(token));
        t.disable();
        assertNull(t.lookup(token));
        assertEquals(0, t.size());
    }

    @Test
    void boundedDropsTheTokenClosestToExpiry() {
        SimpleTokens t = new SimpleTokens(300, () -> now[0], 3);
        t.enable();
        String first = t.assign("u", "a", 1);
        now[0] += S;
        String second = t.assign("u", "b", 2);
        now[0] += S;
        String third = t.assign("u", "c", 3);
        now[0] += S;
        assertEquals("u", t.lookup(first)); // first now expires last
        String fourth = t.assign("u", "d", 4);
        assertEquals(3, t.size());
        assertNull(t.lookup(second));
        assertEquals("u", t.lookup(first));
        assertEquals("u", t.lookup(third));
        assertEquals("u", t.lookup(fourth));
    }
}
