package io.quorumlab.server.auth;

import io.quorumlab.mvcc.api.Bytes;
import java.util.Arrays;
import java.util.Objects;

/**
 * The auth operations that go through Raft (etcd 3.4 proposes all sixteen Auth RPCs, reads included,
 * and applies them on every member). No plaintext password is ever in one: UserAdd and
 * UserChangePassword carry the bcrypt hash made by the API layer (as etcd 3.5 does), Authenticate
 * carries the token prefix the proposer drew, after the API layer checked the password.
 */
public sealed interface AuthRequest {
    /** etcd's needAdminPermission: these need the root role (once auth is enabled) before they run. */
    default boolean needsAdmin() { return true; }

    record AuthEnable() implements AuthRequest {}

    record AuthDisable() implements AuthRequest {}

    /** The token will be {@code tokenPrefix + "." + raftIndex}. */
    record Authenticate(String name, String tokenPrefix) implements AuthRequest {
        public Authenticate {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(tokenPrefix, "tokenPrefix");
        }

        @Override public boolean needsAdmin() { return false; }
    }

    /** {@code passwordHash} is empty for a no-password user (etcd stores none). */
    record UserAdd(String name, String passwordHash, boolean noPassword) implements AuthRequest {
        public UserAdd {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(passwordHash, "passwordHash");
        }

        @Override public String toString() { return "UserAdd[" + name + (noPassword ? ", noPassword" : "") + "]"; }
    }

    /** Allowed to the user itself too (checked by the store). */
    record UserGet(String name) implements AuthRequest {
        public UserGet { Objects.requireNonNull(name, "name"); }

        @Override public boolean needsAdmin() { return false; }
    }

    record UserList() implements AuthRequest {}

    record UserDelete(String name) implements AuthRequest {
        public UserDelete { Objects.requireNonNull(name, "name"); }
    }

    record UserChangePassword(String name, String passwordHash) implements AuthRequest {
        public UserChangePassword {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(passwordHash, "passwordHash");
        }

        @Override public String toString() { return "UserChangePassword[" + name + "]"; }
    }

    record UserGrantRole(String user, String role) implements AuthRequest {
        public UserGrantRole {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(role, "role");
        }
    }

    record UserRevokeRole(String name, String role) implements AuthRequest {
        public UserRevokeRole {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(role, "role");
        }
    }

    record RoleAdd(String name) implements AuthRequest {
        public RoleAdd { Objects.requireNonNull(name, "name"); }
    }

    /** Allowed to holders of the role too (checked by the store). */
    record RoleGet(String role) implements AuthRequest {
        public RoleGet { Objects.requireNonNull(role, "role"); }

        @Override public boolean needsAdmin() { return false; }
    }

    record RoleList() implements AuthRequest {}

    record RoleDelete(String role) implements AuthRequest {
        public RoleDelete { Objects.requireNonNull(role, "role"); }
    }

    /**
     * A request without {@code perm} is refused here, before proposing (DEVIATION: etcd 3.4.23
     * dereferences nil and dies; 3.4.29 answers {@code permission not given}).
     */
    record RoleGrantPermission(String name, Perm perm) implements AuthRequest {
        public RoleGrantPermission {
            Objects.requireNonNull(name, "name");
            if (perm == null) throw AuthError.PERMISSION_NOT_GIVEN.exception();
        }
    }

    record RoleRevokePermission(String role, byte[] key, byte[] rangeEnd) implements AuthRequest {
        public RoleRevokePermission {
            Objects.requireNonNull(role, "role");
            key = Bytes.orEmpty(key);
            rangeEnd = Bytes.orEmpty(rangeEnd);
        }

        @Override public boolean equals(Object o) {
            return o instanceof RoleRevokePermission r && r.role.equals(role) && Arrays.equals(r.key, key) && Arrays.equals(r.rangeEnd, rangeEnd);
        }

        @Override public int hashCode() { return Objects.hash(role, Arrays.hashCode(key), Arrays.hashCode(rangeEnd)); }

        @Override public String toString() { return "RoleRevokePermission[" + role + ", " + Bytes.show(key) + ", " + Bytes.show(rangeEnd) + "]"; }
    }
}
