package io.quorumlab.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuthRequestCodecTest {
    private static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    @Test
    void everyRequestRoundTrips() {
        List<AuthRequest> all = List.of(new AuthRequest.AuthEnable(), new AuthRequest.AuthDisable(),
                new AuthRequest.Authenticate("u", "AbcdefghijklmnoP"), new AuthRequest.UserAdd("u", "$2a$04$hash", false),
                new AuthRequest.UserAdd("np", "", true), new AuthRequest.UserGet("u"), new AuthRequest.UserList(),
                new AuthRequest.UserDelete("u"), new AuthRequest.UserChangePassword("u", "$2a$04$other"),
                new AuthRequest.UserGrantRole("u", "r"), new AuthRequest.UserRevokeRole("u", "r"), new AuthRequest.RoleAdd("r"),
                new AuthRequest.RoleGet("r"), new AuthRequest.RoleList(), new AuthRequest.RoleDelete("r"),
                new AuthRequest.RoleGrantPermission("r", new Perm(Perm.READWRITE, b("a"), new byte[] {0})),
                new AuthRequest.RoleGrantPermission("r", new Perm(9, b("k"), b(""))),
                new AuthRequest.RoleRevokePermission("r", b("a"), b("b")), new AuthRequest.UserAdd("ü\uD83D\uDE00", "h", false));
        for (AuthRequest r : all) assertEquals(r, AuthRequestCodec.decode(AuthRequestCodec.encode(r)), r.toString());
    }

    @Test
    void userAddUsesEtcdsInternalLayoutWithoutPlaintext() throws Exception {
        byte[] e = AuthRequestCodec.encode(new AuthRequest.UserAdd("u", "$2a$04$hash", true));
        AuthUserAddRequest p = AuthUserAddRequest.parseFrom(Arrays.copyOfRange(e, 1, e.length));
        assertEquals("u", p.getName());
        assertEquals("", p.getPassword());
        assertEquals(List.of(ByteString.copyFrom(new byte[] {8, 1})), p.getUnknownFields().getField(3).getLengthDelimitedList());
        assertEquals(List.of(ByteString.copyFromUtf8("$2a$04$hash")), p.getUnknownFields().getField(4).getLengthDelimitedList());
    }

    @Test
    void malformedBytesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(new byte[] {0}));
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(new byte[] {17}));
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(new byte[] {1, 0x0a}));
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(new byte[] {4, (byte) 0xff, (byte) 0xff}));
        // a user add without options, or with a plaintext password, was not made by the codec
        byte[] plain = AuthUserAddRequest.newBuilder().setName("u").setPassword("pw").build().toByteArray();
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(withOp(4, plain)));
        byte[] noPerm = AuthRoleGrantPermissionRequest.newBuilder().setName("r").build().toByteArray();
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(withOp(15, noPerm)));
        byte[] authenticateWithoutPrefix = io.etcd.jetcd.api.AuthenticateRequest.newBuilder().setName("u").build().toByteArray();
        assertThrows(IllegalArgumentException.class, () -> AuthRequestCodec.decode(withOp(3, authenticateWithoutPrefix)));
    }

    private static byte[] withOp(int op, byte[] body) {
        byte[] out = new byte[body.length + 1];
        out[0] = (byte) op;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }
}
