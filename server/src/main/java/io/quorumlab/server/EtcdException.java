package io.quorumlab.server;

/** A member-level failure a client sees as an etcd error; no stack trace, it is an answer. */
public final class EtcdException extends RuntimeException {
    private final EtcdError error;

    public EtcdException(EtcdError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public EtcdError error() {
        return error;
    }
}
