package io.quorumlab.server.auth;

/**
 * The auth store's errors, each with the two texts etcd 3.4 shows: the gRPC status (code name as an
 * {@code io.grpc.Status.Code} constant, {@code etcdserver:} message, from etcd's rpctypes/togRPCError)
 * for the KV/Lease/Cluster/Auth paths, and the store's own {@code auth:} text, which etcd's Maintenance
 * admin check returns unmapped (code UNKNOWN). The two texts differ for several errors
 * ({@code etcdserver: user name already exists} vs {@code auth: user already exists}).
 */
public enum AuthError {
    ROOT_USER_NOT_EXIST("FAILED_PRECONDITION", "etcdserver: root user does not exist", "auth: root user does not exist"),
    ROOT_ROLE_NOT_EXIST("FAILED_PRECONDITION", "etcdserver: root user does not have root role", "auth: root user does not have root role"),
    USER_ALREADY_EXIST("FAILED_PRECONDITION", "etcdserver: user name already exists", "auth: user already exists"),
    USER_EMPTY("INVALID_ARGUMENT", "etcdserver: user name is empty", "auth: user name is empty"),
    USER_NOT_FOUND("FAILED_PRECONDITION", "etcdserver: user name not found", "auth: user not found"),
    ROLE_ALREADY_EXIST("FAILED_PRECONDITION", "etcdserver: role name already exists", "auth: role already exists"),
    ROLE_NOT_FOUND("FAILED_PRECONDITION", "etcdserver: role name not found", "auth: role not found"),
    ROLE_EMPTY("INVALID_ARGUMENT", "etcdserver: role name is empty", "auth: role name is empty"),
    AUTH_FAILED("INVALID_ARGUMENT", "etcdserver: authentication failed, invalid user ID or password",
            "auth: authentication failed, invalid user ID or password"),
    PERMISSION_DENIED("PERMISSION_DENIED", "etcdserver: permission denied", "auth: permission denied"),
    ROLE_NOT_GRANTED("FAILED_PRECONDITION", "etcdserver: role is not granted to the user", "auth: role is not granted to the user"),
    PERMISSION_NOT_GRANTED("FAILED_PRECONDITION", "etcdserver: permission is not granted to the role",
            "auth: permission is not granted to the role"),
    AUTH_NOT_ENABLED("FAILED_PRECONDITION", "etcdserver: authentication is not enabled", "auth: authentication is not enabled"),
    INVALID_AUTH_TOKEN("UNAUTHENTICATED", "etcdserver: invalid auth token", "auth: invalid auth token"),
    INVALID_AUTH_MGMT("INVALID_ARGUMENT", "etcdserver: invalid auth management", "auth: invalid auth management"),
    AUTH_OLD_REVISION("INVALID_ARGUMENT", "etcdserver: revision of auth store is old", "auth: revision in header is old"),
    /** Not in etcd 3.4's gRPC error map: clients get UNKNOWN with the store's own text. */
    NO_PASSWORD_USER("UNKNOWN", "auth: authentication failed, password was given for no password user",
            "auth: authentication failed, password was given for no password user"),
    /**
     * DEVIATION: RoleGrantPermission without {@code perm} crashes etcd 3.4.23 (nil dereference);
     * we answer as 3.4.29/3.5 do.
     */
    PERMISSION_NOT_GIVEN("INVALID_ARGUMENT", "etcdserver: permission not given", "auth: permission not given");

    private final String grpcCode;
    private final String message;
    private final String rawMessage;

    AuthError(String grpcCode, String message, String rawMessage) {
        this.grpcCode = grpcCode;
        this.message = message;
        this.rawMessage = rawMessage;
    }

    /** Name of the {@code io.grpc.Status.Code} constant clients receive on the mapped paths. */
    public String grpcCode() { return grpcCode; }

    /** etcd's gRPC message, byte for byte: clientv3 matches errors by this text. */
    public String message() { return message; }

    /** The store's {@code auth:} text, sent with code UNKNOWN where etcd does not map the error. */
    public String rawMessage() { return rawMessage; }

    /** The error as the KV/Lease/Cluster/Auth services report it. */
    public AuthException exception() { return new AuthException(this, false); }

    /** The error as etcd's Maintenance admin check reports it: code UNKNOWN, {@link #rawMessage()}. */
    public AuthException rawException() { return new AuthException(this, true); }
}
