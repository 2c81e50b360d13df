package io.quorumlab.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleDeleteRequest;
import io.etcd.jetcd.api.AuthRoleGetRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserChangePasswordRequest;
import io.etcd.jetcd.api.AuthUserDeleteRequest;
import io.etcd.jetcd.api.AuthUserGetRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.AuthenticateRequest;
import java.util.Arrays;
import java.util.List;

/**
 * Bytes of an {@link AuthRequest} in a Raft entry: {@code [u8 op][protobuf]}, the protobuf being etcd's
 * own request message in etcd 3.5's internal layout (fields jetcd-grpc 0.8.3 lacks travel as unknown
 * fields): UserAdd {@code {name=1, options=3 {no_password=1}, hashedPassword=4}}, UserChangePassword
 * {@code {name=1, hashedPassword=3}}, Authenticate as InternalAuthenticateRequest {@code {name=1,
 * simple_token=3}}. Op numbers are part of the log format: never renumber.
 */
public final class AuthRequestCodec {
    static final int AUTH_ENABLE = 1, AUTH_DISABLE = 2, AUTHENTICATE = 3, USER_ADD = 4, USER_GET = 5, USER_LIST = 6,
            USER_DELETE = 7, USER_CHANGE_PASSWORD = 8, USER_GRANT_ROLE = 9, USER_REVOKE_ROLE = 10, ROLE_ADD = 11,
            ROLE_GET = 12, ROLE_LIST = 13, ROLE_DELETE = 14, ROLE_GRANT_PERMISSION = 15, ROLE_REVOKE_PERMISSION = 16;

    private static final int USER_ADD_OPTIONS_FIELD = 3, USER_ADD_HASH_FIELD = 4, CHANGE_PASSWORD_HASH_FIELD = 3,
            SIMPLE_TOKEN_FIELD = 3;
    private static final byte[] NO_PASSWORD_OPTIONS = {0x08, 0x01}; // UserAddOptions{no_password: true}

    private AuthRequestCodec() {}

    public static byte[] encode(AuthRequest r) {
        if (r instanceof AuthRequest.AuthEnable) return frame(AUTH_ENABLE, ByteString.EMPTY);
        if (r instanceof AuthRequest.AuthDisable) return frame(AUTH_DISABLE, ByteString.EMPTY);
        if (r instanceof AuthRequest.UserList) return frame(USER_LIST, ByteString.EMPTY);
        if (r instanceof AuthRequest.RoleList) return frame(ROLE_LIST, ByteString.EMPTY);
        if (r instanceof AuthRequest.Authenticate a) {
            return frame(AUTHENTICATE, AuthenticateRequest.newBuilder().setName(a.name())
                    .setUnknownFields(unknown(SIMPLE_TOKEN_FIELD, ByteString.copyFromUtf8(a.tokenPrefix()))).build().toByteString());
        }
        if (r instanceof AuthRequest.UserAdd u) {
            UnknownFieldSet extra = UnknownFieldSet.newBuilder()
                    .addField(USER_ADD_OPTIONS_FIELD, lengthDelimited(u.noPassword() ? ByteString.copyFrom(NO_PASSWORD_OPTIONS) : ByteString.EMPTY))
                    .addField(USER_ADD_HASH_FIELD, lengthDelimited(ByteString.copyFromUtf8(u.passwordHash()))).build();
            return frame(USER_ADD, AuthUserAddRequest.newBuilder().setName(u.name()).setUnknownFields(extra).build().toByteString());
        }
        if (r instanceof AuthRequest.UserGet g) return frame(USER_GET, AuthUserGetRequest.newBuilder().setName(g.name()).build().toByteString());
        if (r instanceof AuthRequest.UserDelete d) {
            return frame(USER_DELETE, AuthUserDeleteRequest.newBuilder().setName(d.name()).build().toByteString());
        }
        if (r instanceof AuthRequest.UserChangePassword c) {
            return frame(USER_CHANGE_PASSWORD, AuthUserChangePasswordRequest.newBuilder().setName(c.name())
                    .setUnknownFields(unknown(CHANGE_PASSWORD_HASH_FIELD, ByteString.copyFromUtf8(c.passwordHash()))).build().toByteString());
        }
        if (r instanceof AuthRequest.UserGrantRole g) {
            return frame(USER_GRANT_ROLE, AuthUserGrantRoleRequest.newBuilder().setUser(g.user()).setRole(g.role()).build().toByteString());
        }
        if (r instanceof AuthRequest.UserRevokeRole v) {
            return frame(USER_REVOKE_ROLE, AuthUserRevokeRoleRequest.newBuilder().setName(v.name()).setRole(v.role()).build().toByteString());
        }
        if (r instanceof AuthRequest.RoleAdd a) return frame(ROLE_ADD, AuthRoleAddRequest.newBuilder().setName(a.name()).build().toByteString());
        if (r instanceof AuthRequest.RoleGet g) return frame(ROLE_GET, AuthRoleGetRequest.newBuilder().setRole(g.role()).build().toByteString());
        if (r instanceof AuthRequest.RoleDelete d) {
            return frame(ROLE_DELETE, AuthRoleDeleteRequest.newBuilder().setRole(d.role()).build().toByteString());
        }
        if (r instanceof AuthRequest.RoleGrantPermission g) {
            return frame(ROLE_GRANT_PERMISSION, AuthRoleGrantPermissionRequest.newBuilder().setName(g.name())
                    .setPerm(g.perm().toProto()).build().toByteString());
        }
        if (r instanceof AuthRequest.RoleRevokePermission v) {
            return frame(ROLE_REVOKE_PERMISSION, AuthRoleRevokePermissionRequest.newBuilder().setRole(v.role())
                    .setKey(ByteString.copyFrom(v.key())).setRangeEnd(ByteString.copyFrom(v.rangeEnd())).build().toByteString());
        }
        throw new IllegalArgumentException("unknown auth request " + r);
    }

