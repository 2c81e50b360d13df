package io.quorumlab.server.auth;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * etcd's "simple" token provider: tokens {@code <16 letters>.<raft index>} mapped to users in this
 * member's memory (never persisted: a restart invalidates them). Every member assigns the token when it
 * applies the Authenticate entry, so a token works on any member once that member applied the entry.
 *
 * <p>TTL is sliding: each successful {@link #lookup} moves the expiry to now + TTL. Expired tokens go at the
 * next {@link #sweep} (etcd sweeps every second; the member is to schedule it: this class has no thread).
 * A lookup already refuses a token past its expiry (etcd accepts it, and renews it, until its sweeper runs,
 * up to a second later). While disabled (auth off) nothing is stored and lookups fail, as in etcd.
 *
 * <p>Thread-safe: the apply loop assigns and invalidates, API threads look up, a timer sweeps.
 * Bounded by {@code maxTokens}: when full, an assignment first sweeps and then drops the token closest
 * to expiry (etcd has no bound; a client that logs in in a loop would otherwise grow the map for a TTL).
 */
public final class SimpleTokens {
    public static final int PREFIX_LENGTH = 16;
    public static final long DEFAULT_TTL_SECONDS = 300;
    /** etcd sweeps expired tokens once a second (simpleTokenTTLResolution). */
    public static final long SWEEP_INTERVAL_NANOS = 1_000_000_000L;
    public static final int DEFAULT_MAX_TOKENS = 1 << 20;
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private static final class Entry {
        final String user;
        volatile long expiresAtNanos;

        Entry(String user, long expiresAtNanos) {
            this.user = user;
            this.expiresAtNanos = expiresAtNanos;
        }
    }

    private final long ttlNanos;
    private final LongSupplier nanoClock;
    private final int maxTokens;
    private final Map<String, Entry> tokens = new ConcurrentHashMap<>();
    private volatile boolean enabled;

    /** {@code ttlSeconds} 0 means etcd's default 300 ({@code --auth-token-ttl}). */
    public SimpleTokens(long ttlSeconds, LongSupplier nanoClock) { this(ttlSeconds, nanoClock, DEFAULT_MAX_TOKENS); }

    public SimpleTokens(long ttlSeconds, LongSupplier nanoClock, int maxTokens) {
        if (ttlSeconds < 0 || ttlSeconds > Long.MAX_VALUE / 4_000_000_000L) throw new IllegalArgumentException("token TTL " + ttlSeconds + " s");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens " + maxTokens);
        this.ttlNanos = (ttlSeconds == 0 ? DEFAULT_TTL_SECONDS : ttlSeconds) * 1_000_000_000L;
        this.nanoClock = nanoClock;
        this.maxTokens = maxTokens;
    }

    /** 16 letters drawn uniformly from [a-zA-Z] (the proposer draws it; RealRuntime's generator is a SecureRandom). */
    public static String newPrefix(RandomGenerator random) {
        char[] c = new char[PREFIX_LENGTH];
        for (int i = 0; i < c.length; i++) c[i] = LETTERS.charAt(random.nextInt(LETTERS.length()));
        return new String(c);
    }

    /**
     * The raft index a token names, or -1 if it is not {@code <anything without '.'>.<decimal digits>}
     * (a caller waits until this index is applied before {@link #lookup}, as etcd does).
     */
    public static long index(String token) {
        int dot = token.indexOf('.');
        if (dot < 0 || token.indexOf('.', dot + 1) >= 0) return -1;
        int n = token.length() - dot - 1;
        if (n == 0 || n > 19) return -1;
        long v = 0;
        for (int i = dot + 1; i < token.length(); i++) {
            char ch = token.charAt(i);
            if (ch < '0' || ch > '9') return -1;
            v = v * 10 + (ch - '0');
            if (v < 0) return -1;
        }
        return v;
    }

    /** Applying an Authenticate entry at {@code index}: the token, stored (with a fresh TTL) only while enabled. */
    public String assign(String user, String prefix, long index) {
        String token = prefix + "." + index;
        if (!enabled) return token;
        if (tokens.size() >= maxTokens && !tokens.containsKey(token)) makeRoom();
        tokens.put(token, new Entry(user, nanoClock.getAsLong() + ttlNanos));
        return token;
    }

    /** The token's user (and its expiry pushed to now + TTL), or null if unknown or expired. */
    public String lookup(String token) {
        Entry e = tokens.get(token);
        if (e == null) return null;
        long now = nanoClock.getAsLong();
        if (now - e.expiresAtNanos > 0) return null; // past its expiry, awaiting the sweep
        e.expiresAtNanos = now + ttlNanos;
        return e.user;
    }

    /** Drops every token of {@code user} (UserDelete, UserChangePassword). */
    public void invalidateUser(String user) {
        tokens.values().removeIf(e -> e.user.equals(user));
    }

    /** AuthEnable (and recover into an enabled store): tokens start being stored. */
    public void enable() { enabled = true; }

    /** AuthDisable (and recover into a disabled store): every token dropped, none stored until enabled. */
    public void disable() {
        enabled = false;
        tokens.clear();
    }

    public boolean enabled() { return enabled; }

    /** Drops the tokens whose expiry is before {@code nowNanos}; returns how many. */
    public int sweep(long nowNanos) {
        int[] removed = {0};
        tokens.entrySet().removeIf(en -> {
            boolean expired = nowNanos - en.getValue().expiresAtNanos > 0;
            if (expired) removed[0]++;
            return expired;
        });
        return removed[0];
    }

    public int size() { return tokens.size(); }

    private void makeRoom() {
        sweep(nanoClock.getAsLong());
        while (tokens.size() >= maxTokens) {
            String oldest = null;
            long oldestExpiry = 0;
            for (Map.Entry<String, Entry> en : tokens.entrySet()) {
                long exp = en.getValue().expiresAtNanos;
                if (oldest == null || exp - oldestExpiry < 0) {
                    oldest = en.getKey();
                    oldestExpiry = exp;
                }
            }
            if (oldest == null) return;
            tokens.remove(oldest);
        }
    }
}
