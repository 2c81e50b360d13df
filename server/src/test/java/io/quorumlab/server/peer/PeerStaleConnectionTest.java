package io.quorumlab.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review r9w of the peer hardening. (1) An inbound connection that said hello and then went silent (a
 * peer's host that died without a FIN leaves exactly that) is legal, but counted against the transport's
 * bound: a new hello from the same member now replaces its older connection, so dead incarnations cannot
 * lock the live one out. (2) The Raft frame limit has a 64 MiB floor, so members may differ in
 * --max-request-bytes (a rolling raise). (3) A restarted member's hello carries no cluster id: it could
 * only be derived from --initial-* flags that etcd ignores once data exists.
 */
class PeerStaleConnectionTest {
    private static final long SELF = 2, PEER = 1, OTHER = 3, CLUSTER = 0xC1A55L;
    private final List<NettyPeerTransport> transports = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        for (Socket s : sockets) s.close();
        for (NettyPeerTransport t : transports) t.close();
    }

    @Test
    void deadPeersHalfOpenConnectionsEventuallyLockTheLivePeerOut() throws Exception {
        LinkedBlockingQueue<Message> got = new LinkedBlockingQueue<>();
        NettyPeerTransport b = new NettyPeerTransport(SELF, "127.0.0.1", 0, null, null, () -> CLUSTER,
                NettyPeerTransport.Limits.defaults());
        transports.add(b);
        b.bind();
        b.start(got::add, id -> {});
        // A 3-member cluster: two configured peers.
        b.updatePeers(Map.of(PEER, "http://127.0.0.1:1", OTHER, "http://127.0.0.1:2"));
        int max = b.maxInboundConnections();
        assertEquals(24, max);
        // Each socket stands for the connection a crashed incarnation of PEER left behind: hello, some traffic, then
        // nothing (from the listener's side a host that vanished without a FIN looks exactly like this).
        for (int i = 0; i < max; i++) {
            Socket s = new Socket("127.0.0.1", b.boundPort());
            sockets.add(s);
            s.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
            s.getOutputStream().write(MessageCodec.encodeFrame(
                    Message.builder(MessageType.HEARTBEAT).from(PEER).to(SELF).term(1).build(), (byte) 0));
        }
        for (int i = 0; i < max; i++) assertTrue(got.poll(3, TimeUnit.SECONDS) != null, "harness: heartbeat " + i);
        Thread.sleep(300);
        // PEER's current incarnation: a real transport dialing with a hello, sending heartbeats.
        NettyPeerTransport a = new NettyPeerTransport(PEER, "127.0.0.1", 0, null, null, () -> CLUSTER,
                NettyPeerTransport.Limits.defaults());
        transports.add(a);
        a.bind();
        a.start(m -> {}, id -> {});
        a.updatePeers(Map.of(SELF, "http://127.0.0.1:" + b.boundPort()));
        Message fresh = null;
        for (int i = 0; i < 40 && fresh == null; i++) {
            a.send(Message.builder(MessageType.HEARTBEAT).from(PEER).to(SELF).term(2).build());
            fresh = got.poll(150, TimeUnit.MILLISECONDS);
        }
        assertTrue(fresh != null, "the live peer never got through: " + max
                + " connections of its dead incarnations hold every inbound slot and are never closed");
    }

    /**
     * A rolling raise of --max-request-bytes (1.5 MiB -> 10 MiB; etcd accepts members that differ: its rafthttp
     * decoders do not derive their limits from it). The raised leader appends a 5 MiB request; the not-yet-raised
     * follower closes the connection at the frame header, every time Raft resends it: nothing after that entry
     * reaches the follower either (here: a heartbeat behind it).
     */
    @Test
    void aFollowerWithTheOldMaxRequestBytesCannotReceiveTheRaisedLeadersEntry() throws Exception {
        LinkedBlockingQueue<Message> got = new LinkedBlockingQueue<>();
        NettyPeerTransport follower = new NettyPeerTransport(SELF, "127.0.0.1", 0, null, null, () -> CLUSTER,
                NettyPeerTransport.Limits.forMember(io.quorumlab.server.member.MemberConfig.DEFAULT_MAX_REQUEST_BYTES, 2L << 30));
        transports.add(follower);
        follower.bind();
        follower.start(got::add, id -> {});
        NettyPeerTransport leader = new NettyPeerTransport(PEER, "127.0.0.1", 0, null, null, () -> CLUSTER,
                NettyPeerTransport.Limits.forMember(10L << 20, 2L << 30));
        transports.add(leader);
        leader.bind();
        leader.start(m -> {}, id -> {});
        leader.updatePeers(Map.of(SELF, "http://127.0.0.1:" + follower.boundPort()));
        // Connection up first.
        Message hb = null;
        for (int i = 0; i < 40 && hb == null; i++) {
            leader.send(Message.builder(MessageType.HEARTBEAT).from(PEER).to(SELF).term(1).build());
            hb = got.poll(100, TimeUnit.MILLISECONDS);
        }
        assertTrue(hb != null, "harness: no connection");
        Message app = Message.builder(MessageType.APP).from(PEER).to(SELF).term(1).logTerm(1).index(10).commit(10)
                .entries(List.of(new io.quorumlab.raft.Entry(1, 11, io.quorumlab.raft.EntryType.NORMAL, new byte[5 << 20])))
                .build();
        int received = 0;
        for (int i = 0; i < 10; i++) { // Raft resends
            leader.send(app);
            leader.send(Message.builder(MessageType.HEARTBEAT).from(PEER).to(SELF).term(1).commit(11).build());
            Message m;
            while ((m = got.poll(300, TimeUnit.MILLISECONDS)) != null) if (m.type() == MessageType.APP) received++;
        }
        assertTrue(received > 0, "a 5 MiB entry the leader accepted never reached the follower in 10 resends");
    }
}