    /** @throws IllegalArgumentException for bytes {@link #encode} did not make */
    public static AuthRequest decode(byte[] b) {
        if (b.length == 0) throw new IllegalArgumentException("empty auth request");
        int op = b[0] & 0xff;
        byte[] body = Arrays.copyOfRange(b, 1, b.length);
        try {
            switch (op) {
                case AUTH_ENABLE: return empty(body, new AuthRequest.AuthEnable());
                case AUTH_DISABLE: return empty(body, new AuthRequest.AuthDisable());
                case USER_LIST: return empty(body, new AuthRequest.UserList());
                case ROLE_LIST: return empty(body, new AuthRequest.RoleList());
                case AUTHENTICATE: {
                    AuthenticateRequest a = AuthenticateRequest.parseFrom(body);
                    return new AuthRequest.Authenticate(a.getName(), onlyString(a.getUnknownFields(), SIMPLE_TOKEN_FIELD));
                }
                case USER_ADD: {
                    AuthUserAddRequest u = AuthUserAddRequest.parseFrom(body);
                    List<ByteString> opts = u.getUnknownFields().getField(USER_ADD_OPTIONS_FIELD).getLengthDelimitedList();
                    if (opts.size() != 1) throw new IllegalArgumentException("user add without options");
                    boolean noPassword;
                    if (opts.get(0).isEmpty()) noPassword = false;
                    else if (opts.get(0).equals(ByteString.copyFrom(NO_PASSWORD_OPTIONS))) noPassword = true;
                    else throw new IllegalArgumentException("bad user add options");
                    if (!u.getPassword().isEmpty()) throw new IllegalArgumentException("plaintext password in a user add entry");
                    return new AuthRequest.UserAdd(u.getName(), onlyString(u.getUnknownFields(), USER_ADD_HASH_FIELD), noPassword);
                }
                case USER_GET: return new AuthRequest.UserGet(AuthUserGetRequest.parseFrom(body).getName());
                case USER_DELETE: return new AuthRequest.UserDelete(AuthUserDeleteRequest.parseFrom(body).getName());
                case USER_CHANGE_PASSWORD: {
                    AuthUserChangePasswordRequest c = AuthUserChangePasswordRequest.parseFrom(body);
                    if (!c.getPassword().isEmpty()) throw new IllegalArgumentException("plaintext password in a change password entry");
                    return new AuthRequest.UserChangePassword(c.getName(), onlyString(c.getUnknownFields(), CHANGE_PASSWORD_HASH_FIELD));
                }
                case USER_GRANT_ROLE: {
                    AuthUserGrantRoleRequest g = AuthUserGrantRoleRequest.parseFrom(body);
                    return new AuthRequest.UserGrantRole(g.getUser(), g.getRole());
                }
                case USER_REVOKE_ROLE: {
                    AuthUserRevokeRoleRequest v = AuthUserRevokeRoleRequest.parseFrom(body);
                    return new AuthRequest.UserRevokeRole(v.getName(), v.getRole());
                }
                case ROLE_ADD: return new AuthRequest.RoleAdd(AuthRoleAddRequest.parseFrom(body).getName());
                case ROLE_GET: return new AuthRequest.RoleGet(AuthRoleGetRequest.parseFrom(body).getRole());
                case ROLE_DELETE: return new AuthRequest.RoleDelete(AuthRoleDeleteRequest.parseFrom(body).getRole());
                case ROLE_GRANT_PERMISSION: {
                    AuthRoleGrantPermissionRequest g = AuthRoleGrantPermissionRequest.parseFrom(body);
                    if (!g.hasPerm()) throw new IllegalArgumentException("grant permission entry without perm");
                    return new AuthRequest.RoleGrantPermission(g.getName(), Perm.fromProto(g.getPerm()));
                }
                case ROLE_REVOKE_PERMISSION: {
                    AuthRoleRevokePermissionRequest v = AuthRoleRevokePermissionRequest.parseFrom(body);
                    return new AuthRequest.RoleRevokePermission(v.getRole(), v.getKey().toByteArray(), v.getRangeEnd().toByteArray());
                }
                default: throw new IllegalArgumentException("unknown auth op " + op);
            }
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("undecodable auth request (op " + op + "): " + e.getMessage(), e);
        }
    }

    private static AuthRequest empty(byte[] body, AuthRequest r) {
        if (body.length != 0) throw new IllegalArgumentException("unexpected body for " + r);
        return r;
    }

    private static String onlyString(UnknownFieldSet fields, int number) {
        List<ByteString> l = fields.getField(number).getLengthDelimitedList();
        if (l.size() != 1) throw new IllegalArgumentException("field " + number + " present " + l.size() + " times");
        return l.get(0).toStringUtf8();
    }

    private static UnknownFieldSet.Field lengthDelimited(ByteString b) {
        return UnknownFieldSet.Field.newBuilder().addLengthDelimited(b).build();
    }

    private static UnknownFieldSet unknown(int number, ByteString b) {
        return UnknownFieldSet.newBuilder().addField(number, lengthDelimited(b)).build();
    }

    private static byte[] frame(int op, ByteString body) {
        byte[] out = new byte[1 + body.size()];
        out[0] = (byte) op;
        body.copyTo(out, 1);
        return out;
    }
}
