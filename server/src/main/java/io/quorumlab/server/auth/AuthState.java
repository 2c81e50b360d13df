package io.quorumlab.server.auth;

import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One immutable version of the auth store: the enabled flag, the auth revision, users and roles in
 * etcd's order (UTF-8 byte order, as bbolt keeps them), and the permission cache built from them.
 * The store publishes each version through one volatile field: readers never lock.
 */
public final class AuthState {
    /** UTF-8 byte order, which is code point order (String.compareTo is UTF-16 order: differs above U+FFFF). */
    public static final Comparator<String> NAME_ORDER = AuthState::compareCodePoints;

    /** authpb.User. {@code password} is the bcrypt hash's bytes, empty for a no-password user; roles sorted. */
    public record User(String name, byte[] password, List<String> roles, boolean noPassword) {
        public User {
            Objects.requireNonNull(name);
            Objects.requireNonNull(password);
            roles = List.copyOf(roles);
        }

        boolean hasRole(String role) { return Collections.binarySearch(roles, role, NAME_ORDER) >= 0; }
    }

    /** authpb.Role: perms in etcd's order (sorted by key, ties in grant order). */
    public record Role(String name, List<Perm> perms) {
        public Role {
            Objects.requireNonNull(name);
            perms = List.copyOf(perms);
        }
    }

    static final AuthState INITIAL = new AuthState(false, 1, new TreeMap<>(NAME_ORDER), new TreeMap<>(NAME_ORDER));

    private final boolean enabled;
    private final long revision;
    private final SortedMap<String, User> users;
    private final SortedMap<String, Role> roles;
    private final PermCache perms;

    /** Takes ownership of the maps (callers pass fresh copies). */
    AuthState(boolean enabled, long revision, TreeMap<String, User> users, TreeMap<String, Role> roles) {
        if (revision < 1) throw new IllegalArgumentException("auth revision " + revision);
        this.enabled = enabled;
        this.revision = revision;
        this.users = Collections.unmodifiableSortedMap(users);
        this.roles = Collections.unmodifiableSortedMap(roles);
        this.perms = PermCache.build(users, roles);
    }

    public boolean enabled() { return enabled; }

    /** etcd's auth revision: 1 on a new store, +1 on every successful change (AuthEnable excepted). */
    public long revision() { return revision; }

    public SortedMap<String, User> users() { return users; }

    public SortedMap<String, Role> roles() { return roles; }

    PermCache perms() { return perms; }

    TreeMap<String, User> copyUsers() { return new TreeMap<>(users); }

    TreeMap<String, Role> copyRoles() { return new TreeMap<>(roles); }

    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    @Override public String toString() {
        return "AuthState{enabled=" + enabled + ", revision=" + revision + ", users=" + users.keySet() + ", roles=" + roles.keySet() + "}";
    }
}
