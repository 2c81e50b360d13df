package io.quorumlab.mvcc.api;

/**
 * Every error the key space can report, with etcd's exact client-visible message and the gRPC
 * status code name (spelled as {@code io.grpc.Status.Code} constants, so the server maps with
 * {@code Status.Code.valueOf(code.grpcCode())} without this module depending on gRPC).
 */
public enum ErrorCode {
    EMPTY_KEY("INVALID_ARGUMENT", "etcdserver: key is not provided"),
    KEY_NOT_FOUND("INVALID_ARGUMENT", "etcdserver: key not found"),
    VALUE_PROVIDED("INVALID_ARGUMENT", "etcdserver: value is provided"),
    LEASE_PROVIDED("INVALID_ARGUMENT", "etcdserver: lease is provided"),
    TOO_MANY_OPS("INVALID_ARGUMENT", "etcdserver: too many operations in txn request"),
    DUPLICATE_KEY("INVALID_ARGUMENT", "etcdserver: duplicate key given in txn request"),
    COMPACTED("OUT_OF_RANGE", "etcdserver: mvcc: required revision has been compacted"),
    FUTURE_REV("OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision"),
    NO_SPACE("RESOURCE_EXHAUSTED", "etcdserver: mvcc: database space exceeded"),
    LEASE_NOT_FOUND("NOT_FOUND", "etcdserver: requested lease not found"),
    LEASE_EXISTS("FAILED_PRECONDITION", "etcdserver: lease already exists"),
    LEASE_TTL_TOO_LARGE("OUT_OF_RANGE", "etcdserver: too large lease TTL"),
    CORRUPT("DATA_LOSS", "etcdserver: corrupt cluster");

    private final String grpcCode;
    private final String message;

    ErrorCode(String grpcCode, String message) {
        this.grpcCode = grpcCode;
        this.message = message;
    }

    /** Name of the {@code io.grpc.Status.Code} constant clients receive. */
    public String grpcCode() { return grpcCode; }

    /** etcd's message, byte for byte: clients match on it. */
    public String message() { return message; }

    public MvccException exception() { return new MvccException(this); }
}
