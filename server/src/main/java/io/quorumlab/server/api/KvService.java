package io.quorumlab.server.api;

import io.etcd.jetcd.api.KVGrpc;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.CompactionResponse;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.DeleteRangeResponse;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.PutResponse;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;

/**
 * etcd's KV service. Serializable reads are served from the local store; linearizable reads wait
 * for the member's read barrier (ReadIndex) first; writes go through Raft. A transaction with no
 * put or delete in either branch is a read (as etcd's isTxnReadonly) and never enters the log.
 */
final class KvService extends KVGrpc.KVImplBase {
    private final ApiContext api;

    KvService(ApiContext api) { this.api = api; }

    @Override
    public void range(io.etcd.jetcd.api.RangeRequest req, StreamObserver<io.etcd.jetcd.api.RangeResponse> obs) {
        RangeRequest r;
        try {
            r = ProtoMapper.range(req);
            api.validate(r);
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        if (r.serializable()) {
            ApiContext.answer(obs, () -> ProtoMapper.range(api.store().range(r), api.headers()));
        } else {
            api.reply(obs, () -> api.member.readBarrier(), v -> ProtoMapper.range(api.store().range(r), api.headers()));
        }
    }

    @Override
    public void put(io.etcd.jetcd.api.PutRequest req, StreamObserver<io.etcd.jetcd.api.PutResponse> obs) {
        PutRequest p;
        try {
            p = ProtoMapper.put(req);
            api.validate(p);
            api.checkSize(req);
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        api.replyInline(obs, () -> api.member.propose(p), resp -> ProtoMapper.put((PutResponse) resp, api.headers()));
    }

    @Override
    public void deleteRange(io.etcd.jetcd.api.DeleteRangeRequest req, StreamObserver<io.etcd.jetcd.api.DeleteRangeResponse> obs) {
        DeleteRangeRequest d;
        try {
            d = ProtoMapper.delete(req);
            api.validate(d);
            api.checkSize(req);
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        api.replyInline(obs, () -> api.member.propose(d), resp -> ProtoMapper.delete((DeleteRangeResponse) resp, api.headers()));
    }

    @Override
    public void txn(io.etcd.jetcd.api.TxnRequest req, StreamObserver<io.etcd.jetcd.api.TxnResponse> obs) {
        TxnRequest t;
        try {
            t = ProtoMapper.txn(req);
            api.validate(t);
        } catch (Throwable e) {
            ApiContext.rethrowFatal(e); // a hostile nesting depth can overflow the stack: an answer, not a crash
            ApiContext.fail(obs, e);
            return;
        }
        if (ReadOnlyTxn.isReadOnly(t)) {
            if (ReadOnlyTxn.isSerializable(t)) {
                // Txn handlers run on the transport thread (ClientServer.INLINE_METHODS): reads go to the executor.
                api.executor.execute(() -> ApiContext.answer(obs, () -> ProtoMapper.txn(ReadOnlyTxn.run(api.store(), t), api.headers())));
            } else {
                api.reply(obs, () -> api.member.readBarrier(), v -> ProtoMapper.txn(ReadOnlyTxn.run(api.store(), t), api.headers()));
            }
            return;
        }
        try {
            api.checkSize(req);
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        api.replyInline(obs, () -> api.member.propose(t), resp -> ProtoMapper.txn((TxnResponse) resp, api.headers()));
    }

    @Override
    public void compact(io.etcd.jetcd.api.CompactionRequest req, StreamObserver<io.etcd.jetcd.api.CompactionResponse> obs) {
        CompactionRequest c = ProtoMapper.compaction(req);
        api.replyInline(obs, () -> api.member.propose(c), resp -> io.etcd.jetcd.api.CompactionResponse.newBuilder()
                .setHeader(api.headers().at(((CompactionResponse) resp).header().revision())).build());
    }
}
