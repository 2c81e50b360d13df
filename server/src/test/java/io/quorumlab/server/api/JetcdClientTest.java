package io.quorumlab.server.api;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * jetcd-core, the Java client, end to end. jetcd 0.8 dials through Vert.x (io.vertx:vertx-grpc and
 * io.grpc:grpc-netty), which server/pom.xml excludes from jetcd-grpc; the test runs when those are
 * on the test classpath and is skipped otherwise.
 */
class JetcdClientTest {
    static ApiFixture fx;
    static Client client;

    static ByteSequence b(String s) { return ByteSequence.from(s, StandardCharsets.UTF_8); }

    @BeforeAll
    static void start() throws Exception {
        boolean vertx;
        try {
            Class.forName("io.vertx.grpc.VertxChannelBuilder");
            Class.forName("io.grpc.netty.NettyChannelBuilder");
            vertx = true;
        } catch (ClassNotFoundException e) {
            vertx = false;
        }
        assumeTrue(vertx, "jetcd-core needs io.vertx:vertx-grpc and io.grpc:grpc-netty on the test classpath");
        fx = new ApiFixture();
        client = Client.builder().endpoints("http://127.0.0.1:" + fx.server.port()).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) client.close();
        if (fx != null) fx.close();
    }

    @Test
    void kvTxnWatchLeaseAndStatus() throws Exception {
        KV kv = client.getKVClient();
        long rev = kv.put(b("/j/a"), b("1")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
        kv.put(b("/j/b"), b("2")).get(10, TimeUnit.SECONDS);
        GetResponse all = kv.get(b("/j/"), GetOption.builder().isPrefix(true).build()).get(10, TimeUnit.SECONDS);
        assertEquals(2, all.getCount());
        assertEquals("1", all.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
        assertEquals(FakeMember.MEMBER_ID, all.getHeader().getMemberId());

        TxnResponse t = kv.txn().If(new Cmp(b("/j/a"), Cmp.Op.EQUAL, CmpTarget.modRevision(rev)))
                .Then(Op.put(b("/j/a"), b("1b"), PutOption.DEFAULT)).Else(Op.get(b("/j/a"), GetOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);
        assertTrue(t.isSucceeded());
        TxnResponse stale = kv.txn().If(new Cmp(b("/j/a"), Cmp.Op.EQUAL, CmpTarget.modRevision(rev)))
                .Then(Op.put(b("/j/a"), b("1c"), PutOption.DEFAULT)).Else(Op.get(b("/j/a"), GetOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);
        assertFalse(stale.isSucceeded());
        assertEquals("1b", stale.getGetResponses().get(0).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));

        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        Watch.Watcher w = client.getWatchClient().watch(b("/j/"), WatchOption.builder().isPrefix(true).withPrevKV(true).build(),
                r -> events.addAll(r.getEvents()));
        try {
            Thread.sleep(200); // jetcd offers no "created" callback
            kv.put(b("/j/a"), b("again")).get(10, TimeUnit.SECONDS);
            WatchEvent e = events.poll(10, TimeUnit.SECONDS);
            assertNotNull(e);
            assertEquals(WatchEvent.EventType.PUT, e.getEventType());
            assertEquals("1b", e.getPrevKV().getValue().toString(StandardCharsets.UTF_8));
        } finally {
            w.close();
        }

        long lease = client.getLeaseClient().grant(30).get(10, TimeUnit.SECONDS).getID();
        kv.put(b("/j/leased"), b("v"), PutOption.builder().withLeaseId(lease).build()).get(10, TimeUnit.SECONDS);
        assertEquals(30, client.getLeaseClient().keepAliveOnce(lease).get(10, TimeUnit.SECONDS).getTTL());
        client.getLeaseClient().revoke(lease).get(10, TimeUnit.SECONDS);
        assertEquals(0, kv.get(b("/j/leased")).get(10, TimeUnit.SECONDS).getCount());

        var status = client.getMaintenanceClient().statusMember("http://127.0.0.1:" + fx.server.port()).get(10, TimeUnit.SECONDS);
        assertEquals("3.4.23", status.getVersion());
    }
}
