package io.quorumlab.mvcc.api;

/** A request failed in a way etcd reports to clients; {@link #getMessage()} is etcd's text. */
public final class MvccException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public MvccException(ErrorCode code) {
        // No stack trace: these are ordinary answers (compacted, future rev), raised on hot paths.
        super(code.message(), null, false, false);
        this.code = code;
    }

    public ErrorCode code() { return code; }
}
