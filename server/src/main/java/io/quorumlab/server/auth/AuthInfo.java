package io.quorumlab.server.auth;

import java.util.Objects;

/**
 * Who sent a request: the user a token resolved to and the auth store's revision when it was
 * resolved (etcd's AuthInfo). {@link #NONE} (empty user, revision 0) is a request without a token;
 * the permission checks answer it {@code user name is empty} while auth is enabled.
 */
public record AuthInfo(String user, long revision) {
    public static final AuthInfo NONE = new AuthInfo("", 0);

    public AuthInfo {
        Objects.requireNonNull(user, "user");
        if (revision < 0) throw new IllegalArgumentException("auth revision " + revision);
    }

    public boolean isNone() { return revision == 0 && user.isEmpty(); }
}
