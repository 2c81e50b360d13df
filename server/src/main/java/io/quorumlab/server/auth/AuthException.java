package io.quorumlab.server.auth;

/**
 * An auth failure a client sees as an etcd error; an answer, not a bug, so no stack trace.
 * {@link #getMessage()} and {@link #grpcCode()} are what the client receives.
 */
public final class AuthException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient AuthError error;
    private final boolean raw;

    AuthException(AuthError error, boolean raw) {
        super(raw ? error.rawMessage() : error.message(), null, false, false);
        this.error = error;
        this.raw = raw;
    }

    public AuthError error() { return error; }

    /** True for the unmapped form (Maintenance admin check): code UNKNOWN, {@code auth:} text. */
    public boolean raw() { return raw; }

    /** Name of the {@code io.grpc.Status.Code} constant to send. */
    public String grpcCode() { return raw ? "UNKNOWN" : error.grpcCode(); }

    /** The same error in its other form (mapped or raw). */
    public AuthException asRaw() { return raw ? this : error.rawException(); }
}
