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

    /**
     * Streams a consistent copy of the backend in 32 KiB chunks, honouring the client's flow control.
     * Layout: {@code [u64 body length][body][zeros to a multiple of 512][SHA-256 of all before]} — etcdctl
     * accepts a snapshot only when its size minus the 32-byte SHA-256 is a multiple of 512 (bbolt pages).
     */
    @Override
    public void snapshot(io.etcd.jetcd.api.SnapshotRequest req, StreamObserver<io.etcd.jetcd.api.SnapshotResponse> obs) {
        var call = (io.grpc.stub.ServerCallStreamObserver<io.etcd.jetcd.api.SnapshotResponse>) obs;
        api.member.openSnapshot().whenComplete((snap, err) -> {
            if (err != null) {
                ApiContext.fail(obs, err);
                return;
            }
            Thread t = new Thread(() -> streamSnapshot(snap, call), "snapshot-stream");
            t.setDaemon(true);
            t.start();
        });
    }

    private void streamSnapshot(io.quorumlab.mvcc.backend.Backend.Snapshot snap,
                                io.grpc.stub.ServerCallStreamObserver<io.etcd.jetcd.api.SnapshotResponse> call) {
        try (snap) {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            java.io.OutputStream chunker = new java.io.OutputStream() {
                private final byte[] buf = new byte[32 * 1024];
                private int n;

                @Override
                public void write(int b) throws java.io.IOException {
                    buf[n++] = (byte) b;
                    if (n == buf.length) flush();
                }

                @Override
                public void write(byte[] b, int off, int len) throws java.io.IOException {
                    while (len > 0) {
                        int k = Math.min(len, buf.length - n);
                        System.arraycopy(b, off, buf, n, k);
                        n += k;
                        off += k;
                        len -= k;
                        if (n == buf.length) flush();
                    }
                }

                @Override
                public void flush() throws java.io.IOException {
                    if (n == 0) return;
                    sha.update(buf, 0, n);
                    send(call, com.google.protobuf.ByteString.copyFrom(buf, 0, n), 1);
                    n = 0;
                }
            };
            // The body's length is not known before it is written: stage it in a temp file, then stream.
            java.nio.file.Path tmp = java.nio.file.Files.createTempFile("quorumlab-snapshot-", ".db");
            try {
                try (java.io.OutputStream f = new java.io.BufferedOutputStream(java.nio.file.Files.newOutputStream(tmp))) {
                    snap.writeTo(f);
                }
                long len = java.nio.file.Files.size(tmp);
                chunker.write(java.nio.ByteBuffer.allocate(8).putLong(len).array());
                try (java.io.InputStream in = java.nio.file.Files.newInputStream(tmp)) {
                    in.transferTo(chunker);
                }
                long pad = (512 - ((8 + len) % 512)) % 512;
                chunker.write(new byte[(int) pad]);
                chunker.flush();
            } finally {
                java.nio.file.Files.deleteIfExists(tmp);
            }
            send(call, com.google.protobuf.ByteString.copyFrom(sha.digest()), 0);
            call.onCompleted();
        } catch (Exception e) {
            ApiContext.fail(call, e);
        }
    }

    private void send(io.grpc.stub.ServerCallStreamObserver<io.etcd.jetcd.api.SnapshotResponse> call,
                      com.google.protobuf.ByteString blob, long remaining) throws java.io.IOException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!call.isReady()) {
            if (call.isCancelled()) throw new java.io.IOException("client went away");
            if (System.nanoTime() > deadline) throw new java.io.IOException("client stopped reading the snapshot");
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.IOException(e);
            }
        }
        call.onNext(io.etcd.jetcd.api.SnapshotResponse.newBuilder()
                .setHeader(api.headers().at(api.store().currentRevision()))
                .setRemainingBytes(remaining).setBlob(blob).build());
    }

    @Override
    public void moveLeader(io.etcd.jetcd.api.MoveLeaderRequest req, StreamObserver<io.etcd.jetcd.api.MoveLeaderResponse> obs) {
        api.reply(obs, () -> api.member.moveLeader(req.getTargetID()), v -> io.etcd.jetcd.api.MoveLeaderResponse.newBuilder()
                .setHeader(api.headers().at(api.store().currentRevision())).build());
    }
}
