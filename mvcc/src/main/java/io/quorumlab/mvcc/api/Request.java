package io.quorumlab.mvcc.api;

/** Everything that goes through Raft and is applied to the store, one entry at a time. */
public sealed interface Request permits RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest,
        CompactionRequest, LeaseGrantRequest, LeaseRevokeRequest, LeaseCheckpointRequest, AlarmRequest {}
