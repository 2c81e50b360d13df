package io.quorumlab.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.AuthDisableResponse;
import io.etcd.jetcd.api.AuthEnableResponse;
import io.etcd.jetcd.api.AuthRoleAddResponse;
import io.etcd.jetcd.api.AuthRoleDeleteResponse;
import io.etcd.jetcd.api.AuthRoleGetResponse;
import io.etcd.jetcd.api.AuthRoleGrantPermissionResponse;
import io.etcd.jetcd.api.AuthRoleListResponse;
import io.etcd.jetcd.api.AuthRoleRevokePermissionResponse;
import io.etcd.jetcd.api.AuthUserAddResponse;
import io.etcd.jetcd.api.AuthUserChangePasswordResponse;
import io.etcd.jetcd.api.AuthUserDeleteResponse;
import io.etcd.jetcd.api.AuthUserGetResponse;
import io.etcd.jetcd.api.AuthUserGrantRoleResponse;
import io.etcd.jetcd.api.AuthUserListResponse;
import io.etcd.jetcd.api.AuthUserRevokeRoleResponse;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.Bucket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd 3.4's auth store (auth/store.go + the auth applier's checks): users, roles, the enabled flag and
 * the auth revision, kept in the backend's AUTH, AUTH_USERS and AUTH_ROLES buckets in etcd's own formats
 * (authpb.User / authpb.Role protobuf values keyed by name; {@code authEnabled} = 0x01/0x00,
 * {@code authRevision} = u64 big-endian), and an immutable {@link AuthState} copy of them published
 * through one volatile field for lock-free checks.
 *
 * <p>Threading: {@link #apply} and {@link #recover} run on the member's apply thread only (the single
 * backend writer); their backend writes join the open batch, so the caller must put the entry's
 * consistent index in the same batch. The checks, {@link #checkPassword} and {@link #authInfo} may run
 * on any thread. bcrypt ({@link #hashPassword}, {@link #checkPassword}) is slow by design: never call it
 * on the apply loop or a transport thread.
 *
 * <p>Differences from etcd 3.4.23 (DEVIATIONs): nested txns are permission-checked ({@link #checkTxn});
 * a missing permission is refused ({@link AuthError#PERMISSION_NOT_GIVEN}); entries carry the password
 * hash, made once by the API layer (3.4 hashes on every member at apply); a user or role name longer
 * than {@link #MAX_NAME_BYTES} UTF-8 bytes (LMDB's key limit) is refused with
 * {@code invalid auth management}; a missing auth revision reads as 1 without being written (etcd
 * writes 1 when it creates the store, outside any Raft entry).
 */
public final class AuthStore {
    private static final Logger log = LoggerFactory.getLogger(AuthStore.class);

    public static final String ROOT = "root";
    /** The longest user or role name, in UTF-8 bytes: names are backend keys, and LMDB keys end at 511 bytes. */
    public static final int MAX_NAME_BYTES = 511;
    /** etcd's --bcrypt-cost bounds (golang.org/x/crypto/bcrypt MinCost, MaxCost) and default. */
    public static final int MIN_BCRYPT_COST = 4, MAX_BCRYPT_COST = 31, DEFAULT_BCRYPT_COST = 10;

    static final byte[] ENABLED_KEY = Bytes.of("authEnabled");
    static final byte[] REVISION_KEY = Bytes.of("authRevision");
    private static final int USER_OPTIONS_FIELD = 4;
    private static final int BCRYPT_MAX_PASSWORD_BYTES = 72;

    private final Backend backend;
    private final SimpleTokens tokens;
    private volatile AuthState state = AuthState.INITIAL;

    /** Loads the persisted state (the caller's thread must be the backend's writer, as at startup). */
    public AuthStore(Backend backend, SimpleTokens tokens) {
        this.backend = backend;
        this.tokens = tokens;
        recover();
    }

    public AuthState state() { return state; }

    public boolean enabled() { return state.enabled(); }

    /** The auth revision (gauge etcd_debugging_auth_revision). */
    public long revision() { return state.revision(); }

    public SimpleTokens tokens() { return tokens; }

    // =========================================================================================
    // Apply (apply thread)
    // =========================================================================================

    /**
     * Applies one auth entry as etcd's auth applier does: the admin check first (for every op but
     * Authenticate, UserGet, RoleGet), then the op. Returns the jetcd response without its header (the API
     * layer adds it), or throws {@link AuthException}; a failed op changes nothing.
     *
     * @param index the entry's raft index (an Authenticate's token ends with it)
     * @param ai    who proposed it (user and auth revision from the proposer's token), {@link AuthInfo#NONE} if nobody
     */
    public Object apply(long index, AuthRequest r, AuthInfo ai) {
        AuthState s = state;
        if (r.needsAdmin()) throwIf(adminError(s, ai));
        if (r instanceof AuthRequest.AuthEnable) return authEnable(s);
        if (r instanceof AuthRequest.AuthDisable) return authDisable(s);
        if (r instanceof AuthRequest.Authenticate a) return authenticate(s, a, index);
        if (r instanceof AuthRequest.UserAdd u) return userAdd(s, u);
        if (r instanceof AuthRequest.UserGet g) {
            AuthError e = adminError(s, ai);
            if (e != null && !g.name().equals(user(ai))) throw e.exception(); // a user may read itself
            return userGet(s, g.name());
        }
        if (r instanceof AuthRequest.UserList) return AuthUserListResponse.newBuilder().addAllUsers(s.users().keySet()).build();
        if (r instanceof AuthRequest.UserDelete d) return userDelete(s, d.name());
        if (r instanceof AuthRequest.UserChangePassword c) return userChangePassword(s, c);
        if (r instanceof AuthRequest.UserGrantRole g) return userGrantRole(s, g.user(), g.role());
        if (r instanceof AuthRequest.UserRevokeRole v) return userRevokeRole(s, v.name(), v.role());
        if (r instanceof AuthRequest.RoleAdd a) return roleAdd(s, a.name());
        if (r instanceof AuthRequest.RoleGet g) {
            AuthError e = adminError(s, ai);
            if (e != null && !hasRole(s, user(ai), g.role())) throw e.exception(); // holders may read their role
            return roleGet(s, g.role());
        }
        if (r instanceof AuthRequest.RoleList) return AuthRoleListResponse.newBuilder().addAllRoles(s.roles().keySet()).build();
        if (r instanceof AuthRequest.RoleDelete d) return roleDelete(s, d.role());
        if (r instanceof AuthRequest.RoleGrantPermission g) return roleGrantPermission(s, g.name(), g.perm());
        if (r instanceof AuthRequest.RoleRevokePermission v) return roleRevokePermission(s, v);
        throw new IllegalArgumentException("unknown auth request " + r);
    }

    private AuthEnableResponse authEnable(AuthState s) {
        if (s.enabled()) return AuthEnableResponse.getDefaultInstance(); // etcd: "already enabled; ignored"
        AuthState.User root = s.users().get(ROOT);
        if (root == null) throw AuthError.ROOT_USER_NOT_EXIST.exception();
        if (!root.hasRole(ROOT)) throw AuthError.ROOT_ROLE_NOT_EXIST.exception();
        backend.put(Bucket.AUTH, ENABLED_KEY, new byte[] {1});
        publish(new AuthState(true, s.revision(), s.copyUsers(), s.copyRoles())); // no revision bump, as etcd
        tokens.enable();
        log.info("enabled authentication");
        return AuthEnableResponse.getDefaultInstance();
    }

    private AuthDisableResponse authDisable(AuthState s) {
        if (!s.enabled()) return AuthDisableResponse.getDefaultInstance();
        backend.put(Bucket.AUTH, ENABLED_KEY, new byte[] {0});
        publish(new AuthState(false, bump(s), s.copyUsers(), s.copyRoles()));
        tokens.disable();
        log.info("disabled authentication");
        return AuthDisableResponse.getDefaultInstance();
    }

    private AuthenticateResponse authenticate(AuthState s, AuthRequest.Authenticate a, long index) {
        if (!s.enabled()) throw AuthError.AUTH_NOT_ENABLED.exception();
        AuthState.User u = s.users().get(a.name());
        // The API layer checked the password; the user may have gone or changed since.
        if (u == null || u.noPassword()) throw AuthError.AUTH_FAILED.exception();
        return AuthenticateResponse.newBuilder().setToken(tokens.assign(a.name(), a.tokenPrefix(), index)).build();
    }

    private AuthUserAddResponse userAdd(AuthState s, AuthRequest.UserAdd r) {
        if (r.name().isEmpty()) throw AuthError.USER_EMPTY.exception();
        if (s.users().containsKey(r.name())) throw AuthError.USER_ALREADY_EXIST.exception();
        checkNameLength(r.name());
        byte[] password = r.noPassword() ? Bytes.EMPTY : r.passwordHash().getBytes(StandardCharsets.UTF_8);
        AuthState.User u = new AuthState.User(r.name(), password, List.of(), r.noPassword());
        TreeMap<String, AuthState.User> users = s.copyUsers();
        users.put(u.name(), u);
        putUser(u);
        publish(new AuthState(s.enabled(), bump(s), users, s.copyRoles()));
        log.info("added a user user-name={}", r.name());
        return AuthUserAddResponse.getDefaultInstance();
    }

    private AuthUserGetResponse userGet(AuthState s, String name) {
        AuthState.User u = s.users().get(name);
        if (u == null) throw AuthError.USER_NOT_FOUND.exception();
        return AuthUserGetResponse.newBuilder().addAllRoles(u.roles()).build();
    }

    private AuthUserDeleteResponse userDelete(AuthState s, String name) {
        if (s.enabled() && name.equals(ROOT)) throw AuthError.INVALID_AUTH_MGMT.exception();
        if (!s.users().containsKey(name)) throw AuthError.USER_NOT_FOUND.exception();
        TreeMap<String, AuthState.User> users = s.copyUsers();
        users.remove(name);
        backend.delete(Bucket.AUTH_USERS, key(name));
        publish(new AuthState(s.enabled(), bump(s), users, s.copyRoles()));
        tokens.invalidateUser(name);
        log.info("deleted a user user-name={}", name);
        return AuthUserDeleteResponse.getDefaultInstance();
    }

    private AuthUserChangePasswordResponse userChangePassword(AuthState s, AuthRequest.UserChangePassword r) {
        AuthState.User old = s.users().get(r.name());
        if (old == null) throw AuthError.USER_NOT_FOUND.exception();
        // 3.4.23: roles and options stay; a no-password user gets a hash but stays no-password.
        AuthState.User u = new AuthState.User(old.name(), r.passwordHash().getBytes(StandardCharsets.UTF_8), old.roles(), old.noPassword());
        replaceUser(s, u);
        tokens.invalidateUser(r.name());
        log.info("changed a password of a user user-name={}", r.name());
        return AuthUserChangePasswordResponse.getDefaultInstance();
    }

    private AuthUserGrantRoleResponse userGrantRole(AuthState s, String name, String role) {
        AuthState.User old = s.users().get(name);
        if (old == null) throw AuthError.USER_NOT_FOUND.exception();
        if (!role.equals(ROOT) && !s.roles().containsKey(role)) throw AuthError.ROLE_NOT_FOUND.exception(); // role root need not exist
        int at = Collections.binarySearch(old.roles(), role, AuthState.NAME_ORDER);
        if (at >= 0) return AuthUserGrantRoleResponse.getDefaultInstance(); // already granted: no-op, no revision bump
        List<String> roles = new ArrayList<>(old.roles());
        roles.add(role);
        roles.sort(AuthState.NAME_ORDER);
        replaceUser(s, new AuthState.User(old.name(), old.password(), roles, old.noPassword()));
        log.info("granted a role to a user user-name={} role-name={}", name, role);
        return AuthUserGrantRoleResponse.getDefaultInstance();
    }

    private AuthUserRevokeRoleResponse userRevokeRole(AuthState s, String name, String role) {
        if (s.enabled() && name.equals(ROOT) && role.equals(ROOT)) throw AuthError.INVALID_AUTH_MGMT.exception();
        AuthState.User old = s.users().get(name);
        if (old == null) throw AuthError.USER_NOT_FOUND.exception();
        List<String> roles = new ArrayList<>(old.roles());
        if (!roles.removeIf(role::equals)) throw AuthError.ROLE_NOT_GRANTED.exception();
        replaceUser(s, new AuthState.User(old.name(), old.password(), roles, old.noPassword()));
        log.info("revoked a role from a user user-name={} role-name={}", name, role);
        return AuthUserRevokeRoleResponse.getDefaultInstance();
    }

    private AuthRoleAddResponse roleAdd(AuthState s, String name) {
        if (name.isEmpty()) throw AuthError.ROLE_EMPTY.exception();
        if (s.roles().containsKey(name)) throw AuthError.ROLE_ALREADY_EXIST.exception();
        checkNameLength(name);
        AuthState.Role role = new AuthState.Role(name, List.of());
        TreeMap<String, AuthState.Role> roles = s.copyRoles();
        roles.put(name, role);
        putRole(role);
        publish(new AuthState(s.enabled(), bump(s), s.copyUsers(), roles));
        log.info("created a role role-name={}", name);
        return AuthRoleAddResponse.getDefaultInstance();
    }

    private AuthRoleGetResponse roleGet(AuthState s, String name) {
        AuthState.Role role = s.roles().get(name);
        if (role == null) throw AuthError.ROLE_NOT_FOUND.exception();
        AuthRoleGetResponse.Builder b = AuthRoleGetResponse.newBuilder();
        for (Perm p : role.perms()) b.addPerm(p.toProto());
        return b.build();
    }

    private AuthRoleDeleteResponse roleDelete(AuthState s, String name) {
        if (s.enabled() && name.equals(ROOT)) throw AuthError.INVALID_AUTH_MGMT.exception();
        if (!s.roles().containsKey(name)) throw AuthError.ROLE_NOT_FOUND.exception();
        TreeMap<String, AuthState.Role> roles = s.copyRoles();
        roles.remove(name);
        backend.delete(Bucket.AUTH_ROLES, key(name));
        TreeMap<String, AuthState.User> users = s.copyUsers();
        for (AuthState.User u : s.users().values()) {
            List<String> kept = new ArrayList<>(u.roles());
            if (!kept.removeIf(name::equals)) continue;
            AuthState.User updated = new AuthState.User(u.name(), u.password(), kept, u.noPassword());
            users.put(u.name(), updated);
            putUser(updated);
        }
        publish(new AuthState(s.enabled(), bump(s), users, roles));
        log.info("deleted a role role-name={}", name);
        return AuthRoleDeleteResponse.getDefaultInstance();
    }

    private AuthRoleGrantPermissionResponse roleGrantPermission(AuthState s, String name, Perm perm) {
        AuthState.Role old = s.roles().get(name);
        if (old == null) throw AuthError.ROLE_NOT_FOUND.exception();
        List<Perm> perms = new ArrayList<>(old.perms());
        // etcd looks only at the first perm whose key >= perm.key (sort.Search): if that one has the same key
        // and range end its type is replaced, else the perm is appended and the list re-sorted by key.
        int idx = firstKeyAtLeast(perms, perm.key());
        if (idx < perms.size() && perms.get(idx).sameRange(perm.key(), perm.rangeEnd())) {
            perms.set(idx, perms.get(idx).withType(perm.type()));
        } else {
            perms.add(perm);
            perms.sort((a, b) -> Bytes.compare(a.key(), b.key())); // stable, as Go's insertion sort below 12 elements
        }
        AuthState.Role role = new AuthState.Role(name, perms);
        replaceRole(s, role);
        log.info("granted/updated a permission to a role role-name={} perm={}", name, perm);
        return AuthRoleGrantPermissionResponse.getDefaultInstance();
    }

    private AuthRoleRevokePermissionResponse roleRevokePermission(AuthState s, AuthRequest.RoleRevokePermission r) {
        AuthState.Role old = s.roles().get(r.role());
        if (old == null) throw AuthError.ROLE_NOT_FOUND.exception();
        List<Perm> perms = new ArrayList<>(old.perms());
        if (!perms.removeIf(p -> p.sameRange(r.key(), r.rangeEnd()))) throw AuthError.PERMISSION_NOT_GRANTED.exception();
        replaceRole(s, new AuthState.Role(old.name(), perms));
        log.info("revoked a permission on range role-name={} key={} range-end={}", r.role(), Bytes.show(r.key()), Bytes.show(r.rangeEnd()));
        return AuthRoleRevokePermissionResponse.getDefaultInstance();
    }

    private static int firstKeyAtLeast(List<Perm> perms, byte[] key) {
        int lo = 0, hi = perms.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Bytes.compare(perms.get(mid).key(), key) >= 0) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    private void replaceUser(AuthState s, AuthState.User u) {
        TreeMap<String, AuthState.User> users = s.copyUsers();
        users.put(u.name(), u);
        putUser(u);
        publish(new AuthState(s.enabled(), bump(s), users, s.copyRoles()));
    }

    private void replaceRole(AuthState s, AuthState.Role r) {
        TreeMap<String, AuthState.Role> roles = s.copyRoles();
        roles.put(r.name(), r);
        putRole(r);
        publish(new AuthState(s.enabled(), bump(s), s.copyUsers(), roles));
    }

    /** etcd's commitRevision: +1, written in the same batch as the change. */
    private long bump(AuthState s) {
        long next = s.revision() + 1;
        backend.put(Bucket.AUTH, REVISION_KEY, ByteBuffer.allocate(8).putLong(next).array());
        return next;
    }

    private void publish(AuthState next) { state = next; }

    private static void checkNameLength(String name) {
        if (key(name).length > MAX_NAME_BYTES) throw AuthError.INVALID_AUTH_MGMT.exception();
    }

    // =========================================================================================
    // Persistence
    // =========================================================================================

    /**
     * Reloads everything from the backend (startup, and after the backend was restored from a snapshot):
     * flag, revision (absent: 1), users, roles, the permission cache; tokens are kept while the result is
     * enabled and dropped if not. Apply thread (or before the apply loop starts).
     *
     * @throws IllegalStateException if a stored value does not decode (a corrupt backend)
     */
    public void recover() {
        byte[] en = backend.get(Bucket.AUTH, ENABLED_KEY);
        boolean enabled = en != null && en.length == 1 && en[0] == 1; // etcd: anything else reads as disabled
        byte[] rv = backend.get(Bucket.AUTH, REVISION_KEY);
        long revision = 0;
        if (rv != null) {
            if (rv.length != 8) throw new IllegalStateException("auth revision of " + rv.length + " bytes in the backend");
            revision = ByteBuffer.wrap(rv).getLong();
        }
        if (revision == 0) revision = 1;
        TreeMap<String, AuthState.User> users = new TreeMap<>(AuthState.NAME_ORDER);
        backend.scan(Bucket.AUTH_USERS, Bytes.EMPTY, null, (k, v) -> {
            AuthState.User u = decodeUser(v);
            users.put(u.name(), u);
            return true;
        });
        TreeMap<String, AuthState.Role> roles = new TreeMap<>(AuthState.NAME_ORDER);
        backend.scan(Bucket.AUTH_ROLES, Bytes.EMPTY, null, (k, v) -> {
            AuthState.Role r = decodeRole(v);
            roles.put(r.name(), r);
            return true;
        });
        publish(new AuthState(enabled, revision, users, roles));
        if (enabled) tokens.enable();
        else tokens.disable();
    }

    private void putUser(AuthState.User u) { backend.put(Bucket.AUTH_USERS, key(u.name()), encodeUser(u)); }

    private void putRole(AuthState.Role r) { backend.put(Bucket.AUTH_ROLES, key(r.name()), encodeRole(r)); }

    private static byte[] key(String name) { return name.getBytes(StandardCharsets.UTF_8); }

    /** authpb.User; options (field 4, absent from jetcd's proto) always written, as etcd 3.4 does. */
    static byte[] encodeUser(AuthState.User u) {
        ByteString options = u.noPassword() ? ByteString.copyFrom(new byte[] {0x08, 0x01}) : ByteString.EMPTY;
        return io.etcd.jetcd.api.User.newBuilder().setName(ByteString.copyFromUtf8(u.name()))
                .setPassword(ByteString.copyFrom(u.password())).addAllRoles(u.roles())
                .setUnknownFields(UnknownFieldSet.newBuilder().addField(USER_OPTIONS_FIELD,
                        UnknownFieldSet.Field.newBuilder().addLengthDelimited(options).build()).build())
                .build().toByteArray();
    }

    static AuthState.User decodeUser(byte[] v) {
        try {
            io.etcd.jetcd.api.User p = io.etcd.jetcd.api.User.parseFrom(v);
            boolean noPassword = false;
            for (ByteString opt : p.getUnknownFields().getField(USER_OPTIONS_FIELD).getLengthDelimitedList()) {
                for (long b : UnknownFieldSet.parseFrom(opt).getField(1).getVarintList()) noPassword = b != 0; // last wins
            }
            return new AuthState.User(p.getName().toStringUtf8(), p.getPassword().toByteArray(), p.getRolesList(), noPassword);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("undecodable user in the auth backend", e);
        }
    }

    static byte[] encodeRole(AuthState.Role r) {
        io.etcd.jetcd.api.Role.Builder b = io.etcd.jetcd.api.Role.newBuilder().setName(ByteString.copyFromUtf8(r.name()));
        for (Perm p : r.perms()) b.addKeyPermission(p.toProto());
        return b.build().toByteArray();
    }

    static AuthState.Role decodeRole(byte[] v) {
        try {
            io.etcd.jetcd.api.Role p = io.etcd.jetcd.api.Role.parseFrom(v);
            List<Perm> perms = new ArrayList<>(p.getKeyPermissionCount());
            for (io.etcd.jetcd.api.Permission perm : p.getKeyPermissionList()) perms.add(Perm.fromProto(perm));
            return new AuthState.Role(p.getName().toStringUtf8(), perms);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("undecodable role in the auth backend", e);
        }
    }

    // =========================================================================================
    // Checks (any thread). Each is a no-op while auth is disabled.
    // =========================================================================================

    /** etcd IsRangePermitted: READ on {@code [key, rangeEnd)} (empty rangeEnd: the key; "\0": from key on). */
    public void checkRange(AuthInfo ai, byte[] key, byte[] rangeEnd) { throwIf(opError(state, ai, key, rangeEnd, Perm.READ)); }

    /** etcd IsPutPermitted: WRITE on the key. */
    public void checkPut(AuthInfo ai, byte[] key) { throwIf(opError(state, ai, key, Bytes.EMPTY, Perm.WRITE)); }

    /** etcd IsDeleteRangePermitted: WRITE on the range. */
    public void checkDeleteRange(AuthInfo ai, byte[] key, byte[] rangeEnd) { throwIf(opError(state, ai, key, rangeEnd, Perm.WRITE)); }

    /**
     * A Put at apply (authApplierV3.Put): WRITE on the key; WRITE on every key already attached to its lease
     * ({@code leaseKeys}: null or empty if the lease is 0 or does not exist); READ on the key if prev_kv.
     */
    public void checkPutRequest(AuthInfo ai, PutRequest p, Iterable<byte[]> leaseKeys) {
        AuthState s = state;
        if (!s.enabled()) return;
        throwIf(opError(s, ai, p.key(), Bytes.EMPTY, Perm.WRITE));
        if (leaseKeys != null) for (byte[] k : leaseKeys) throwIf(opError(s, ai, k, Bytes.EMPTY, Perm.WRITE));
        if (p.prevKv()) throwIf(opError(s, ai, p.key(), Bytes.EMPTY, Perm.READ));
    }

    /** A DeleteRange at apply (authApplierV3.DeleteRange): WRITE on the range, then READ on it if prev_kv. */
    public void checkDeleteRangeRequest(AuthInfo ai, DeleteRangeRequest d) {
        AuthState s = state;
        if (!s.enabled()) return;
        throwIf(opError(s, ai, d.key(), d.rangeEnd(), Perm.WRITE));
        if (d.prevKv()) throwIf(opError(s, ai, d.key(), d.rangeEnd(), Perm.READ));
    }

    /** LeaseRevoke at apply (checkLeasePuts): WRITE on every key attached to the lease (none: no check at all). */
    public void checkLeaseKeys(AuthInfo ai, Iterable<byte[]> leaseKeys) {
        AuthState s = state;
        if (!s.enabled() || leaseKeys == null) return;
        for (byte[] k : leaseKeys) throwIf(opError(s, ai, k, Bytes.EMPTY, Perm.WRITE));
    }

    /**
     * etcd checkTxnAuth: READ on every compare's range, then success and failure ops in order (range: READ;
     * put: WRITE on the key, nothing else; delete: READ if prev_kv, then WRITE). DEVIATION: a nested txn
     * is checked the same way where it appears (etcd 3.4.23 lets it through unchecked). Iterative, so
     * nesting depth costs no stack.
     */
    public void checkTxn(AuthInfo ai, TxnRequest txn) {
        AuthState s = state;
        if (!s.enabled()) return;
        ArrayDeque<Iterator<Object>> stack = new ArrayDeque<>();
        stack.push(items(txn));
        while (!stack.isEmpty()) {
            Iterator<Object> it = stack.peek();
            if (!it.hasNext()) {
                stack.pop();
                continue;
            }
            Object o = it.next();
            if (o instanceof Compare c) {
                throwIf(opError(s, ai, c.key(), c.rangeEnd(), Perm.READ));
            } else if (o instanceof RangeRequest r) {
                throwIf(opError(s, ai, r.key(), r.rangeEnd(), Perm.READ));
            } else if (o instanceof PutRequest p) {
                throwIf(opError(s, ai, p.key(), Bytes.EMPTY, Perm.WRITE));
            } else if (o instanceof DeleteRangeRequest d) {
                if (d.prevKv()) throwIf(opError(s, ai, d.key(), d.rangeEnd(), Perm.READ));
                throwIf(opError(s, ai, d.key(), d.rangeEnd(), Perm.WRITE));
            } else if (o instanceof TxnRequest t) {
                stack.push(items(t));
            } else {
                throw new IllegalArgumentException("unknown txn element " + o);
            }
        }
    }

    private static Iterator<Object> items(TxnRequest t) {
        List<Object> l = new ArrayList<>(t.compare().size() + t.success().size() + t.failure().size());
        l.addAll(t.compare());
        l.addAll(t.success());
        l.addAll(t.failure());
        return l.iterator();
    }

    /** etcd IsAdminPermitted (mapped errors: Auth, Cluster paths). No revision check. */
    public void checkAdmin(AuthInfo ai) { throwIf(adminError(state, ai)); }

    /** The Maintenance paths' admin check (Hash, HashKV, Defragment, Snapshot): etcd sends the raw error, code UNKNOWN. */
    public void checkAdminRaw(AuthInfo ai) {
        AuthError e = adminError(state, ai);
        if (e != null) throw e.rawException();
    }

    /**
     * After a serialized read: etcd answers {@code revision of auth store is old} if the auth store changed
     * while the read ran ({@code ai.revision != 0 && != current}).
     */
    public void checkNotChangedSince(AuthInfo ai) {
        if (ai != null && ai.revision() != 0 && ai.revision() != state.revision()) throw AuthError.AUTH_OLD_REVISION.exception();
    }

    /** Whether {@code user} exists and holds {@code role} (etcd HasRole). */
    public boolean hasRole(String user, String role) { return hasRole(state, user, role); }

    private static boolean hasRole(AuthState s, String user, String role) {
        AuthState.User u = s.users().get(user);
        return u != null && u.roles().contains(role);
    }

    /** etcd isOpPermitted, against one state version. */
    private static AuthError opError(AuthState s, AuthInfo ai, byte[] key, byte[] rangeEnd, int type) {
        if (!s.enabled()) return null;
        if (ai == null || ai.revision() == 0) return AuthError.USER_EMPTY; // no token
        if (ai.revision() < s.revision()) return AuthError.AUTH_OLD_REVISION;
        AuthState.User u = s.users().get(ai.user());
        if (u == null) return AuthError.PERMISSION_DENIED;
        if (u.hasRole(ROOT)) return null;
        return s.perms().permitted(u.name(), key, rangeEnd, type) ? null : AuthError.PERMISSION_DENIED;
    }

    private static AuthError adminError(AuthState s, AuthInfo ai) {
        if (!s.enabled()) return null;
        if (ai == null || ai.user().isEmpty()) return AuthError.USER_EMPTY;
        AuthState.User u = s.users().get(ai.user());
        if (u == null) return AuthError.USER_NOT_FOUND;
        return u.hasRole(ROOT) ? null : AuthError.PERMISSION_DENIED;
    }

    private static String user(AuthInfo ai) { return ai == null ? "" : ai.user(); }

    private static void throwIf(AuthError e) {
        if (e != null) throw e.exception();
    }

    // =========================================================================================
    // Passwords and tokens (API layer)
    // =========================================================================================

    /**
     * etcd CheckPassword, against the current state: the auth revision it was checked at (the API layer
     * proposes Authenticate and retries if the revision moved meanwhile). Slow (bcrypt): API executor only.
     */
    public long checkPassword(String name, String password) {
        AuthState s = state;
        if (!s.enabled()) throw AuthError.AUTH_NOT_ENABLED.exception();
        AuthState.User u = s.users().get(name);
        if (u == null) throw AuthError.AUTH_FAILED.exception();
        if (u.noPassword()) throw AuthError.NO_PASSWORD_USER.exception();
        if (!bcryptMatches(u.password(), password)) throw AuthError.AUTH_FAILED.exception();
        return s.revision();
    }

    /**
     * A bcrypt hash ({@code $2a$<cost>$...}, as Go's golang.org/x/crypto/bcrypt makes) of the password's UTF-8
     * bytes; bytes past the 72nd are ignored, as bcrypt does. Slow by design: API executor only.
     */
    public static String hashPassword(String password, int cost, RandomGenerator random) {
        if (cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) throw new IllegalArgumentException("bcrypt cost " + cost);
        byte[] salt = new byte[16];
        for (int i = 0; i < salt.length; i++) salt[i] = (byte) random.nextInt(256);
        return OpenBSDBCrypt.generate("2a", bcryptInput(password), salt, cost);
    }

    static boolean bcryptMatches(byte[] storedHash, String password) {
        if (storedHash.length == 0) return false;
        try {
            return OpenBSDBCrypt.checkPassword(new String(storedHash, StandardCharsets.UTF_8), bcryptInput(password));
        } catch (RuntimeException e) { // a malformed stored hash (e.g. imported): Go's Compare fails the same way
            return false;
        }
    }

    private static byte[] bcryptInput(String password) {
        byte[] b = password.getBytes(StandardCharsets.UTF_8);
        return b.length > BCRYPT_MAX_PASSWORD_BYTES ? Arrays.copyOf(b, BCRYPT_MAX_PASSWORD_BYTES) : b;
    }

    /**
     * etcd AuthInfoFromCtx after the caller waited for the token's index to be applied: the token's user and
     * the <em>current</em> auth revision, or {@code invalid auth token}.
     */
    public AuthInfo authInfo(String token) {
        String user = tokens.lookup(token);
        if (user == null) throw AuthError.INVALID_AUTH_TOKEN.exception();
        return new AuthInfo(user, state.revision());
    }
}
