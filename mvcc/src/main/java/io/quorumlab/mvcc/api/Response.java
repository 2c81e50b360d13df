package io.quorumlab.mvcc.api;

/** The answer to one applied {@link Request}. */
public sealed interface Response permits RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse,
        CompactionResponse, LeaseGrantResponse, LeaseRevokeResponse, LeaseCheckpointResponse, AlarmResponse,
        AlreadyApplied {
    ResponseHeader header();
}
