package io.quorumlab.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.MoveLeaderRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster operations over the public gRPC API against in-process members: MemberList, MemberAdd
 * (learner), a member joining with --initial-cluster-state existing, MemberPromote, MoveLeader,
 * MemberRemove, and the stacked-to-external migration (add three, remove three, writes throughout).
 */
class ClusterOpsTest {
    @TempDir
    Path dir;

    private final Map<String, EtcdServer> servers = new LinkedHashMap<>();
    private final Map<String, int[]> ports = new LinkedHashMap<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void stop() {
        for (ManagedChannel c : channels) c.shutdownNow();
        for (EtcdServer s : servers.values()) s.close();
    }

    private static int freePort() throws Exception {
        return io.quorumlab.server.TestPorts.free();
    }

    private String peerUrl(String name) {
        return "http://127.0.0.1:" + ports.get(name)[1];
    }

    private void reserve(String name) throws Exception {
        ports.put(name, new int[] {freePort(), freePort()});
    }

    private EtcdServer start(String name, String initialCluster, boolean existing) {
        int[] p = ports.get(name);
        String[] args = {"--name", name, "--data-dir", dir.resolve(name).toString(),
                "--listen-client-urls", "http://127.0.0.1:" + p[0], "--advertise-client-urls", "http://127.0.0.1:" + p[0],
                "--listen-peer-urls", peerUrl(name), "--initial-advertise-peer-urls", peerUrl(name),
                "--initial-cluster", initialCluster, "--initial-cluster-state", existing ? "existing" : "new",
                "--heartbeat-interval", "50", "--election-timeout", "500"};
        EtcdServer s = EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry());
        servers.put(name, s);
        return s;
    }

    private ManagedChannel channel(String name) {
        ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", ports.get(name)[0]).usePlaintext().build();
        channels.add(c);
        return c;
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(25);
        }
    }

    private String leader() {
        for (var e : servers.entrySet()) {
            var m = e.getValue().member();
            if (!m.isStopped() && m.leaderId() == m.memberId()) return e.getKey();
        }
        return null;
    }

    private List<Member> memberList(String via) {
        return ClusterGrpc.newBlockingStub(channel(via)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .memberList(MemberListRequest.getDefaultInstance()).getMembersList();
    }

    /** A put through any live member, retried while leadership moves (as clients do). */
    private long put(String key, String value) throws InterruptedException {
        StatusRuntimeException last = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            for (var e : servers.entrySet()) {
                if (e.getValue().member().isStopped()) continue;
                try {
                    return KVGrpc.newBlockingStub(channel(e.getKey())).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))
                                    .setValue(ByteString.copyFromUtf8(value)).build()).getHeader().getRevision();
                } catch (StatusRuntimeException ex) {
                    last = ex;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("put " + key + " never succeeded", last);
    }

    @Test
    void addLearnerJoinPromoteMoveLeaderRemove() throws Exception {
        for (String n : List.of("a", "b", "c", "d")) reserve(n);
        String ic = "a=" + peerUrl("a") + ",b=" + peerUrl("b") + ",c=" + peerUrl("c");
        for (String n : List.of("a", "b", "c")) start(n, ic, false);
        await("a leader", () -> leader() != null);
        put("before", "1");
        await("members publish their names and client URLs",
                () -> memberList("a").stream().allMatch(m -> !m.getName().isEmpty() && m.getClientURLsCount() == 1));
        assertEquals(3, memberList("b").size());

        // MemberAdd as learner, then start the new member joining the existing cluster.
        var added = ClusterGrpc.newBlockingStub(channel("a")).memberAdd(MemberAddRequest.newBuilder()
                .addPeerURLs(peerUrl("d")).setIsLearner(true).build());
        assertTrue(added.getMember().getIsLearner());
        assertEquals(4, added.getMembersCount());
        StatusRuntimeException dup = assertThrows(StatusRuntimeException.class, () -> ClusterGrpc.newBlockingStub(channel("a"))
                .memberAdd(MemberAddRequest.newBuilder().addPeerURLs(peerUrl("d")).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, dup.getStatus().getCode());
        assertEquals("etcdserver: Peer URLs already exists", dup.getStatus().getDescription());
        EtcdServer d = start("d", ic + ",d=" + peerUrl("d"), true);
        assertEquals(added.getMember().getID(), d.member().memberId(), "the joiner derives the id MemberAdd gave it");
        await("the learner catches up", () -> d.member().store().currentRevision() >= 2);

        // MemberPromote (hand-added method), then MoveLeader to the promoted member.
        var promoted = ClientCalls.blockingUnaryCall(channel("a"), ClusterService.MEMBER_PROMOTE,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                MemberRemoveRequest.newBuilder().setID(d.member().memberId()).build());
        assertTrue(promoted.getMembersList().stream().noneMatch(Member::getIsLearner));
        String lead = leader();
        MaintenanceGrpc.newBlockingStub(channel(lead)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .moveLeader(MoveLeaderRequest.newBuilder().setTargetID(d.member().memberId()).build());
        await("d leads", () -> "d".equals(leader()));
        put("after-move", "1");

        // MemberRemove of the old leader: it stops, the rest go on.
        long removedId = servers.get(lead).member().memberId();
        ClusterGrpc.newBlockingStub(channel("d")).withDeadlineAfter(10, TimeUnit.SECONDS)
                .memberRemove(MemberRemoveRequest.newBuilder().setID(removedId).build());
        await("the removed member stops", () -> servers.get(lead).member().isStopped());
        put("after-remove", "1");
        assertFalse(memberList("d").stream().anyMatch(m -> m.getID() == removedId));
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> ClusterGrpc.newBlockingStub(channel("d"))
                .memberRemove(MemberRemoveRequest.newBuilder().setID(removedId).build()));
        assertEquals("etcdserver: member not found", missing.getStatus().getDescription());
    }

    @Test
    void stackedToExternalMigrationKeepsAcceptingWrites() throws Exception {
        List<String> old = List.of("s1", "s2", "s3"), fresh = List.of("e1", "e2", "e3");
        for (String n : old) reserve(n);
        for (String n : fresh) reserve(n);
        StringBuilder ic = new StringBuilder();
        for (String n : old) ic.append(ic.length() == 0 ? "" : ",").append(n).append('=').append(peerUrl(n));
        for (String n : old) start(n, ic.toString(), false);
        await("a leader", () -> leader() != null);
        int writes = 0;
        put("k" + writes, "v");
        writes++;
        // Add the external members one at a time; each joins before the next is added.
        for (String n : fresh) {
            ClusterGrpc.newBlockingStub(channel(servers.keySet().iterator().next())).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .memberAdd(MemberAddRequest.newBuilder().addPeerURLs(peerUrl(n)).build());
            ic.append(',').append(n).append('=').append(peerUrl(n));
            EtcdServer s = start(n, ic.toString(), true);
            long target = put("k" + writes, "v");
            writes++;
            await(n + " catches up", () -> s.member().store().currentRevision() >= target);
        }
        // Remove the stacked members one at a time, writing after each removal.
        for (String n : old) {
            long id = servers.get(n).member().memberId();
            String via = fresh.get(0);
            ClusterGrpc.newBlockingStub(channel(via)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .memberRemove(MemberRemoveRequest.newBuilder().setID(id).build());
            await(n + " stops", () -> servers.get(n).member().isStopped());
            put("k" + writes, "v");
            writes++;
        }
        assertEquals(3, memberList("e1").size());
        for (String n : fresh) {
            long count = KVGrpc.newBlockingStub(channel(n)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))
                            .setRangeEnd(ByteString.copyFromUtf8("l")).setCountOnly(true).build()).getCount();
            assertEquals(writes, count, "every write is on " + n);
        }
    }
}
