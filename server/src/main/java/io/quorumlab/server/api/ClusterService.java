package io.quorumlab.server.api;

import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberAddResponse;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.MemberRemoveResponse;
import io.etcd.jetcd.api.MemberUpdateRequest;
import io.etcd.jetcd.api.MemberUpdateResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quorumlab.server.member.MemberInfo;
import java.util.List;

/**
 * etcd's Cluster service: MemberList, MemberAdd (voter or learner), MemberRemove, MemberUpdate and
 * MemberPromote. jetcd-grpc's proto predates MemberPromote, so it is added by hand: its request and
 * response have the wire shape of MemberRemove's ({@code ID = 1}; {@code header = 1, members = 2}).
 */
final class ClusterService extends ClusterGrpc.ClusterImplBase {
    static final String SERVICE = "etcdserverpb.Cluster";
    static final MethodDescriptor<MemberRemoveRequest, MemberRemoveResponse> MEMBER_PROMOTE =
            MethodDescriptor.<MemberRemoveRequest, MemberRemoveResponse>newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "MemberPromote"))
                    .setRequestMarshaller(ProtoUtils.marshaller(MemberRemoveRequest.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(MemberRemoveResponse.getDefaultInstance()))
                    .build();

    private final ApiContext api;

    ClusterService(ApiContext api) {
        this.api = api;
    }

    /** The generated service plus the hand-written MemberPromote. */
    ServerServiceDefinition definition() {
        ServerServiceDefinition generated = bindService();
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(SERVICE);
        generated.getMethods().forEach(b::addMethod);
        b.addMethod(MEMBER_PROMOTE, ServerCalls.asyncUnaryCall(this::memberPromote));
        return b.build();
    }

    static Member proto(MemberInfo m) {
        return Member.newBuilder().setID(m.id()).setName(m.name()).addAllPeerURLs(m.peerUrls())
                .addAllClientURLs(m.clientUrls()).setIsLearner(m.learner()).build();
    }

    private static List<Member> protos(List<MemberInfo> ms) {
        return ms.stream().map(ClusterService::proto).toList();
    }

    private io.etcd.jetcd.api.ResponseHeader header() {
        return api.headers().at(api.store().currentRevision());
    }

    @Override
    public void memberList(MemberListRequest req, StreamObserver<MemberListResponse> obs) {
        ApiContext.answer(obs, () -> MemberListResponse.newBuilder().setHeader(header())
                .addAllMembers(protos(api.member.members())).build());
    }

    @Override
    public void memberAdd(MemberAddRequest req, StreamObserver<MemberAddResponse> obs) {
        api.reply(obs, () -> api.member.addMember(req.getPeerURLsList(), req.getIsLearner()),
                ch -> MemberAddResponse.newBuilder().setHeader(header()).setMember(proto(ch.member()))
                        .addAllMembers(protos(ch.members())).build());
    }

    @Override
    public void memberRemove(MemberRemoveRequest req, StreamObserver<MemberRemoveResponse> obs) {
        api.reply(obs, () -> api.member.removeMember(req.getID()),
                ch -> MemberRemoveResponse.newBuilder().setHeader(header()).addAllMembers(protos(ch.members())).build());
    }

    @Override
    public void memberUpdate(MemberUpdateRequest req, StreamObserver<MemberUpdateResponse> obs) {
        api.reply(obs, () -> api.member.updateMember(req.getID(), req.getPeerURLsList()),
                ch -> MemberUpdateResponse.newBuilder().setHeader(header()).addAllMembers(protos(ch.members())).build());
    }

    private void memberPromote(MemberRemoveRequest req, StreamObserver<MemberRemoveResponse> obs) {
        api.reply(obs, () -> api.member.promoteMember(req.getID()),
                ch -> MemberRemoveResponse.newBuilder().setHeader(header()).addAllMembers(protos(ch.members())).build());
    }
}
