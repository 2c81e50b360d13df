package io.quorumlab.server.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;
import io.prometheus.client.CollectorRegistry;
import io.quorumlab.server.EtcdServer;
import io.quorumlab.server.config.ServerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through jetcd (the Java etcd client) against whole in-process members
 * ({@link EtcdServer#start}, real threads, WAL files, backend, Netty peers and gRPC) on 127.0.0.1:
 * KV, kube-apiserver style transactions, watch, leases, leader loss and re-election, restart.
 *
 * <p>jetcd 0.8 dials through Vert.x ({@code io.vertx:vertx-grpc}, {@code io.grpc:grpc-netty}); the
 * test is skipped, loudly, when those are not on the test classpath.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JetcdClusterTest {
    private static final long OP_SECONDS = 10;

    @TempDir
    Path dir;

    private Cluster cluster;
    private final List<Client> clients = new ArrayList<>();

    @BeforeAll
    static void needsVertx() {
        boolean vertx;
        try {
            Class.forName("io.vertx.grpc.VertxChannelBuilder");
            Class.forName("io.grpc.netty.NettyChannelBuilder");
            vertx = true;
        } catch (ClassNotFoundException e) {
            vertx = false;
        }
        if (!vertx) {
            System.err.println("*** JetcdClusterTest SKIPPED: jetcd-core needs io.vertx:vertx-grpc and io.grpc:grpc-netty on the"
                    + " server module's test classpath (server/pom.xml excludes them from jetcd-grpc) ***");
        }
        assumeTrue(vertx, "jetcd-core needs io.vertx:vertx-grpc and io.grpc:grpc-netty on the test classpath");
    }

    @AfterEach
    void stop() {
        for (Client c : clients) {
            try {
                c.close();
            } catch (RuntimeException ignored) {
                // closing a client of a stopped member may complain; the members go next
            }
        }
        if (cluster != null) cluster.close();
    }

    // ---------------------------------------------------------------------------------------------
    // single member

    @Test
    void singleMemberKvRevisionsPrefixAndDelete() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        KV kv = client(0).getKVClient();

        PutResponse p1 = get(kv.put(b("a"), b("1")));
        long r1 = p1.getHeader().getRevision();
        assertEquals(2, r1, "the first write of a new cluster is revision 2, as in etcd");
        PutResponse p2 = get(kv.put(b("a"), b("2"), PutOption.builder().withPrevKV().build()));
        assertEquals(r1 + 1, p2.getHeader().getRevision());
        assertTrue(p2.hasPrevKv(), "put with prev_kv returns the previous pair");
        assertEquals("1", s(p2.getPrevKv().getValue()));

        KeyValue a = single(get(kv.get(b("a"))));
        assertEquals("2", s(a.getValue()));
        assertEquals(r1, a.getCreateRevision());
        assertEquals(r1 + 1, a.getModRevision());
        assertEquals(2, a.getVersion());
        assertEquals("1", s(single(get(kv.get(b("a"), GetOption.builder().withRevision(r1).build()))).getValue()),
                "a read at an old revision sees the old value");

        for (String k : List.of("/p/3", "/p/1", "/p/2", "/q")) get(kv.put(b(k), b("v" + k)));
        GetResponse prefix = get(kv.get(b("/p/"), GetOption.builder().isPrefix(true).build()));
        assertEquals(3, prefix.getCount());
        assertEquals(List.of("/p/1", "/p/2", "/p/3"), keys(prefix), "range results are sorted by key");
        GetResponse limited = get(kv.get(b("/p/"), GetOption.builder().isPrefix(true).withLimit(2).build()));
        assertEquals(2, limited.getKvs().size());
        assertTrue(limited.isMore(), "limit below the count sets more");
        assertEquals(3, limited.getCount(), "count is the whole range, not the page");
        GetResponse countOnly = get(kv.get(b("/p/"), GetOption.builder().isPrefix(true).withCountOnly(true).build()));
        assertEquals(3, countOnly.getCount());
        assertEquals(0, countOnly.getKvs().size());

        long before = get(kv.get(b("a"))).getHeader().getRevision();
        DeleteResponse d = get(kv.delete(b("a"), DeleteOption.builder().withPrevKV(true).build()));
        assertEquals(1, d.getDeleted());
        assertEquals("2", s(d.getPrevKvs().get(0).getValue()));
        assertEquals(before + 1, d.getHeader().getRevision());
        assertEquals(0, get(kv.get(b("a"))).getCount());
        DeleteResponse none = get(kv.delete(b("a")));
        assertEquals(0, none.getDeleted());
        assertEquals(before + 1, none.getHeader().getRevision(), "deleting nothing does not create a revision");

        DeleteResponse dp = get(kv.delete(b("/p/"), DeleteOption.builder().isPrefix(true).build()));
        assertEquals(3, dp.getDeleted());
        assertEquals(before + 2, dp.getHeader().getRevision(), "a range delete is one revision");
        assertEquals(1, get(kv.get(b("/"), GetOption.builder().isPrefix(true).build())).getCount());
    }

    @Test
    void singleMemberKubeStyleTxn() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        KV kv = client(0).getKVClient();
        ByteSequence key = b("/registry/pods/default/web-0");

        // create: only if absent (mod_revision == 0)
        TxnResponse create = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(0)))
                .Then(Op.put(key, b("v1"), PutOption.DEFAULT)).Else(Op.get(key, GetOption.DEFAULT)).commit());
        assertTrue(create.isSucceeded());
        long created = create.getHeader().getRevision();
        assertEquals(1, create.getPutResponses().size());

        TxnResponse createAgain = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(0)))
                .Then(Op.put(key, b("other"), PutOption.DEFAULT)).Else(Op.get(key, GetOption.DEFAULT)).commit());
        assertFalse(createAgain.isSucceeded(), "create of an existing key fails");
        assertEquals(created, createAgain.getHeader().getRevision(), "a failed txn without writes does not bump the revision");
        KeyValue existing = createAgain.getGetResponses().get(0).getKvs().get(0);
        assertEquals("v1", s(existing.getValue()));
        assertEquals(created, existing.getModRevision());

        // GuaranteedUpdate: compare mod_revision with the one read
        TxnResponse update = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(created)))
                .Then(Op.put(key, b("v2"), PutOption.DEFAULT)).Else(Op.get(key, GetOption.DEFAULT)).commit());
        assertTrue(update.isSucceeded());
        long updated = update.getHeader().getRevision();
        assertEquals(created + 1, updated);

        TxnResponse stale = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(created)))
                .Then(Op.put(key, b("lost-update"), PutOption.DEFAULT)).Else(Op.get(key, GetOption.DEFAULT)).commit());
        assertFalse(stale.isSucceeded(), "an update based on a stale mod_revision must fail");
        assertEquals("v2", s(stale.getGetResponses().get(0).getKvs().get(0).getValue()));
        assertEquals(updated, stale.getGetResponses().get(0).getKvs().get(0).getModRevision());

        // several ops in one txn share one revision
        TxnResponse multi = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.value(b("v2"))))
                .Then(Op.put(b("/registry/a"), b("1"), PutOption.DEFAULT), Op.put(b("/registry/b"), b("2"), PutOption.DEFAULT))
                .commit());
        assertTrue(multi.isSucceeded());
        assertEquals(updated + 1, multi.getHeader().getRevision());
        assertEquals(updated + 1, single(get(kv.get(b("/registry/a")))).getModRevision());
        assertEquals(updated + 1, single(get(kv.get(b("/registry/b")))).getModRevision());

        // guarded delete
        TxnResponse del = get(kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(updated)))
                .Then(Op.delete(key, DeleteOption.DEFAULT)).Else(Op.get(key, GetOption.DEFAULT)).commit());
        assertTrue(del.isSucceeded());
        assertEquals(1, del.getDeleteResponses().get(0).getDeleted());
        assertEquals(0, get(kv.get(key)).getCount());
    }

    @Test
    void singleMemberWatchDeliversOrderedEventsWithPrevKv() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        Client c = client(0);
        KV kv = c.getKVClient();
        long start = get(kv.put(b("/w/seed"), b("0"))).getHeader().getRevision();

        // from a past revision: replays history, then continues live
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> watchError = new AtomicReference<>();
        Watch.Watcher w = c.getWatchClient().watch(b("/w/"),
                WatchOption.builder().isPrefix(true).withPrevKV(true).withRevision(start).build(),
                r -> events.addAll(r.getEvents()), watchError::set);
        try {
            get(kv.put(b("/w/a"), b("1")));
            get(kv.put(b("/w/a"), b("2")));
            get(kv.put(b("/x/outside"), b("ignored")));
            get(kv.delete(b("/w/a")));
            get(kv.put(b("/w/b"), b("3")));

            List<WatchEvent> got = take(events, 5, watchError);
            assertEvent(got.get(0), WatchEvent.EventType.PUT, "/w/seed", "0", null);
            assertEvent(got.get(1), WatchEvent.EventType.PUT, "/w/a", "1", null);
            assertEvent(got.get(2), WatchEvent.EventType.PUT, "/w/a", "2", "1");
            assertEvent(got.get(3), WatchEvent.EventType.DELETE, "/w/a", "", "2");
            assertEvent(got.get(4), WatchEvent.EventType.PUT, "/w/b", "3", null);
            assertEquals(start, got.get(0).getKeyValue().getModRevision());
            for (int i = 1; i < got.size(); i++) {
                long prev = got.get(i - 1).getKeyValue().getModRevision();
                long cur = got.get(i).getKeyValue().getModRevision();
                assertTrue(cur > prev, "events in revision order: " + prev + " then " + cur);
            }
            assertEquals(start + 5, got.get(4).getKeyValue().getModRevision(), "the /x/ write took a revision but no event");
            assertNoMore(events, 300);
        } finally {
            w.close();
        }
    }

    @Test
    void singleMemberWatchFilterCreateNotifyAndProgressRequest() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        Client c = client(0);
        KV kv = c.getKVClient();
        long start = get(kv.put(b("/f/seed"), b("0"))).getHeader().getRevision();
        LinkedBlockingQueue<io.etcd.jetcd.watch.WatchResponse> responses = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> watchError = new AtomicReference<>();
        Watch.Watcher w = c.getWatchClient().watch(b("/f/"),
                WatchOption.builder().isPrefix(true).withNoPut(true).withCreateNotify(true).build(), responses::add, watchError::set);
        try {
            io.etcd.jetcd.watch.WatchResponse created = responses.poll(OP_SECONDS, TimeUnit.SECONDS);
            assertNotNull(created, "no created notification (" + watchError.get() + ")");
            assertTrue(created.isCreatedNotify(), "first response is the created notification");
            assertEquals(start, created.getHeader().getRevision());

            get(kv.put(b("/f/a"), b("1")));
            long deleted = get(kv.delete(b("/f/a"))).getHeader().getRevision();
            long last = get(kv.put(b("/g/elsewhere"), b("1"))).getHeader().getRevision();
            io.etcd.jetcd.watch.WatchResponse del = responses.poll(OP_SECONDS, TimeUnit.SECONDS);
            assertNotNull(del, "no delete event (" + watchError.get() + ")");
            assertEquals(1, del.getEvents().size(), "a NOPUT watch delivers only the delete: " + describe(del.getEvents()));
            assertEvent(del.getEvents().get(0), WatchEvent.EventType.DELETE, "/f/a", "", null);
            assertEquals(deleted, del.getEvents().get(0).getKeyValue().getModRevision());

            c.getWatchClient().requestProgress();
            io.etcd.jetcd.watch.WatchResponse progress = responses.poll(OP_SECONDS, TimeUnit.SECONDS);
            assertNotNull(progress, "no answer to a progress request (" + watchError.get() + ")");
            assertTrue(progress.isProgressNotify(), "a progress notification, not events: " + describe(progress.getEvents()));
            assertEquals(last, progress.getHeader().getRevision(), "progress carries the current revision");
        } finally {
            w.close();
        }
    }

    @Test
    void singleMemberLeasesKeepAliveRevokeAndExpiry() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        Client c = client(0);
        KV kv = c.getKVClient();

        long lease = get(c.getLeaseClient().grant(60)).getID();
        assertNotEquals(0, lease);
        get(kv.put(b("/l/1"), b("x"), PutOption.builder().withLeaseId(lease).build()));
        get(kv.put(b("/l/2"), b("y"), PutOption.builder().withLeaseId(lease).build()));
        assertEquals(lease, single(get(kv.get(b("/l/1")))).getLease());
        LeaseTimeToLiveResponse ttl = get(c.getLeaseClient().timeToLive(lease, LeaseOption.builder().withAttachedKeys().build()));
        assertEquals(60, ttl.getGrantedTTL());
        assertTrue(ttl.getTTL() > 50 && ttl.getTTL() <= 60, "remaining TTL " + ttl.getTTL());
        assertEquals(Set.of("/l/1", "/l/2"), new HashSet<>(ttl.getKeys().stream().map(JetcdClusterTest::s).toList()));
        assertEquals(60, get(c.getLeaseClient().keepAliveOnce(lease)).getTTL());
        get(c.getLeaseClient().revoke(lease));
        assertEquals(0, get(kv.get(b("/l/"), GetOption.builder().isPrefix(true).build())).getCount(), "revoke deletes the keys");
        ExecutionException gone = assertFails(() -> get(c.getLeaseClient().revoke(lease)));
        assertTrue(String.valueOf(gone.getCause().getMessage()).contains("requested lease not found"), gone.getCause().toString());

        // a short lease left alone expires and takes its key with it
        long shortLease = get(c.getLeaseClient().grant(2)).getID();
        get(kv.put(b("/l/short"), b("z"), PutOption.builder().withLeaseId(shortLease).build()));
        assertEquals(1, get(kv.get(b("/l/short"))).getCount());
        awaitTrue("key of an expired lease deleted", 15, () -> get(kv.get(b("/l/short"))).getCount() == 0);
    }

    @Test
    void singleMemberRestartKeepsDataAndRevision() throws Exception {
        cluster = new Cluster(dir, 1);
        cluster.startAll();
        cluster.awaitLeader(-1);
        KV kv = client(0).getKVClient();
        for (int i = 0; i < 20; i++) get(kv.put(b("/r/" + i), b("v" + i)));
        get(kv.delete(b("/r/0")));
        long rev = get(kv.get(b("/r/1"))).getHeader().getRevision();
        closeClients();

        cluster.stop(0);
        cluster.start(0);
        cluster.awaitLeader(-1);
        KV again = client(0).getKVClient();
        GetResponse all = retry(() -> get(again.get(b("/r/"), GetOption.builder().isPrefix(true).build())));
        assertEquals(19, all.getCount());
        assertEquals(rev, all.getHeader().getRevision(), "revision survives a restart");
        assertEquals("v7", s(single(get(again.get(b("/r/7")))).getValue()));
        assertEquals(rev + 1, get(again.put(b("/r/after"), b("x"))).getHeader().getRevision());
    }

    // ---------------------------------------------------------------------------------------------
    // three members

    @Test
    void threeMembersReplicateKvTxnAndWatchAcrossEndpoints() throws Exception {
        cluster = new Cluster(dir, 3);
        cluster.startAll();
        int leader = cluster.awaitLeader(-1);
        int f1 = (leader + 1) % 3;
        int f2 = (leader + 2) % 3;

        // watch through a follower, write through the other follower and the leader
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> watchError = new AtomicReference<>();
        long start = retry(() -> get(client(f1).getKVClient().get(b("/c/")))).getHeader().getRevision();
        Watch.Watcher w = client(f1).getWatchClient().watch(b("/c/"),
                WatchOption.builder().isPrefix(true).withPrevKV(true).withRevision(start + 1).build(),
                r -> events.addAll(r.getEvents()), watchError::set);
        try {
            KV viaFollower = client(f2).getKVClient();
            KV viaLeader = client(leader).getKVClient();
            long r1 = retry(() -> get(viaFollower.put(b("/c/k"), b("1")))).getHeader().getRevision();
            long r2 = get(viaLeader.put(b("/c/k"), b("2"))).getHeader().getRevision();
            assertEquals(r1 + 1, r2, "a write forwarded by a follower and one on the leader share one revision sequence");
            for (int i = 0; i < 3; i++) {
                KeyValue kv = single(get(client(i).getKVClient().get(b("/c/k"))));
                assertEquals("2", s(kv.getValue()), "linearizable read on member " + i);
                assertEquals(r2, kv.getModRevision());
            }

            TxnResponse stale = get(viaFollower.txn().If(new Cmp(b("/c/k"), Cmp.Op.EQUAL, CmpTarget.modRevision(r1)))
                    .Then(Op.put(b("/c/k"), b("lost"), PutOption.DEFAULT)).Else(Op.get(b("/c/k"), GetOption.DEFAULT)).commit());
            assertFalse(stale.isSucceeded(), "compare against the replicated mod_revision, not a stale local one");
            TxnResponse ok = get(viaFollower.txn().If(new Cmp(b("/c/k"), Cmp.Op.EQUAL, CmpTarget.modRevision(r2)))
                    .Then(Op.put(b("/c/k"), b("3"), PutOption.DEFAULT)).Else(Op.get(b("/c/k"), GetOption.DEFAULT)).commit());
            assertTrue(ok.isSucceeded());
            get(viaLeader.delete(b("/c/k")));

            List<WatchEvent> got = take(events, 4, watchError);
            assertEvent(got.get(0), WatchEvent.EventType.PUT, "/c/k", "1", null);
            assertEvent(got.get(1), WatchEvent.EventType.PUT, "/c/k", "2", "1");
            assertEvent(got.get(2), WatchEvent.EventType.PUT, "/c/k", "3", "2");
            assertEvent(got.get(3), WatchEvent.EventType.DELETE, "/c/k", "", "3");
            assertEquals(r1, got.get(0).getKeyValue().getModRevision());
            assertNoMore(events, 300);
        } finally {
            w.close();
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(cluster.memberId(i), get(client(i).getKVClient().get(b("x"))).getHeader().getMemberId(),
                    "response header names the member that answered");
        }
    }

    @Test
    void threeMembersLeaseKeepAliveOnLeaderAndRevokeEverywhere() throws Exception {
        cluster = new Cluster(dir, 3);
        cluster.startAll();
        int leader = cluster.awaitLeader(-1);
        Client lc = client(leader);
        KV kv = lc.getKVClient();

        // 2 s leases kept alive over the stream outlive their TTL: one through the leader's endpoint,
        // one through a follower's (etcd forwards keepalives to the leader)
        int viaFollower = (leader + 2) % 3;
        Client fc = client(viaFollower);
        long lease = retry(() -> get(lc.getLeaseClient().grant(2))).getID();
        long followerLease = retry(() -> get(fc.getLeaseClient().grant(2))).getID();
        get(kv.put(b("/lease/kept"), b("v"), PutOption.builder().withLeaseId(lease).build()));
        get(kv.put(b("/lease/kept-via-follower"), b("v"), PutOption.builder().withLeaseId(followerLease).build()));
        AtomicInteger keepAlives = new AtomicInteger();
        AtomicInteger followerKeepAlives = new AtomicInteger();
        AtomicReference<Throwable> kaError = new AtomicReference<>();
        CloseableClient ka = lc.getLeaseClient().keepAlive(lease, counting(keepAlives, kaError));
        CloseableClient fka = fc.getLeaseClient().keepAlive(followerLease, counting(followerKeepAlives, kaError));
        try {
            Thread.sleep(4_000);
            assertEquals(null, kaError.get(), "keepalive stream failed");
            assertTrue(keepAlives.get() >= 2, "keepalive responses within 5 s of a 2 s lease: " + keepAlives.get());
            assertTrue(followerKeepAlives.get() >= 2, "keepalive responses through a follower within 5 s of a 2 s lease: "
                    + followerKeepAlives.get());
            for (int i = 0; i < 3; i++) {
                assertEquals(1, get(client(i).getKVClient().get(b("/lease/kept"))).getCount(),
                        "kept-alive key present on member " + i);
                assertEquals(1, get(client(i).getKVClient().get(b("/lease/kept-via-follower"))).getCount(),
                        "key kept alive through a follower present on member " + i);
            }
        } finally {
            ka.close();
            fka.close();
        }

        // revoke through a follower deletes the keys on every member
        int follower = (leader + 1) % 3;
        long lease2 = get(lc.getLeaseClient().grant(60)).getID();
        get(kv.put(b("/lease/a"), b("1"), PutOption.builder().withLeaseId(lease2).build()));
        get(kv.put(b("/lease/b"), b("2"), PutOption.builder().withLeaseId(lease2).build()));
        get(client(follower).getLeaseClient().revoke(lease2));
        for (int i = 0; i < 3; i++) {
            KV m = client(i).getKVClient();
            get(m.get(b("barrier"))); // linearizable read: this member has applied everything committed so far
            GetOption serializable = GetOption.builder().withSerializable(true).build();
            assertEquals(0, get(m.get(b("/lease/a"), serializable)).getCount(), "revoked lease's key gone on member " + i);
            assertEquals(0, get(m.get(b("/lease/b"), serializable)).getCount(), "revoked lease's key gone on member " + i);
        }

        // with the keepalive closed, the first lease expires on the leader and its key goes everywhere
        awaitTrue("keys of the leases no longer kept alive deleted", 15,
                () -> get(kv.get(b("/lease/kept"), GetOption.builder().isPrefix(true).build())).getCount() == 0);
        for (int i = 0; i < 3; i++) {
            KV m = client(i).getKVClient();
            get(m.get(b("barrier")));
            assertEquals(0, get(m.get(b("/lease/"), GetOption.builder().isPrefix(true).withSerializable(true).build())).getCount(),
                    "no lease keys left on member " + i);
        }
    }

    @Test
    void threeMembersSurviveLeaderLossAndRestartOfTheOldLeader() throws Exception {
        cluster = new Cluster(dir, 3);
        cluster.startAll();
        int oldLeader = cluster.awaitLeader(-1);
        for (int i = 0; i < 10; i++) {
            int n = i;
            retry(() -> get(client(n % 3).getKVClient().put(b("/ll/before/" + n), b("v" + n))));
        }
        long revBefore = get(client(oldLeader).getKVClient().get(b("x"))).getHeader().getRevision();
        long termBefore = get(client(oldLeader).getKVClient().get(b("x"))).getHeader().getRaftTerm();

        int writer = (oldLeader + 1) % 3;
        int reader = (oldLeader + 2) % 3;
        // a watch on a surviving member keeps delivering across the leader change
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> watchError = new AtomicReference<>();
        Watch.Watcher w = client(reader).getWatchClient().watch(b("/ll/after/"),
                WatchOption.builder().isPrefix(true).withRevision(revBefore + 1).build(), r -> events.addAll(r.getEvents()),
                watchError::set);

        cluster.stop(oldLeader);
        int newLeader = cluster.awaitLeader(oldLeader);
        assertNotEquals(oldLeader, newLeader);

        // writes continue through a remaining endpoint and are visible on the other
        List<Long> revs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int n = i;
            revs.add(retry(() -> get(client(writer).getKVClient().put(b("/ll/after/" + n), b("w" + n)))).getHeader().getRevision());
        }
        for (int i = 1; i < revs.size(); i++) assertTrue(revs.get(i) > revs.get(i - 1), "revisions increase: " + revs);
        assertTrue(revs.get(0) > revBefore, "no revision reused after the leader change");
        GetResponse after = retry(() -> get(client(reader).getKVClient().get(b("/ll/"), GetOption.builder().isPrefix(true).build())));
        assertEquals(20, after.getCount(), "all writes from before and after the leader loss on the surviving member " + reader);
        assertTrue(after.getHeader().getRaftTerm() > termBefore, "a new term after re-election");
        try {
            List<WatchEvent> got = take(events, 10, watchError);
            for (int i = 0; i < 10; i++) {
                assertEvent(got.get(i), WatchEvent.EventType.PUT, "/ll/after/" + i, "w" + i, null);
                assertEquals(revs.get(i), got.get(i).getKeyValue().getModRevision());
            }
        } finally {
            w.close();
        }

        // the old leader comes back on the same directories, keeps what it had and catches up
        cluster.start(oldLeader);
        KV back = client(oldLeader).getKVClient();
        awaitTrue("restarted member caught up", 20, () -> get(back.get(b("/ll/"),
                GetOption.builder().isPrefix(true).withSerializable(true).withCountOnly(true).build())).getCount() == 20);
        GetResponse onBack = retry(() -> get(back.get(b("/ll/"), GetOption.builder().isPrefix(true).build())));
        assertEquals(keys(after), keys(onBack));
        assertEquals("w9", s(single(get(back.get(b("/ll/after/9")))).getValue()));
        long r = retry(() -> get(back.put(b("/ll/rejoined"), b("yes")))).getHeader().getRevision();
        for (int i = 0; i < 3; i++) {
            KeyValue kv = single(get(client(i).getKVClient().get(b("/ll/rejoined"))));
            assertEquals(r, kv.getModRevision(), "write through the rejoined member on member " + i);
        }
        cluster.awaitLeader(-1);
    }

    /**
     * etcd's new leader promotes its lessor with the election timeout as grace
     * ({@code lessor.Promote(electionTimeout)} when the first entry of its term applies): a lease lives
     * at least election timeout + TTL after the new leader takes over, so clients have time to find
     * it and renew. Then the new leader does expire it.
     */
    @Test
    void leasesGetTheElectionTimeoutAsGraceOnANewLeader() throws Exception {
        cluster = new Cluster(dir, 3, 100, 2000);
        cluster.startAll();
        int leader = cluster.awaitLeader(-1);
        Client c = client((leader + 1) % 3);
        long lease = retry(() -> get(c.getLeaseClient().grant(3))).getID();
        get(c.getKVClient().put(b("/failover/leased"), b("v"), PutOption.builder().withLeaseId(lease).build()));

        cluster.stop(leader);
        int newLeader = cluster.awaitLeader(leader);
        long promoted = System.nanoTime();
        KV onNewLeader = client(newLeader).getKVClient();
        GetOption local = GetOption.builder().withSerializable(true).build();
        // etcd: expiry >= promotion + 2 s (election timeout) + 3 s (TTL); without the grace it is promotion + 3 s
        long checkAt = promoted + TimeUnit.MILLISECONDS.toNanos(4_200);
        while (System.nanoTime() < checkAt) Thread.sleep(20);
        assertEquals(1, get(onNewLeader.get(b("/failover/leased"), local)).getCount(),
                "a 3 s lease expired within 4.2 s of the new leader's election (etcd grants 2 s election timeout + 3 s)");
        awaitTrue("the new leader expires the lease", 15,
                () -> get(onNewLeader.get(b("/failover/leased"), local)).getCount() == 0);
    }

    @Test
    void threeMembersFullRestartKeepsEverything() throws Exception {
        cluster = new Cluster(dir, 3);
        cluster.startAll();
        cluster.awaitLeader(-1);
        for (int i = 0; i < 30; i++) {
            int n = i;
            retry(() -> get(client(n % 3).getKVClient().put(b("/fr/" + n), b("v" + n))));
        }
        long lease = get(client(0).getLeaseClient().grant(300)).getID();
        get(client(0).getKVClient().put(b("/fr/leased"), b("l"), PutOption.builder().withLeaseId(lease).build()));
        long rev = get(client(1).getKVClient().get(b("x"))).getHeader().getRevision();
        closeClients();
        for (int i = 0; i < 3; i++) cluster.stop(i);
        for (int i = 0; i < 3; i++) cluster.start(i);
        cluster.awaitLeader(-1);
        for (int i = 0; i < 3; i++) {
            int n = i;
            GetResponse all = retry(() -> get(client(n).getKVClient().get(b("/fr/"), GetOption.builder().isPrefix(true).build())));
            assertEquals(31, all.getCount(), "member " + i + " after a full restart");
            assertEquals(rev, all.getHeader().getRevision(), "member " + i + " revision after a full restart");
        }
        LeaseTimeToLiveResponse ttl = retry(() -> get(client(2).getLeaseClient().timeToLive(lease,
                LeaseOption.builder().withAttachedKeys().build())));
        assertTrue(ttl.getTTL() > 0, "lease survives the restart: " + ttl.getTTL());
        assertEquals(List.of("/fr/leased"), ttl.getKeys().stream().map(JetcdClusterTest::s).toList());
        assertEquals(rev + 1, retry(() -> get(client(2).getKVClient().put(b("/fr/after"), b("x")))).getHeader().getRevision());
    }

    static StreamObserver<LeaseKeepAliveResponse> counting(AtomicInteger count, AtomicReference<Throwable> error) {
        return new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
                count.incrementAndGet();
            }

            @Override
            public void onError(Throwable t) {
                error.set(t);
            }

            @Override
            public void onCompleted() {
            }
        };
    }

    // ---------------------------------------------------------------------------------------------
    // fixture

    /** Members m1..mN on fresh 127.0.0.1 ports under one directory. */
    static final class Cluster implements AutoCloseable {
        final Path root;
        final int size;
        final int[] clientPorts;
        final int[] peerPorts;
        final EtcdServer[] servers;

        final int heartbeatMillis;
        final int electionMillis;

        Cluster(Path root, int size) throws IOException {
            this(root, size, 100, 1000);
        }

        Cluster(Path root, int size, int heartbeatMillis, int electionMillis) throws IOException {
            this.root = root;
            this.size = size;
            this.heartbeatMillis = heartbeatMillis;
            this.electionMillis = electionMillis;
            int[] ports = freePorts(2 * size);
            clientPorts = new int[size];
            peerPorts = new int[size];
            for (int i = 0; i < size; i++) {
                clientPorts[i] = ports[2 * i];
                peerPorts[i] = ports[2 * i + 1];
            }
            servers = new EtcdServer[size];
        }

        String name(int i) {
            return "m" + (i + 1);
        }

        String endpoint(int i) {
            return "http://127.0.0.1:" + clientPorts[i];
        }

        String[] args(int i) {
            StringBuilder initial = new StringBuilder();
            for (int j = 0; j < size; j++) {
                if (j > 0) initial.append(',');
                initial.append(name(j)).append("=http://127.0.0.1:").append(peerPorts[j]);
            }
            String peer = "http://127.0.0.1:" + peerPorts[i];
            return new String[] {
                "--name", name(i), "--data-dir", root.resolve(name(i)).toString(),
                "--listen-client-urls", endpoint(i), "--advertise-client-urls", endpoint(i),
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial.toString(), "--initial-cluster-token", "jetcd-e2e",
                "--initial-cluster-state", "new", "--heartbeat-interval", String.valueOf(heartbeatMillis), "--election-timeout", String.valueOf(electionMillis),
            };
        }

        void startAll() {
            for (int i = 0; i < size; i++) start(i);
        }

        void start(int i) {
            if (servers[i] != null) throw new IllegalStateException(name(i) + " already running");
            servers[i] = EtcdServer.start(ServerConfig.parse(args(i), Map.of()), new CollectorRegistry());
        }

        void stop(int i) {
            EtcdServer s = servers[i];
            servers[i] = null;
            if (s != null) s.close();
        }

        long memberId(int i) {
            return servers[i].member().memberId();
        }

        /**
         * Waits until every running member (except {@code excluded}) agrees on one leader among them;
         * returns its index.
         */
        int awaitLeader(int excluded) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            String seen = "";
            while (System.nanoTime() < deadline) {
                long agreed = 0;
                boolean agree = true;
                boolean any = false;
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < size; i++) {
                    if (i == excluded || servers[i] == null) continue;
                    long l = servers[i].member().leaderId();
                    sb.append(name(i)).append("->").append(Long.toHexString(l)).append(' ');
                    if (l == 0 || (any && agreed != l)) agree = false;
                    agreed = l;
                    any = true;
                }
                seen = sb.toString();
                if (agree && any) {
                    for (int i = 0; i < size; i++) {
                        if (i != excluded && servers[i] != null && servers[i].member().memberId() == agreed) return i;
                    }
                }
                Thread.sleep(20);
            }
            throw new AssertionError("no agreed leader within 20 s: " + seen);
        }

        @Override
        public void close() {
            for (int i = 0; i < size; i++) {
                try {
                    stop(i);
                } catch (RuntimeException e) {
                    System.err.println("closing " + name(i) + " failed: " + e);
                }
            }
        }
    }

    static int[] freePorts(int n) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) s.close();
        }
    }

    private Client[] byMember = new Client[0];

    /** A jetcd client bound to member i's endpoint alone (created on first use, recreated after closeClients). */
    private Client client(int i) {
        if (byMember.length < cluster.size) byMember = new Client[cluster.size];
        if (byMember[i] == null) {
            byMember[i] = Client.builder().endpoints(cluster.endpoint(i)).build();
            clients.add(byMember[i]);
        }
        return byMember[i];
    }

    private void closeClients() {
        for (Client c : clients) c.close();
        clients.clear();
        byMember = new Client[0];
    }

    static ByteSequence b(String s) {
        return ByteSequence.from(s, UTF_8);
    }

    static String s(ByteSequence b) {
        return b.toString(UTF_8);
    }

    static <T> T get(CompletableFuture<T> f) throws ExecutionException, InterruptedException, TimeoutException {
        return f.get(OP_SECONDS, TimeUnit.SECONDS);
    }

    /** Retries while a leader is elected or a restarted member connects: the way clients of etcd behave. */
    static <T> T retry(Callable<T> op) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                return op.call();
            } catch (ExecutionException | TimeoutException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("still failing after 20 s", last);
    }

    static void awaitTrue(String what, int seconds, Callable<Boolean> cond) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (cond.call()) return;
                last = null;
            } catch (ExecutionException | TimeoutException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + seconds + " s: " + what, last);
    }

    static ExecutionException assertFails(Callable<?> op) throws Exception {
        try {
            op.call();
        } catch (ExecutionException e) {
            return e;
        }
        return fail("expected a failure");
    }

    static KeyValue single(GetResponse r) {
        assertEquals(1, r.getKvs().size(), "expected exactly one key, got " + keys(r));
        return r.getKvs().get(0);
    }

    static List<String> keys(GetResponse r) {
        return r.getKvs().stream().map(kv -> s(kv.getKey())).toList();
    }

    static List<WatchEvent> take(LinkedBlockingQueue<WatchEvent> q, int n, AtomicReference<Throwable> error)
            throws InterruptedException {
        List<WatchEvent> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(OP_SECONDS);
        while (got.size() < n) {
            long left = deadline - System.nanoTime();
            WatchEvent e = left <= 0 ? null : q.poll(left, TimeUnit.NANOSECONDS);
            if (e == null) {
                throw new AssertionError("watch delivered " + got.size() + " of " + n + " events: " + describe(got)
                        + (error.get() == null ? "" : " (watch error " + error.get() + ")"));
            }
            got.add(e);
        }
        return got;
    }

    static void assertNoMore(LinkedBlockingQueue<WatchEvent> q, long millis) throws InterruptedException {
        WatchEvent extra = q.poll(millis, TimeUnit.MILLISECONDS);
        assertEquals(null, extra == null ? null : describe(List.of(extra)), "no further events");
    }

    static String describe(List<WatchEvent> events) {
        StringBuilder sb = new StringBuilder("[");
        for (WatchEvent e : events) {
            sb.append(e.getEventType()).append(' ').append(s(e.getKeyValue().getKey())).append('=')
                    .append(s(e.getKeyValue().getValue())).append('@').append(e.getKeyValue().getModRevision()).append(' ');
        }
        return sb.append(']').toString();
    }

    static void assertEvent(WatchEvent e, WatchEvent.EventType type, String key, String value, String prevValue) {
        assertNotNull(e);
        assertEquals(type, e.getEventType(), describe(List.of(e)));
        assertEquals(key, s(e.getKeyValue().getKey()));
        assertEquals(value, s(e.getKeyValue().getValue()));
        if (prevValue == null) {
            assertTrue(e.getPrevKV() == null || e.getPrevKV().getKey().isEmpty(),
                    "no prev_kv expected for " + describe(List.of(e)));
        } else {
            assertNotNull(e.getPrevKV(), "prev_kv for " + describe(List.of(e)));
            assertEquals(prevValue, s(e.getPrevKV().getValue()), "prev_kv value for " + describe(List.of(e)));
        }
    }
}
