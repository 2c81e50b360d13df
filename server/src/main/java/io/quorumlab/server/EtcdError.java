package io.quorumlab.server;

/** Errors the member itself raises, with etcd's gRPC status code and exact message (COMPAT.md). */
public enum EtcdError {
    NO_LEADER(Code.UNAVAILABLE, "etcdserver: no leader"),
    NOT_LEADER(Code.FAILED_PRECONDITION, "etcdserver: not leader"),
    LEADER_CHANGED(Code.UNAVAILABLE, "etcdserver: leader changed"),
    TIMEOUT(Code.UNAVAILABLE, "etcdserver: request timed out"),
    TOO_MANY_REQUESTS(Code.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
    REQUEST_TOO_LARGE(Code.INVALID_ARGUMENT, "etcdserver: request is too large"),
    STOPPED(Code.UNAVAILABLE, "etcdserver: server stopped"),
    MEMBER_NOT_FOUND(Code.NOT_FOUND, "etcdserver: member not found"),
    PEER_URL_EXISTS(Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
    UNHEALTHY_CLUSTER(Code.UNAVAILABLE, "etcdserver: unhealthy cluster"),
    CORRUPT(Code.DATA_LOSS, "etcdserver: corrupt cluster"),
    NOT_ENOUGH_STARTED_MEMBERS(Code.FAILED_PRECONDITION, "etcdserver: re-configuration failed due to not enough started members"),
    MEMBER_NOT_LEARNER(Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
    LEARNER_NOT_READY(Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member which is in sync with leader"),
    LEADER_TRANSFER_TIMEOUT(Code.UNAVAILABLE, "etcdserver: request timed out, leader transfer took too long"),
    BAD_LEADER_TRANSFEREE(Code.FAILED_PRECONDITION, "etcdserver: bad leader transferee");

    /** gRPC status codes by name, so that this module's core does not depend on gRPC. */
    public enum Code { INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, OUT_OF_RANGE, RESOURCE_EXHAUSTED,
        UNAVAILABLE, PERMISSION_DENIED, UNAUTHENTICATED, DATA_LOSS, INTERNAL }

    private final Code code;
    private final String message;

    EtcdError(Code code, String message) {
        this.code = code;
        this.message = message;
    }

    public Code code() {
        return code;
    }

    public String message() {
        return message;
    }

    public EtcdException exception() {
        return new EtcdException(this);
    }
}
