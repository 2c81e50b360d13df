package io.quorumlab.server.api;

import com.google.protobuf.Message;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.quorumlab.server.api.ApiFixture.bs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same script of client calls against a real etcd 3.4 and against ClientServer over the fake
 * member; every answer (message or gRPC status) must match once member identity is blanked out
 * of the headers. Skipped where the etcd binary is not installed.
 */
class EtcdDifferentialTest {
    static final String ETCD = System.getProperty("quorumlab.etcd", "/usr/bin/etcd");
    static Process etcd;
    static Path etcdDir;
    static ManagedChannel etcdChannel;
    static ApiFixture fx;

    static int freePort() throws IOException {
        return io.quorumlab.server.TestPorts.free();
    }

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(new File(ETCD).canExecute(), "etcd not installed");
        etcdDir = Files.createTempDirectory("api-diff-etcd");
        int client = freePort(), peer = freePort();
        String c = "http://127.0.0.1:" + client, p = "http://127.0.0.1:" + peer;
        etcd = new ProcessBuilder(ETCD, "--name", "diff", "--data-dir", etcdDir.resolve("d").toString(), "--listen-client-urls", c,
                "--advertise-client-urls", c, "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                "--initial-cluster", "diff=" + p, "--heartbeat-interval", "10", "--election-timeout", "100",
                "--log-level", "error", "--logger", "zap", "--unsafe-no-fsync")
                .redirectErrorStream(true).redirectOutput(etcdDir.resolve("etcd.log").toFile()).start();
        etcdChannel = NettyChannelBuilder.forAddress("127.0.0.1", client).usePlaintext().build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                KVGrpc.newBlockingStub(etcdChannel).withDeadlineAfter(1, TimeUnit.SECONDS)
                        .range(RangeRequest.newBuilder().setKey(bs("probe")).build());
                break;
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("etcd did not start: " + Files.readString(etcdDir.resolve("etcd.log")), e);
                Thread.sleep(100);
            }
        }
        fx = new ApiFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) fx.close();
        if (etcdChannel != null) etcdChannel.shutdownNow();
        if (etcd != null) {
            etcd.destroy();
            etcd.waitFor(10, TimeUnit.SECONDS);
        }
        if (etcdDir != null) {
            try (Stream<Path> s = Files.walk(etcdDir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    record Stubs(KVGrpc.KVBlockingStub kv, LeaseGrpc.LeaseBlockingStub lease) {
        static Stubs of(ManagedChannel ch) {
            return new Stubs(KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS),
                    LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS));
        }
    }

    /** Blanks cluster id, member id and raft term in every header, at any depth. */
    static Message normalize(Message m) {
        Message.Builder b = m.toBuilder();
        for (var e : m.getAllFields().entrySet()) {
            var f = e.getKey();
            if (f.getJavaType() != com.google.protobuf.Descriptors.FieldDescriptor.JavaType.MESSAGE) continue;
            if (f.isRepeated()) {
                List<Object> out = new ArrayList<>();
                for (Object o : (List<?>) e.getValue()) out.add(normalize((Message) o));
                b.setField(f, out);
            } else if (e.getValue() instanceof ResponseHeader h) {
                b.setField(f, ResponseHeader.newBuilder().setRevision(h.getRevision()).build());
            } else {
                b.setField(f, normalize((Message) e.getValue()));
            }
        }
        return b.build();
    }

    static String outcome(Stubs s, Function<Stubs, Message> call) {
        try {
            return normalize(call.apply(s)).toString();
        } catch (StatusRuntimeException e) {
            return "ERROR " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
        }
    }

    static RequestOp put(String k, String v) { return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v))).build(); }

    static RequestOp get(String k, String end) {
        RangeRequest.Builder r = RangeRequest.newBuilder().setKey(bs(k));
        if (end != null) r.setRangeEnd(bs(end));
        return RequestOp.newBuilder().setRequestRange(r).build();
    }

    static RequestOp del(String k, String end) {
        DeleteRangeRequest.Builder r = DeleteRangeRequest.newBuilder().setKey(bs(k)).setPrevKv(true);
        if (end != null) r.setRangeEnd(bs(end));
        return RequestOp.newBuilder().setRequestDeleteRange(r).build();
    }

    static Compare cmp(String k, Compare.CompareTarget t, Compare.CompareResult r, long n) {
        Compare.Builder b = Compare.newBuilder().setKey(bs(k)).setTarget(t).setResult(r);
        switch (t) {
            case VERSION -> b.setVersion(n);
            case CREATE -> b.setCreateRevision(n);
            case MOD -> b.setModRevision(n);
            default -> b.setValue(bs(Long.toString(n)));
        }
        return b.build();
    }

    static List<Function<Stubs, Message>> script() {
        List<Function<Stubs, Message>> ops = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String k = "/d/k" + i, v = Integer.toString(i);
            ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs(k)).setValue(bs(v)).build()));
        }
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/k1")).setValue(bs("11")).setPrevKv(true).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/k1")).setIgnoreValue(true).setPrevKv(true).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/absent")).setIgnoreValue(true).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/k2")).setValue(bs("x")).setIgnoreValue(true).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setLimit(2).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setCountOnly(true).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setKeysOnly(true).setLimit(3).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/k3")).setRangeEnd(bs("\0")).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setRevision(4).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setRevision(1000).build()));
        for (RangeRequest.SortTarget t : new RangeRequest.SortTarget[] {RangeRequest.SortTarget.KEY, RangeRequest.SortTarget.MOD,
                RangeRequest.SortTarget.CREATE, RangeRequest.SortTarget.VERSION}) {
            ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0"))
                    .setSortOrder(RangeRequest.SortOrder.DESCEND).setSortTarget(t).setLimit(4).build()));
        }
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).setMinModRevision(4)
                .setMaxCreateRevision(6).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addCompare(cmp("/d/k0", Compare.CompareTarget.MOD, Compare.CompareResult.EQUAL, 2))
                .addSuccess(put("/d/k0", "t1")).addSuccess(get("/d/k0", null)).addFailure(get("/d/k0", null)).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addCompare(cmp("/d/k0", Compare.CompareTarget.MOD, Compare.CompareResult.EQUAL, 2))
                .addSuccess(put("/d/k0", "t2")).addFailure(get("/d/k0", null)).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addCompare(cmp("/d/new", Compare.CompareTarget.CREATE, Compare.CompareResult.EQUAL, 0))
                .addSuccess(put("/d/new", "n")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addCompare(cmp("/d/k4", Compare.CompareTarget.VALUE, Compare.CompareResult.GREATER, 3))
                .addCompare(cmp("/d/k4", Compare.CompareTarget.VERSION, Compare.CompareResult.LESS, 5))
                .addSuccess(del("/d/k4", null)).addSuccess(put("/d/k5", "five")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder()
                .addCompare(cmp("/d/", Compare.CompareTarget.VERSION, Compare.CompareResult.GREATER, 0).toBuilder().setRangeEnd(bs("/d0")))
                .addSuccess(get("/d/", "/d0")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder()
                .addSuccess(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder()
                        .addCompare(cmp("/d/k1", Compare.CompareTarget.VERSION, Compare.CompareResult.EQUAL, 3))
                        .addSuccess(put("/d/nested", "yes")).addFailure(put("/d/nested", "no"))))
                .addSuccess(get("/d/k2", null)).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(put("/d/dup", "1")).addSuccess(put("/d/dup", "2")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(del("/d/k", "/d/l")).addSuccess(put("/d/k2", "2")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(put("/d/k2", "2")).addFailure(put("/d/k2", "3")).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(get("/d/k1", null)).addSuccess(get("", null)).build()));
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(get("/d/k1", null)).build()));
        ops.add(s -> {
            TxnRequest.Builder many = TxnRequest.newBuilder();
            for (int i = 0; i < 129; i++) many.addSuccess(get("/d/many" + i, null));
            return s.kv().txn(many.build());
        });
        ops.add(s -> s.kv().txn(TxnRequest.newBuilder().addSuccess(RequestOp.getDefaultInstance()).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/big"))
                .setValue(com.google.protobuf.ByteString.copyFrom(new byte[ClientServer.Config.DEFAULT_MAX_REQUEST_BYTES])).build()));
        ops.add(s -> s.kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/d/k3")).setPrevKv(true).build()));
        ops.add(s -> s.kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/d/nothing")).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("")).build()));
        ops.add(s -> s.lease().leaseGrant(LeaseGrantRequest.newBuilder().setID(1001).setTTL(300).build()));
        ops.add(s -> s.lease().leaseGrant(LeaseGrantRequest.newBuilder().setID(1001).setTTL(300).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/leased")).setValue(bs("l")).setLease(1001).build()));
        ops.add(s -> s.kv().put(PutRequest.newBuilder().setKey(bs("/d/leased2")).setValue(bs("l")).setLease(999).build()));
        ops.add(s -> s.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(1001).setKeys(true).build()).toBuilder().clearTTL().build());
        ops.add(s -> s.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(4242).build()));
        ops.add(s -> s.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(1001).build()));
        ops.add(s -> s.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(1001).build()));
        ops.add(s -> s.kv().compact(CompactionRequest.newBuilder().setRevision(8).build()));
        ops.add(s -> s.kv().compact(CompactionRequest.newBuilder().setRevision(8).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/k1")).setRevision(7).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/k1")).setRevision(8).build()));
        ops.add(s -> s.kv().range(RangeRequest.newBuilder().setKey(bs("/d/")).setRangeEnd(bs("/d0")).build()));
        return ops;
    }

    @Test
    void sameScriptSameAnswers() {
        Stubs theirs = Stubs.of(etcdChannel), ours = Stubs.of(fx.channel);
        List<Function<Stubs, Message>> ops = script();
        for (int i = 0; i < ops.size(); i++) {
            String expected = outcome(theirs, ops.get(i)), actual = outcome(ours, ops.get(i));
            int step = i;
            assertEquals(expected, actual, () -> "step " + step + " differs from etcd");
        }
    }

    static List<String> events(ManagedChannel ch, long fromRev, int n) throws Exception {
        List<String> out = new ArrayList<>();
        try (WatchClient w = new WatchClient(WatchGrpc.newStub(ch))) {
            w.create(WatchClient.create("/w/", "/w0").setStartRevision(fromRev).setPrevKv(true));
            assertTrue(w.next().getCreated());
            while (out.size() < n) {
                WatchResponse r = w.next();
                for (Event e : r.getEventsList()) out.add(normalize(e).toString());
            }
        }
        return out;
    }

    /** A watch from the past replays the same events (types, kvs, prev_kvs) as etcd's. */
    @Test
    void watchReplayMatches() throws Exception {
        Stubs theirs = Stubs.of(etcdChannel), ours = Stubs.of(fx.channel);
        long start0 = theirs.kv().put(PutRequest.newBuilder().setKey(bs("/w/sync")).setValue(bs("0")).build()).getHeader().getRevision();
        long start1 = ours.kv().put(PutRequest.newBuilder().setKey(bs("/w/sync")).setValue(bs("0")).build()).getHeader().getRevision();
        for (Stubs s : List.of(theirs, ours)) {
            s.kv().put(PutRequest.newBuilder().setKey(bs("/w/a")).setValue(bs("1")).build());
            s.kv().put(PutRequest.newBuilder().setKey(bs("/w/a")).setValue(bs("2")).build());
            s.kv().txn(TxnRequest.newBuilder().addSuccess(put("/w/b", "b")).addSuccess(del("/w/a", null)).build());
            s.kv().deleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/w/")).setRangeEnd(bs("/w0")).build());
        }
        List<String> expected = events(etcdChannel, start0, 6), actual = events(fx.channel, start1, 6);
        // Revisions differ between the two stores by a fixed offset; compare shapes after rebasing.
        assertEquals(rebase(expected, start0), rebase(actual, start1));
    }

    static List<String> rebase(List<String> evs, long base) {
        List<String> out = new ArrayList<>();
        java.util.regex.Pattern rev = java.util.regex.Pattern.compile("(create_revision|mod_revision): (\\d+)");
        for (String e : evs) {
            java.util.regex.Matcher m = rev.matcher(e);
            StringBuilder sb = new StringBuilder();
            while (m.find()) m.appendReplacement(sb, m.group(1) + ": +" + (Long.parseLong(m.group(2)) - base));
            m.appendTail(sb);
            out.add(sb.toString());
        }
        return out;
    }
}
