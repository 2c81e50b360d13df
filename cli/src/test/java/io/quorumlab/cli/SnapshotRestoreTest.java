package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.SnapshotRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot over gRPC (what etcdctl snapshot save calls), then status and restore into a new cluster. */
class SnapshotRestoreTest {
    @TempDir
    Path dir;

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static EtcdServer start(String name, Path data, int client, int peer) {
        String[] args = {"--name", name, "--data-dir", data.toString(),
                "--listen-client-urls", "http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
                "--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-cluster", name + "=http://127.0.0.1:" + peer};
        return EtcdServer.start(ServerConfig.parse(args, Map.of()), new CollectorRegistry());
    }

    static void awaitLeader(EtcdServer s) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (s.member().leaderId() != s.member().memberId()) {
            if (System.nanoTime() > deadline) throw new AssertionError("no leader");
            Thread.sleep(20);
        }
    }

    @Test
    void saveStatusRestore() throws Exception {
        int c1 = freePort(), p1 = freePort();
        Path snap = dir.resolve("snap.db");
        long clusterBefore;
        try (EtcdServer s = start("s1", dir.resolve("s1"), c1, p1)) {
            awaitLeader(s);
            clusterBefore = s.member().clusterId();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", c1).usePlaintext().build();
            try {
                var kv = KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
                for (int i = 0; i < 100; i++) {
                    kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k" + i)).setValue(ByteString.copyFromUtf8("v" + i)).build());
                }
                try (OutputStream out = Files.newOutputStream(snap)) {
                    var it = MaintenanceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                            .snapshot(SnapshotRequest.getDefaultInstance());
                    while (it.hasNext()) it.next().getBlob().writeTo(out);
                }
            } finally {
                ch.shutdownNow();
            }
        }
        assertEquals(0, (Files.size(snap) - 32) % 512, "etcdctl's size check: (size - 32) % 512 == 0");

        assertEquals(0, Main.commandLine().execute("snapshot", "status", snap.toString(), "-w", "json"));
        Path bad = dir.resolve("bad.db");
        byte[] b = Files.readAllBytes(snap);
        b[20] ^= 1;
        Files.write(bad, b);
        assertEquals(1, Main.commandLine().execute("snapshot", "status", bad.toString()), "a corrupted snapshot is refused");

        int c2 = freePort(), p2 = freePort();
        Path restored = dir.resolve("r1");
        assertEquals(0, Main.commandLine().execute("snapshot", "restore", snap.toString(), "--name", "r1", "--data-dir",
                restored.toString(), "--initial-cluster", "r1=http://127.0.0.1:" + p2));
        try (EtcdServer r = start("r1", restored, c2, p2)) {
            awaitLeader(r);
            assertNotEquals(clusterBefore, r.member().clusterId(), "a restore builds a new cluster");
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", c2).usePlaintext().build();
            try {
                var kv = KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
                long count = kv.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))
                        .setRangeEnd(ByteString.copyFromUtf8("l")).setCountOnly(true).build()).getCount();
                assertEquals(100, count, "every key survives the restore");
                long rev = kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("new"))
                        .setValue(ByteString.copyFromUtf8("x")).build()).getHeader().getRevision();
                assertEquals(102, rev, "revisions continue from the snapshot");
                assertEquals(1, r.member().members().size(), "only the new cluster's member: " + r.member().members());
                assertEquals("r1", r.member().members().get(0).name());
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
