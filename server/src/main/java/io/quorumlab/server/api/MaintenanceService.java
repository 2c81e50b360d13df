package io.quorumlab.server.api;

import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quorumlab.mvcc.api.AlarmResponse;
import io.quorumlab.mvcc.api.HashKVResponse;
import io.quorumlab.server.member.MemberApi;

/**
 * etcd's Maintenance service: Status, Hash, HashKV, Alarm, Defragment and MoveLeader (both through
 * MemberApi, which runs them where they must run). Snapshot answers UNIMPLEMENTED for now.
 */
final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
    /** StatusResponse fields etcd 3.4 has and jetcd-grpc's proto lacks. */
    static final int STATUS_RAFT_APPLIED_INDEX = 7, STATUS_ERRORS = 8, STATUS_DB_SIZE_IN_USE = 9, STATUS_IS_LEARNER = 10;
    static final int HASHKV_HASH_REVISION = 4;

    private final ApiContext api;

    MaintenanceService(ApiContext api) { this.api = api; }

    @Override
    public void status(io.etcd.jetcd.api.StatusRequest req, StreamObserver<io.etcd.jetcd.api.StatusResponse> obs) {
        ApiContext.answer(obs, () -> {
            MemberApi.MemberStatus st = api.member.status();
            UnknownFieldSet.Builder extra = UnknownFieldSet.newBuilder()
                    .addField(STATUS_RAFT_APPLIED_INDEX, ProtoMapper.varint(st.raftAppliedIndex()))
                    .addField(STATUS_DB_SIZE_IN_USE, ProtoMapper.varint(st.dbSizeInUseBytes()));
            if (st.isLearner()) extra.addField(STATUS_IS_LEARNER, ProtoMapper.varint(1));
            if (api.store().noSpaceAlarmed()) {
                // etcd lists active alarms as text in Status.errors.
                extra.addField(STATUS_ERRORS, UnknownFieldSet.Field.newBuilder()
                        .addLengthDelimited(com.google.protobuf.ByteString.copyFromUtf8(
                                "memberID:" + api.member.memberId() + " alarm:NOSPACE ")).build());
            }
            ProtoMapper.Headers h = new ProtoMapper.Headers(api.member.clusterId(), api.member.memberId(), st.raftTerm());
            return io.etcd.jetcd.api.StatusResponse.newBuilder()
                    .setHeader(h.at(api.store().currentRevision()))
                    .setVersion(EtcdVersion.orDefault(st.version()))
                    .setDbSize(st.dbSizeBytes())
                    .setLeader(st.leaderId())
                    .setRaftIndex(st.raftIndex())
                    .setRaftTerm(st.raftTerm())
                    .setUnknownFields(extra.build())
                    .build();
        });
    }

    /** etcd hashes the whole backend file; ours is the key space's CRC32C, equal across members. */
    @Override
    public void hash(io.etcd.jetcd.api.HashRequest req, StreamObserver<io.etcd.jetcd.api.HashResponse> obs) {
        ApiContext.answer(obs, () -> {
            HashKVResponse r = api.store().hashKV(0);
            return io.etcd.jetcd.api.HashResponse.newBuilder().setHeader(api.headers().at(r.header().revision()))
                    .setHash((int) r.hash()).build();
        });
    }

    @Override
    public void hashKV(io.etcd.jetcd.api.HashKVRequest req, StreamObserver<io.etcd.jetcd.api.HashKVResponse> obs) {
        ApiContext.answer(obs, () -> {
            HashKVResponse r = api.store().hashKV(req.getRevision());
            return io.etcd.jetcd.api.HashKVResponse.newBuilder().setHeader(api.headers().at(r.header().revision()))
                    .setHash((int) r.hash()).setCompactRevision(r.compactRevision())
                    .setUnknownFields(UnknownFieldSet.newBuilder()
                            .addField(HASHKV_HASH_REVISION, ProtoMapper.varint(r.hashRevision())).build())
                    .build();
        });
    }

    @Override
    public void alarm(io.etcd.jetcd.api.AlarmRequest req, StreamObserver<io.etcd.jetcd.api.AlarmResponse> obs) {
        io.quorumlab.mvcc.api.AlarmRequest a;
        try {
            a = ProtoMapper.alarm(req);
        } catch (RuntimeException e) {
            ApiContext.fail(obs, e);
            return;
        }
        api.reply(obs, () -> api.member.propose(a), resp -> ProtoMapper.alarm((AlarmResponse) resp, api.headers()));
    }

    @Override
    public void defragment(io.etcd.jetcd.api.DefragmentRequest req, StreamObserver<io.etcd.jetcd.api.DefragmentResponse> obs) {
        api.reply(obs, () -> api.member.defragment(), v -> io.etcd.jetcd.api.DefragmentResponse.newBuilder()
                .setHeader(api.headers().at(api.store().currentRevision())).build());
    }

    @Override
    public void moveLeader(io.etcd.jetcd.api.MoveLeaderRequest req, StreamObserver<io.etcd.jetcd.api.MoveLeaderResponse> obs) {
        api.reply(obs, () -> api.member.moveLeader(req.getTargetID()), v -> io.etcd.jetcd.api.MoveLeaderResponse.newBuilder()
                .setHeader(api.headers().at(api.store().currentRevision())).build());
    }
}
