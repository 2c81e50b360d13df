package io.quorumlab.server.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.api.AuthRoleGetResponse;
import io.etcd.jetcd.api.AuthRoleListResponse;
import io.etcd.jetcd.api.AuthUserGetResponse;
import io.etcd.jetcd.api.AuthUserListResponse;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.Bucket;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import io.quorumlab.mvcc.backend.LmdbBackend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthStoreTest {
    private static final int COST = 4; // bcrypt's minimum: keeps the tests fast
    private final long[] now = {0};
    private final Random random = new Random(7);
    private InMemoryBackend backend = new InMemoryBackend();
    private AuthStore store = new AuthStore(backend, new SimpleTokens(300, () -> now[0]));
    private long index = 100;

    private Object apply(AuthRequest r, AuthInfo ai) { return store.apply(++index, r, ai); }

    private Object apply(AuthRequest r) { return apply(r, AuthInfo.NONE); }

    private AuthRequest.UserAdd userAdd(String name, String password) {
        return new AuthRequest.UserAdd(name, AuthStore.hashPassword(password, COST, random), false);
    }

    private AuthInfo as(String user) { return new AuthInfo(user, store.revision()); }

    private static AuthError error(Runnable r) {
        try {
            r.run();
        } catch (AuthException e) {
            assertFalse(e.raw());
            return e.error();
        }
        return null;
    }

    private static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static Perm perm(int type, String key, String end) { return new Perm(type, b(key), b(end)); }

    // ---------------------------------------------------------------------------------------------

    @Test
    void newStoreIsDisabledAtRevisionOne() {
        assertFalse(store.enabled());
        assertEquals(1, store.revision());
        assertTrue(store.state().users().isEmpty());
        assertNull(backend.get(Bucket.AUTH, AuthStore.REVISION_KEY), "nothing written outside an entry");
    }

    /** Every op and error of design §2.2 in order, with the auth revision after each (etcd's commitRevision). */
    @Test
    void revisionTable() {
        record Row(AuthRequest req, String user, AuthError error, long revisionAfter) {}
        AuthRequest.UserAdd root = userAdd("root", "rootpw");
        List<Row> rows = List.of(
                new Row(new AuthRequest.RoleAdd("r1"), "", null, 2),
                new Row(new AuthRequest.RoleAdd("r1"), "", AuthError.ROLE_ALREADY_EXIST, 2),
                new Row(new AuthRequest.RoleAdd(""), "", AuthError.ROLE_EMPTY, 2),
                new Row(userAdd("u1", "pw"), "", null, 3),
                new Row(userAdd("u1", "pw"), "", AuthError.USER_ALREADY_EXIST, 3),
                new Row(userAdd("", "pw"), "", AuthError.USER_EMPTY, 3),
                new Row(new AuthRequest.UserGrantRole("u1", "r1"), "", null, 4),
                new Row(new AuthRequest.UserGrantRole("u1", "r1"), "", null, 4), // already granted: no bump
                new Row(new AuthRequest.UserGrantRole("u1", "nope"), "", AuthError.ROLE_NOT_FOUND, 4),
                new Row(new AuthRequest.UserGrantRole("nobody", "r1"), "", AuthError.USER_NOT_FOUND, 4),
                new Row(new AuthRequest.UserGrantRole("u1", "root"), "", null, 5), // role root need not exist
                new Row(new AuthRequest.UserRevokeRole("u1", "root"), "", null, 6),
                new Row(new AuthRequest.UserRevokeRole("u1", "root"), "", AuthError.ROLE_NOT_GRANTED, 6),
                new Row(new AuthRequest.UserRevokeRole("nobody", "r1"), "", AuthError.USER_NOT_FOUND, 6),
                new Row(new AuthRequest.RoleGrantPermission("r1", perm(Perm.READ, "a", "")), "", null, 7),
                new Row(new AuthRequest.RoleGrantPermission("r1", perm(Perm.WRITE, "a", "")), "", null, 8), // type update
                new Row(new AuthRequest.RoleGrantPermission("nope", perm(Perm.READ, "a", "")), "", AuthError.ROLE_NOT_FOUND, 8),
                new Row(new AuthRequest.RoleRevokePermission("r1", b("a"), b("")), "", null, 9),
                new Row(new AuthRequest.RoleRevokePermission("r1", b("a"), b("")), "", AuthError.PERMISSION_NOT_GRANTED, 9),
                new Row(new AuthRequest.RoleRevokePermission("nope", b("a"), b("")), "", AuthError.ROLE_NOT_FOUND, 9),
                new Row(new AuthRequest.UserChangePassword("u1", AuthStore.hashPassword("pw2", COST, random)), "", null, 10),
                new Row(new AuthRequest.UserChangePassword("nobody", "x"), "", AuthError.USER_NOT_FOUND, 10),
                new Row(new AuthRequest.UserGet("u1"), "", null, 10),
                new Row(new AuthRequest.UserGet("nobody"), "", AuthError.USER_NOT_FOUND, 10),
                new Row(new AuthRequest.UserList(), "", null, 10),
                new Row(new AuthRequest.RoleGet("r1"), "", null, 10),
                new Row(new AuthRequest.RoleGet("root"), "", AuthError.ROLE_NOT_FOUND, 10), // never added
                new Row(new AuthRequest.RoleList(), "", null, 10),
                new Row(new AuthRequest.Authenticate("u1", "p"), "", AuthError.AUTH_NOT_ENABLED, 10),
                new Row(new AuthRequest.AuthEnable(), "", AuthError.ROOT_USER_NOT_EXIST, 10),
                new Row(root, "", null, 11),
                new Row(new AuthRequest.AuthEnable(), "", AuthError.ROOT_ROLE_NOT_EXIST, 11),
                new Row(new AuthRequest.UserGrantRole("root", "root"), "", null, 12),
                new Row(new AuthRequest.AuthEnable(), "", null, 12), // enabling does not bump
                new Row(new AuthRequest.AuthEnable(), "root", null, 12), // already enabled: no-op
                new Row(new AuthRequest.Authenticate("root", "p"), "", null, 12),
                new Row(new AuthRequest.AuthDisable(), "root", null, 13),
                new Row(new AuthRequest.AuthDisable(), "", null, 13), // not enabled: no-op
                new Row(new AuthRequest.RoleDelete("r1"), "", null, 14),
                new Row(new AuthRequest.RoleDelete("r1"), "", AuthError.ROLE_NOT_FOUND, 14),
                new Row(new AuthRequest.UserDelete("u1"), "", null, 15),
                new Row(new AuthRequest.UserDelete("u1"), "", AuthError.USER_NOT_FOUND, 15));
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            AuthInfo ai = row.user().isEmpty() ? AuthInfo.NONE : as(row.user());
            assertEquals(row.error(), error(() -> apply(row.req(), ai)), "row " + i + ": " + row.req());
            assertEquals(row.revisionAfter(), store.revision(), "revision after row " + i + ": " + row.req());
        }
    }

    @Test
    void errorsCarryEtcdsTexts() {
        AuthException e = assertThrows(AuthException.class, () -> apply(new AuthRequest.RoleAdd("")));
        assertEquals("INVALID_ARGUMENT", e.grpcCode());
        assertEquals("etcdserver: role name is empty", e.getMessage());
        assertEquals("auth: role name is empty", e.asRaw().getMessage());
        assertEquals("UNKNOWN", e.asRaw().grpcCode());
        assertEquals("auth: user already exists", AuthError.USER_ALREADY_EXIST.rawMessage());
        assertEquals("etcdserver: user name already exists", AuthError.USER_ALREADY_EXIST.message());
        assertEquals("UNKNOWN", AuthError.NO_PASSWORD_USER.exception().grpcCode());
        assertEquals("etcdserver: revision of auth store is old", AuthError.AUTH_OLD_REVISION.message());
        assertEquals("auth: revision in header is old", AuthError.AUTH_OLD_REVISION.rawMessage());
        assertEquals("UNAUTHENTICATED", AuthError.INVALID_AUTH_TOKEN.grpcCode());
    }

    @Test
    void grantPermissionWithoutPermIsRefusedBeforeProposing() {
        AuthException e = assertThrows(AuthException.class, () -> new AuthRequest.RoleGrantPermission("r", null));
        assertEquals("etcdserver: permission not given", e.getMessage());
        assertEquals("INVALID_ARGUMENT", e.grpcCode());
    }

    private void enableWithRoot() {
        apply(userAdd("root", "rootpw"));
        apply(new AuthRequest.UserGrantRole("root", "root"));
        apply(new AuthRequest.AuthEnable());
        assertTrue(store.enabled());
    }

    @Test
    void rootRulesWhileEnabledAndDisabled() {
        apply(userAdd("root", "pw"));
        apply(new AuthRequest.RoleAdd("root"));
        apply(new AuthRequest.UserGrantRole("root", "root"));
        apply(new AuthRequest.AuthEnable());
        AuthInfo root = as("root");
        assertEquals(AuthError.INVALID_AUTH_MGMT, error(() -> apply(new AuthRequest.UserDelete("root"), root)));
        assertEquals(AuthError.INVALID_AUTH_MGMT, error(() -> apply(new AuthRequest.UserRevokeRole("root", "root"), root)));
        assertEquals(AuthError.INVALID_AUTH_MGMT, error(() -> apply(new AuthRequest.RoleDelete("root"), root)));
        apply(new AuthRequest.AuthDisable(), root);
        long rev = store.revision();
        apply(new AuthRequest.UserRevokeRole("root", "root"));
        apply(new AuthRequest.RoleDelete("root"));
        apply(new AuthRequest.UserDelete("root"));
        assertEquals(rev + 3, store.revision());
        assertTrue(store.state().users().isEmpty());
    }

    @Test
    void adminCheckAtApply() {
        enableWithRoot();
        AuthInfo root = as("root");
        apply(userAdd("u1", "pw"), root);
        apply(new AuthRequest.RoleAdd("r1"), root);
        apply(new AuthRequest.RoleAdd("r2"), root);
        apply(new AuthRequest.UserGrantRole("u1", "r1"), root);
        AuthInfo u1 = as("u1");
        assertEquals(AuthError.USER_EMPTY, error(() -> apply(new AuthRequest.RoleAdd("x"))));
        assertEquals(AuthError.USER_NOT_FOUND, error(() -> apply(new AuthRequest.RoleAdd("x"), as("ghost"))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> apply(new AuthRequest.RoleAdd("x"), u1)));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> apply(new AuthRequest.UserList(), u1)));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> apply(new AuthRequest.AuthDisable(), u1)));
        // A user reads itself, and the roles it holds; nothing else.
        assertEquals(List.of("r1"), ((AuthUserGetResponse) apply(new AuthRequest.UserGet("u1"), u1)).getRolesList());
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> apply(new AuthRequest.UserGet("root"), u1)));
        assertEquals(0, ((AuthRoleGetResponse) apply(new AuthRequest.RoleGet("r1"), u1)).getPermCount());
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> apply(new AuthRequest.RoleGet("r2"), u1)));
        assertEquals(AuthError.USER_EMPTY, error(() -> apply(new AuthRequest.UserGet("root"))));
        // Any holder of the role named root is an admin; the check has no revision test.
        apply(new AuthRequest.UserGrantRole("u1", "root"), root);
        assertDoesNotThrow(() -> apply(new AuthRequest.RoleAdd("x"), new AuthInfo("u1", 1)));
        // Authenticate needs no credentials.
        assertTrue(((AuthenticateResponse) apply(new AuthRequest.Authenticate("u1", "abc"))).getToken().startsWith("abc."));
    }

    @Test
    void grantedRolesStaySortedAndRoleDeleteRemovesThemFromUsers() {
        apply(userAdd("u1", "pw"));
        apply(userAdd("u2", "pw"));
        for (String r : List.of("c", "a", "b")) {
            apply(new AuthRequest.RoleAdd(r));
            apply(new AuthRequest.UserGrantRole("u1", r));
        }
        apply(new AuthRequest.UserGrantRole("u2", "b"));
        assertEquals(List.of("a", "b", "c"), ((AuthUserGetResponse) apply(new AuthRequest.UserGet("u1"))).getRolesList());
        apply(new AuthRequest.RoleDelete("b"));
        assertEquals(List.of("a", "c"), ((AuthUserGetResponse) apply(new AuthRequest.UserGet("u1"))).getRolesList());
        assertEquals(List.of(), ((AuthUserGetResponse) apply(new AuthRequest.UserGet("u2"))).getRolesList());
        assertEquals(List.of("a", "c"), reopen().state().users().get("u1").roles());
    }

    @Test
    void permissionsSortedByKeyWithEtcdsUpdateRule() {
        apply(new AuthRequest.RoleAdd("r"));
        apply(new AuthRequest.RoleGrantPermission("r", perm(Perm.READ, "b", "")));
        apply(new AuthRequest.RoleGrantPermission("r", perm(Perm.READ, "a", "")));
        apply(new AuthRequest.RoleGrantPermission("r", perm(Perm.READ, "a", "c")));
        assertEquals(List.of(perm(Perm.READ, "a", ""), perm(Perm.READ, "a", "c"), perm(Perm.READ, "b", "")), perms("r"));
        // etcd compares only the first perm with key >= "a": (a, "") differs, so (a, c) is appended again.
        apply(new AuthRequest.RoleGrantPermission("r", perm(Perm.WRITE, "a", "c")));
        assertEquals(List.of(perm(Perm.READ, "a", ""), perm(Perm.READ, "a", "c"), perm(Perm.WRITE, "a", "c"), perm(Perm.READ, "b", "")),
                perms("r"));
        apply(new AuthRequest.RoleGrantPermission("r", perm(Perm.READWRITE, "a", "")));
        assertEquals(Perm.READWRITE, perms("r").get(0).type());
        apply(new AuthRequest.RoleRevokePermission("r", b("a"), b("c"))); // removes every exact match
        assertEquals(List.of(perm(Perm.READWRITE, "a", ""), perm(Perm.READ, "b", "")), perms("r"));
    }

    private List<Perm> perms(String role) {
        return ((AuthRoleGetResponse) apply(new AuthRequest.RoleGet(role))).getPermList().stream().map(Perm::fromProto).toList();
    }

    @Test
    void listsInUtf8ByteOrder() {
        List<String> names = List.of("b", "a", "B", "é", "\uD83D\uDE00", "\uFFFD", "a\u0000");
        for (String n : names) {
            apply(new AuthRequest.UserAdd(n, "", true));
            apply(new AuthRequest.RoleAdd(n));
        }
        List<String> expected = List.of("B", "a", "a\u0000", "b", "é", "\uFFFD", "\uD83D\uDE00"); // U+FFFD < U+1F600 in UTF-8
        assertEquals(expected, ((AuthUserListResponse) apply(new AuthRequest.UserList())).getUsersList());
        assertEquals(expected, ((AuthRoleListResponse) apply(new AuthRequest.RoleList())).getRolesList());
        assertEquals(expected, reopen().state().users().keySet().stream().toList());
    }

    @Test
    void namesLongerThanABackendKeyAreRefused() {
        String longName = "x".repeat(AuthStore.MAX_NAME_BYTES + 1);
        assertEquals(AuthError.INVALID_AUTH_MGMT, error(() -> apply(new AuthRequest.UserAdd(longName, "", true))));
        assertEquals(AuthError.INVALID_AUTH_MGMT, error(() -> apply(new AuthRequest.RoleAdd(longName))));
        assertEquals(1, store.revision());
        assertDoesNotThrow(() -> apply(new AuthRequest.RoleAdd("x".repeat(AuthStore.MAX_NAME_BYTES))));
    }

    // ---- passwords and tokens ------------------------------------------------------------------

    @Test
    void passwordChecks() {
        apply(userAdd("u1", "pw"));
        apply(userAdd("empty", ""));
        apply(new AuthRequest.UserAdd("np", "", true));
        assertEquals(AuthError.AUTH_NOT_ENABLED, error(() -> store.checkPassword("u1", "pw")));
        enableWithRoot();
        assertEquals(store.revision(), store.checkPassword("u1", "pw"));
        assertEquals(AuthError.AUTH_FAILED, error(() -> store.checkPassword("u1", "wrong")));
        assertEquals(AuthError.AUTH_FAILED, error(() -> store.checkPassword("ghost", "pw")));
        assertEquals(store.revision(), store.checkPassword("empty", ""));
        AuthException np = assertThrows(AuthException.class, () -> store.checkPassword("np", ""));
        assertEquals("UNKNOWN", np.grpcCode());
        assertEquals("auth: authentication failed, password was given for no password user", np.getMessage());
        // A no-password user given a password stays a no-password user (3.4.23).
        apply(new AuthRequest.UserChangePassword("np", AuthStore.hashPassword("now", COST, random)), as("root"));
        assertEquals(AuthError.NO_PASSWORD_USER, assertThrows(AuthException.class, () -> store.checkPassword("np", "now")).error());
        assertEquals(AuthError.AUTH_FAILED, error(() -> apply(new AuthRequest.Authenticate("np", "p"))));
        apply(new AuthRequest.UserChangePassword("u1", AuthStore.hashPassword("pw2", COST, random)), as("root"));
        assertEquals(AuthError.AUTH_FAILED, error(() -> store.checkPassword("u1", "pw")));
        assertEquals(store.revision(), store.checkPassword("u1", "pw2"));
    }

    @Test
    void bcryptHashesLikeGoAndIgnoresBytesPast72() {
        String hash = AuthStore.hashPassword("pw", COST, random);
        assertTrue(hash.matches("\\$2a\\$04\\$[./A-Za-z0-9]{53}"), hash);
        String long80 = "0123456789".repeat(8);
        byte[] h = AuthStore.hashPassword(long80, COST, random).getBytes(StandardCharsets.UTF_8);
        assertTrue(AuthStore.bcryptMatches(h, long80.substring(0, 72)));
        assertFalse(AuthStore.bcryptMatches(h, long80.substring(0, 71)));
        assertFalse(AuthStore.bcryptMatches(new byte[0], ""));
        assertFalse(AuthStore.bcryptMatches(b("not a hash"), "pw"));
        assertThrows(IllegalArgumentException.class, () -> AuthStore.hashPassword("pw", 3, random));
    }

    /** Hashes etcd 3.4.23 (Go's bcrypt, --bcrypt-cost 4) stored for etcdctl's user add, checked by ours. */
    @Test
    void checksHashesMadeByEtcd() {
        assertTrue(AuthStore.bcryptMatches(b("$2a$04$VAVPWbaAXjDbwSjIdLuHgOcckqlmbpz6QUeKA6/vCW0N0E8zDqlpG"), "pw"));
        assertFalse(AuthStore.bcryptMatches(b("$2a$04$VAVPWbaAXjDbwSjIdLuHgOcckqlmbpz6QUeKA6/vCW0N0E8zDqlpG"), "pW"));
        String a80 = "a".repeat(80);
        byte[] h80 = b("$2a$04$ultHpByIr8hjh5A6OOc96e0P6pEfyyfNtwUccheCggTPVMUFci7sa");
        assertTrue(AuthStore.bcryptMatches(h80, a80));
        assertTrue(AuthStore.bcryptMatches(h80, a80.substring(0, 72)));
        assertFalse(AuthStore.bcryptMatches(h80, a80.substring(0, 71)));
        assertTrue(AuthStore.bcryptMatches(b("$2a$04$1u2Q8ICWZJ7f4qOfoUVZx.EWjuygGsgXx6TMPEOmU13Y8LTJREEMC"), ""));
        assertTrue(AuthStore.bcryptMatches(b("$2a$04$s5AAMRj2jfXlTCUdGUVtq.13/L7MWoAoLyQz23XaUb9cjFubrAdlC"), "pässwörd€"));
    }

    /** authpb.User bytes exactly as etcd 3.4.23 stored them in bbolt (options always present). */
    @Test
    void userAndRoleValuesUseEtcdsEncoding() {
        String hash = "$2a$04$VAVPWbaAXjDbwSjIdLuHgOcckqlmbpz6QUeKA6/vCW0N0E8zDqlpG";
        byte[] etcdU1 = HexFormat.of().parseHex("0a027531123c" + HexFormat.of().formatHex(b(hash)) + "1a0272312200");
        assertArrayEquals(etcdU1, AuthStore.encodeUser(new AuthState.User("u1", b(hash), List.of("r1"), false)));
        AuthState.User u1 = AuthStore.decodeUser(etcdU1);
        assertEquals(List.of("r1"), u1.roles());
        assertFalse(u1.noPassword());
        byte[] etcdNp = HexFormat.of().parseHex("0a026e7022020801");
        assertArrayEquals(etcdNp, AuthStore.encodeUser(new AuthState.User("np", new byte[0], List.of(), true)));
        assertTrue(AuthStore.decodeUser(etcdNp).noPassword());
        assertFalse(AuthStore.decodeUser(HexFormat.of().parseHex("0a026e70")).noPassword(), "users without options (old etcd)");
        AuthState.Role r = new AuthState.Role("r", List.of(perm(Perm.READWRITE, "a", "b"), perm(7, "c", "")));
        assertEquals(r.perms(), AuthStore.decodeRole(AuthStore.encodeRole(r)).perms());
        assertThrows(IllegalStateException.class, () -> AuthStore.decodeUser(new byte[] {(byte) 0xff}));
    }

    @Test
    void tokensAssignedAtApplyAndDropped() {
        apply(userAdd("u1", "pw"));
        apply(userAdd("u2", "pw"));
        enableWithRoot();
        AuthInfo root = as("root");
        String t1 = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("u1", "AbcdefghijklmnoP"))).getToken();
        assertEquals("AbcdefghijklmnoP." + index, t1);
        String t2 = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("u2", "x"))).getToken();
        assertEquals(new AuthInfo("u1", store.revision()), store.authInfo(t1));
        assertEquals(AuthError.AUTH_FAILED, error(() -> apply(new AuthRequest.Authenticate("ghost", "x"))));
        // The AuthInfo carries the revision at lookup time, not at login.
        apply(new AuthRequest.RoleAdd("r"), root);
        assertEquals(store.revision(), store.authInfo(t1).revision());
        apply(new AuthRequest.UserChangePassword("u1", AuthStore.hashPassword("new", COST, random)), root);
        assertEquals(AuthError.INVALID_AUTH_TOKEN, error(() -> store.authInfo(t1)));
        assertEquals("u2", store.authInfo(t2).user());
    }

    @Test
    void tokensDroppedOnUserDeleteAndAuthDisable() {
        apply(userAdd("u1", "pw"));
        enableWithRoot();
        String t1 = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("u1", "x"))).getToken();
        String tr = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("root", "y"))).getToken();
        apply(new AuthRequest.UserDelete("u1"), as("root"));
        assertEquals(AuthError.INVALID_AUTH_TOKEN, error(() -> store.authInfo(t1)));
        assertEquals("root", store.authInfo(tr).user());
        apply(new AuthRequest.AuthDisable(), as("root"));
        assertEquals(AuthError.INVALID_AUTH_TOKEN, error(() -> store.authInfo(tr)));
        assertEquals(0, store.tokens().size());
    }

    // ---- permission checks -------------------------------------------------------------------

    /** u1: READ on prefix "a"; u2: WRITE on prefix "w"; both via roles; root via the root role. */
    private void fixtureWithUsers() {
        apply(userAdd("u1", "pw"));
        apply(userAdd("u2", "pw"));
        apply(new AuthRequest.RoleAdd("ra"));
        apply(new AuthRequest.RoleAdd("rw"));
        apply(new AuthRequest.RoleGrantPermission("ra", new Perm(Perm.READ, b("a"), Bytes.prefixEnd(b("a")))));
        apply(new AuthRequest.RoleGrantPermission("rw", new Perm(Perm.WRITE, b("w"), Bytes.prefixEnd(b("w")))));
        apply(new AuthRequest.UserGrantRole("u1", "ra"));
        apply(new AuthRequest.UserGrantRole("u2", "rw"));
    }

    @Test
    void checksAreNoOpsWhileDisabled() {
        fixtureWithUsers();
        assertDoesNotThrow(() -> store.checkRange(AuthInfo.NONE, b("z"), Bytes.EMPTY));
        assertDoesNotThrow(() -> store.checkPut(null, b("z")));
        assertDoesNotThrow(() -> store.checkAdmin(AuthInfo.NONE));
        assertDoesNotThrow(() -> store.checkAdminRaw(new AuthInfo("ghost", 1)));
        assertDoesNotThrow(() -> store.checkTxn(AuthInfo.NONE, txn(List.of(), List.of(PutRequest.of("z", "v")), List.of())));
    }

    @Test
    void opChecksInEtcdsOrder() {
        fixtureWithUsers();
        enableWithRoot();
        AuthInfo u1 = as("u1");
        assertEquals(AuthError.USER_EMPTY, error(() -> store.checkRange(AuthInfo.NONE, b("a1"), Bytes.EMPTY)));
        assertEquals(AuthError.AUTH_OLD_REVISION, error(() -> store.checkRange(new AuthInfo("u1", store.revision() - 1), b("a1"), Bytes.EMPTY)));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkRange(as("ghost"), b("a1"), Bytes.EMPTY)));
        assertNull(error(() -> store.checkRange(u1, b("a1"), Bytes.EMPTY)));
        assertNull(error(() -> store.checkRange(u1, b("a"), b("b"))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkRange(u1, b("a"), Bytes.FROM_KEY)));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkPut(u1, b("a1"))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkDeleteRange(u1, b("a"), b("b"))));
        AuthInfo root = as("root");
        assertNull(error(() -> store.checkPut(root, b("anything"))));
        assertNull(error(() -> store.checkRange(root, b("\u0000"), Bytes.FROM_KEY)));
        // a newer revision than the store's is accepted (etcd only refuses older ones)
        assertNull(error(() -> store.checkRange(new AuthInfo("u1", store.revision() + 5), b("a1"), Bytes.EMPTY)));
        // after a change of the auth store, an AuthInfo from before is old
        AuthInfo before = as("u1");
        apply(new AuthRequest.RoleAdd("another"), root);
        assertEquals(AuthError.AUTH_OLD_REVISION, error(() -> store.checkRange(before, b("a1"), Bytes.EMPTY)));
        assertEquals(AuthError.AUTH_OLD_REVISION, error(() -> store.checkNotChangedSince(before)));
        assertNull(error(() -> store.checkNotChangedSince(AuthInfo.NONE)));
        assertNull(error(() -> store.checkNotChangedSince(as("u1"))));
    }

    @Test
    void adminChecksMappedAndRaw() {
        fixtureWithUsers();
        enableWithRoot();
        assertNull(error(() -> store.checkAdmin(new AuthInfo("root", 1)))); // no revision check
        assertEquals(AuthError.USER_EMPTY, error(() -> store.checkAdmin(AuthInfo.NONE)));
        assertEquals(AuthError.USER_EMPTY, error(() -> store.checkAdmin(null)));
        assertEquals(AuthError.USER_NOT_FOUND, error(() -> store.checkAdmin(as("ghost"))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkAdmin(as("u1"))));
        for (Object[] c : new Object[][] {{AuthInfo.NONE, "auth: user name is empty"}, {as("ghost"), "auth: user not found"},
                {as("u1"), "auth: permission denied"}}) {
            AuthException e = assertThrows(AuthException.class, () -> store.checkAdminRaw((AuthInfo) c[0]));
            assertEquals("UNKNOWN", e.grpcCode());
            assertEquals(c[1], e.getMessage());
        }
    }

    @Test
    void putDeleteAndLeaseChecks() {
        fixtureWithUsers();
        apply(new AuthRequest.RoleGrantPermission("rw", new Perm(Perm.READ, b("w1"), Bytes.EMPTY)));
        enableWithRoot();
        AuthInfo u2 = as("u2");
        assertNull(error(() -> store.checkPutRequest(u2, PutRequest.of("w2", "v"), null)));
        // prev_kv needs READ on the key
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkPutRequest(u2, new PutRequest(b("w2"), b("v"), 0, true, false, false), null)));
        assertNull(error(() -> store.checkPutRequest(u2, new PutRequest(b("w1"), b("v"), 0, true, false, false), null)));
        // the keys already on the lease need WRITE
        assertNull(error(() -> store.checkPutRequest(u2, new PutRequest(b("w2"), b("v"), 5, false, false, false), List.of(b("w3")))));
        assertEquals(AuthError.PERMISSION_DENIED,
                error(() -> store.checkPutRequest(u2, new PutRequest(b("w2"), b("v"), 5, false, false, false), List.of(b("w3"), b("a1")))));
        assertNull(error(() -> store.checkLeaseKeys(u2, List.of(b("w3")))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkLeaseKeys(u2, List.of(b("w3"), b("x")))));
        assertNull(error(() -> store.checkLeaseKeys(AuthInfo.NONE, List.of())), "a lease without keys needs nothing");
        assertNull(error(() -> store.checkDeleteRangeRequest(u2, new DeleteRangeRequest(b("w"), b("x"), false))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkDeleteRangeRequest(u2, new DeleteRangeRequest(b("w"), b("x"), true))));
        assertNull(error(() -> store.checkDeleteRangeRequest(u2, new DeleteRangeRequest(b("w1"), Bytes.EMPTY, true))));
        assertEquals(AuthError.USER_EMPTY, error(() -> store.checkPutRequest(AuthInfo.NONE, PutRequest.of("w2", "v"), null)));
    }

    private static TxnRequest txn(List<Compare> cmp, List<RequestOp> success, List<RequestOp> failure) {
        return new TxnRequest(cmp, success, failure);
    }

    private static RangeRequest range(String key, byte[] end) {
        return new RangeRequest(b(key), end, 0, 0, RangeRequest.SortOrder.NONE, RangeRequest.SortTarget.KEY, false, false, false, 0, 0, 0, 0);
    }

    @Test
    void txnChecksComparesBothBranchesAndNestedTxns() {
        fixtureWithUsers();
        enableWithRoot();
        AuthInfo u1 = as("u1");
        Compare onA = Compare.number(b("a1"), Compare.Target.VERSION, Compare.Result.EQUAL, 0);
        Compare onZ = Compare.number(b("z"), Compare.Target.VERSION, Compare.Result.EQUAL, 0);
        assertNull(error(() -> store.checkTxn(u1, txn(List.of(onA), List.of(range("a2", Bytes.EMPTY)), List.of(range("a", b("b")))))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkTxn(u1, txn(List.of(onZ), List.of(), List.of()))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkTxn(u1, txn(List.of(), List.of(), List.of(range("z", Bytes.EMPTY))))));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkTxn(u1, txn(List.of(), List.of(PutRequest.of("a1", "v")), List.of()))));
        AuthInfo u2 = as("u2");
        assertNull(error(() -> store.checkTxn(u2, txn(List.of(), List.of(new DeleteRangeRequest(b("w"), b("x"), false)), List.of()))));
        assertEquals(AuthError.PERMISSION_DENIED,
                error(() -> store.checkTxn(u2, txn(List.of(), List.of(new DeleteRangeRequest(b("w"), b("x"), true)), List.of()))));
        // DEVIATION: a nested txn is checked (etcd 3.4.23 let a read-only user write through one).
        TxnRequest nested = txn(List.of(), List.of(txn(List.of(), List.of(range("a1", Bytes.EMPTY)), List.of(PutRequest.of("z", "v")))), List.of());
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkTxn(u1, nested)));
        TxnRequest nestedOk = txn(List.of(), List.of(txn(List.of(onA), List.of(range("a1", Bytes.EMPTY)), List.of())), List.of());
        assertNull(error(() -> store.checkTxn(u1, nestedOk)));
        // An empty txn touches nothing: etcd lets it through even without a token.
        assertNull(error(() -> store.checkTxn(AuthInfo.NONE, txn(List.of(), List.of(), List.of()))));
        assertEquals(AuthError.USER_EMPTY, error(() -> store.checkTxn(AuthInfo.NONE, txn(List.of(onA), List.of(), List.of()))));
        // Deep nesting costs no stack.
        TxnRequest deep = txn(List.of(), List.of(PutRequest.of("z", "v")), List.of());
        for (int i = 0; i < 100_000; i++) deep = txn(List.of(), List.of(deep), List.of());
        TxnRequest finalDeep = deep;
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkTxn(u1, finalDeep)));
    }

    // ---- persistence ---------------------------------------------------------------------------

    private AuthStore reopen() {
        backend.commit();
        backend = new InMemoryBackend(backend.disk(), BackendConfig.defaults());
        store = new AuthStore(backend, new SimpleTokens(300, () -> now[0]));
        return store;
    }

    private void assertSameState(AuthState expected, AuthState actual) {
        assertEquals(expected.enabled(), actual.enabled());
        assertEquals(expected.revision(), actual.revision());
        assertEquals(expected.users().keySet(), actual.users().keySet());
        for (String u : expected.users().keySet()) {
            AuthState.User a = expected.users().get(u), c = actual.users().get(u);
            assertArrayEquals(a.password(), c.password(), u);
            assertEquals(a.roles(), c.roles(), u);
            assertEquals(a.noPassword(), c.noPassword(), u);
        }
        assertEquals(expected.roles(), actual.roles());
    }

    @Test
    void persistsAcrossReopenAndLosesAnUncommittedBatch() {
        fixtureWithUsers();
        apply(new AuthRequest.UserAdd("np", "", true));
        enableWithRoot();
        AuthState before = store.state();
        String token = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("u1", "x"))).getToken();
        reopen();
        assertSameState(before, store.state());
        assertTrue(store.enabled());
        assertTrue(store.tokens().enabled());
        assertEquals(AuthError.INVALID_AUTH_TOKEN, error(() -> store.authInfo(token)), "tokens do not survive a restart");
        assertNull(error(() -> store.checkRange(as("u1"), b("a1"), Bytes.EMPTY)));
        assertEquals(AuthError.PERMISSION_DENIED, error(() -> store.checkRange(as("u1"), b("b"), Bytes.EMPTY)));
        assertEquals(store.revision(), store.checkPassword("u1", "pw"));
        // Writes join the open batch: a crash before the commit loses them, as it loses the entry's index.
        apply(new AuthRequest.RoleAdd("lost"), as("root"));
        backend.crash();
        backend = new InMemoryBackend(backend.disk(), BackendConfig.defaults());
        store = new AuthStore(backend, new SimpleTokens(300, () -> now[0]));
        assertSameState(before, store.state());
    }

    @Test
    void recoverAfterSnapshotRestore() throws Exception {
        fixtureWithUsers();
        AuthState source = store.state();
        ByteArrayOutputStream snap = new ByteArrayOutputStream();
        backend.snapshot(snap);
        // Another member: enabled, with a live token, and different users.
        backend = new InMemoryBackend();
        store = new AuthStore(backend, new SimpleTokens(300, () -> now[0]));
        enableWithRoot();
        String token = ((AuthenticateResponse) apply(new AuthRequest.Authenticate("root", "x"))).getToken();
        backend.restore(new ByteArrayInputStream(snap.toByteArray()));
        store.recover();
        assertSameState(source, store.state());
        assertFalse(store.tokens().enabled());
        assertEquals(AuthError.INVALID_AUTH_TOKEN, error(() -> store.authInfo(token)), "restored into a disabled store: tokens dropped");
    }

    @Test
    void lmdbPersistsAcrossReopen(@TempDir Path dir) {
        AuthState before;
        try (LmdbBackend lmdb = new LmdbBackend(dir, BackendConfig.defaults())) {
            backend = null;
            store = new AuthStore(lmdb, new SimpleTokens(300, () -> now[0]));
            fixtureWithUsers();
            apply(new AuthRequest.RoleAdd("x".repeat(AuthStore.MAX_NAME_BYTES)));
            enableWithRoot();
            before = store.state();
        }
        try (LmdbBackend lmdb = new LmdbBackend(dir, BackendConfig.defaults())) {
            AuthStore reopened = new AuthStore(lmdb, new SimpleTokens(300, () -> now[0]));
            assertSameState(before, reopened.state());
        }
    }

    @Test
    void storedRevisionAndFlagFormats() {
        enableWithRoot();
        backend.commit();
        assertArrayEquals(new byte[] {1}, backend.get(Bucket.AUTH, AuthStore.ENABLED_KEY));
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 3}, backend.get(Bucket.AUTH, AuthStore.REVISION_KEY));
        Backend be = backend;
        be.put(Bucket.AUTH, AuthStore.REVISION_KEY, new byte[] {1, 2});
        assertThrows(IllegalStateException.class, () -> store.recover());
        assertEquals(3, store.revision(), "a failed recover publishes nothing");
    }
}
