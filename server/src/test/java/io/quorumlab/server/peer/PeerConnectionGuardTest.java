package io.quorumlab.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.raft.Entry;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a peer connection may make a member hold, and who may speak on it (review findings of session 8):
 * declared frame lengths were trusted up to 2 GiB, a connection was bound to no cluster or member, and
 * neither the number of connections nor a stalled frame was bounded. Raw sockets play the hostile peer.
 */
class PeerConnectionGuardTest {
    private static final long SELF = 2, PEER = 1, OTHER = 3, CLUSTER = 0xC1A55L;
    /** Fast timeouts so the suite stays quick: hello 1 s, read timeout 300 ms, at least 4 KiB per read timeout. */
    private static final NettyPeerTransport.Limits FAST = NettyPeerTransport.Limits.defaults().withTimeouts(1000, 300, 4096);

    private final List<NettyPeerTransport> transports = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();
    private final List<Message> delivered = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws IOException {
        for (Socket s : sockets) s.close();
        for (NettyPeerTransport t : transports) t.close();
    }

    private NettyPeerTransport listener(NettyPeerTransport.Limits limits) {
        NettyPeerTransport t = new NettyPeerTransport(SELF, "127.0.0.1", 0, null, null, () -> CLUSTER, limits);
        transports.add(t);
        t.bind();
        t.start(delivered::add, id -> {});
        t.updatePeers(Map.of(SELF, "http://127.0.0.1:" + t.boundPort()));
        return t;
    }

    private Socket dial(NettyPeerTransport t) throws IOException {
        Socket s = new Socket("127.0.0.1", t.boundPort());
        s.setTcpNoDelay(true);
        sockets.add(s);
        return s;
    }

    private static byte[] heartbeat(long from, long to, long term) {
        return MessageCodec.encodeFrame(Message.builder(MessageType.HEARTBEAT).from(from).to(to).term(term).build(), (byte) 0);
    }

    private static byte[] header(int length, byte kind) {
        return ByteBuffer.allocate(5).putInt(length).put(kind).array();
    }

    /** True once the server closed {@code s} (end of stream or reset) within {@code millis}; false if still open. */
    private static boolean closedWithin(Socket s, long millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        InputStream in = s.getInputStream();
        while (true) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) return false;
            s.setSoTimeout((int) Math.max(1, left));
            try {
                int b = in.read();
                if (b < 0) return true;
                throw new AssertionError("the listener never writes to an inbound connection, got byte " + b);
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException reset) {
                return true;
            }
        }
    }

    /** Sends one byte every 20 ms until the server closes the socket; true if it did within {@code millis}. */
    private static boolean trickleUntilClosed(Socket s, long millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            try {
                s.getOutputStream().write(0);
                s.getOutputStream().flush();
            } catch (IOException closed) {
                return true;
            }
            if (closedWithin(s, 20)) return true;
        }
        return false;
    }

    private void waitDelivered(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (delivered.size() < n && System.nanoTime() < deadline) Thread.sleep(10);
    }

    @Test
    void aFrameOverItsKindsLimitClosesTheConnectionAtItsHeader() throws Exception {
        NettyPeerTransport t = listener(FAST);
        // Harness check: a hello and a heartbeat on the same kind of socket are delivered and the socket stays open.
        Socket ok = dial(t);
        ok.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        ok.getOutputStream().write(heartbeat(PEER, SELF, 7));
        waitDelivered(1);
        assertEquals(1, delivered.size(), "the harness's own heartbeat did not arrive: " + delivered);
        assertFalse(closedWithin(ok, 200), "a well-behaved connection was closed");

        // A Raft frame declaring 1 GiB, the body trickled: closed at the header, nothing is waited for.
        Socket big = dial(t);
        big.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        big.getOutputStream().write(header(1 << 30, (byte) 0));
        assertTrue(trickleUntilClosed(big, 250), "a 1 GiB Raft frame was accepted (limit " + FAST.maxMessageBytes() + ")");

        // Just over the ordinary-message limit, and a control frame over its small limit.
        Socket over = dial(t);
        over.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        over.getOutputStream().write(header(FAST.maxMessageBytes() + 1, (byte) 0));
        assertTrue(closedWithin(over, 250), "a frame one byte over the message limit was accepted");
        Socket control = dial(t);
        control.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        control.getOutputStream().write(header(1 << 20, (byte) 1));
        assertTrue(closedWithin(control, 250), "a 1 MiB control frame was accepted");

        // Before a hello nothing but a hello is accepted, whatever its size.
        Socket noHello = dial(t);
        noHello.getOutputStream().write(header(1 << 30, (byte) 2));
        assertTrue(trickleUntilClosed(noHello, 250), "a 1 GiB snapshot frame was accepted before any hello");
        assertEquals(1, delivered.size(), delivered.toString());
    }

    /** The limits must not refuse what Raft legitimately sends: the largest request's entry, a full append of tiny entries. */
    @Test
    void theLargestLegitimateMessagesFitTheDerivedLimit() {
        for (long maxRequest : new long[] {1, io.quorumlab.server.member.MemberConfig.DEFAULT_MAX_REQUEST_BYTES, 10L << 20}) {
            NettyPeerTransport.Limits l = NettyPeerTransport.Limits.forMember(maxRequest, 2L << 30);
            long big = Long.MAX_VALUE / 3; // ten-byte varints for term and index
            Message one = Message.builder(MessageType.APP).from(big).to(big).term(big).logTerm(big).index(big).commit(big)
                    .entries(List.of(new Entry(big, big, io.quorumlab.raft.EntryType.NORMAL, new byte[(int) maxRequest]))).build();
            // Raft fills an append up to its per-message limit with entries of any size, the smallest being empty.
            List<Entry> tiny = new ArrayList<>();
            long bytes = 0;
            while (bytes + Entry.OVERHEAD_BYTES <= l.maxEntriesBytes()) {
                tiny.add(new Entry(big, big + tiny.size(), io.quorumlab.raft.EntryType.NORMAL, new byte[0]));
                bytes += Entry.OVERHEAD_BYTES;
            }
            Message full = one.toBuilder().entries(tiny).build();
            for (Message m : List.of(one, full)) {
                int frame = MessageCodec.encodeFrame(m, (byte) 0).length - 4;
                assertTrue(frame <= l.maxMessageBytes(), "max request " + maxRequest + ": a frame of " + frame
                        + " bytes (" + m.entries().size() + " entries) over the limit " + l.maxMessageBytes());
            }
        }
    }

    @Test
    void aSnapshotFrameWithinItsLimitThatTricklesIsClosedAsStalled() throws Exception {
        NettyPeerTransport t = listener(FAST);
        assertTrue(FAST.maxSnapshotBytes() > (1 << 30), "the default snapshot limit should admit 1 GiB: " + FAST);
        Socket s = dial(t);
        s.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        s.getOutputStream().write(header(1 << 30, (byte) 2));
        // 50 bytes a second against a floor of 4 KiB per 300 ms: closed one to two read timeouts later.
        assertTrue(trickleUntilClosed(s, 3000), "a snapshot frame trickling a byte per 20 ms was kept open");
    }

    @Test
    void aPartialFrameThenSilenceIsClosedAfterTheReadTimeoutButAnIdleConnectionIsNot() throws Exception {
        NettyPeerTransport t = listener(FAST);
        // Another member's connection (a member's new hello replaces its own older connection).
        Socket idle = dial(t);
        idle.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, OTHER, SELF));
        idle.getOutputStream().write(heartbeat(OTHER, SELF, 1));
        Socket stalled = dial(t);
        stalled.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        byte[] hb = heartbeat(PEER, SELF, 2);
        stalled.getOutputStream().write(hb, 0, hb.length - 3);
        assertTrue(closedWithin(stalled, 3000), "a frame missing its last 3 bytes kept its connection open");
        // Between frames a connection may idle: well past two read timeouts it is still open.
        assertFalse(closedWithin(idle, 900), "an idle connection between frames was closed");
        waitDelivered(1);
        assertEquals(1, delivered.size(), delivered.toString());
        assertEquals(1, delivered.get(0).term());
    }

    @Test
    void aConnectionWithoutAHelloIsClosedAfterTheHelloTimeout() throws Exception {
        NettyPeerTransport t = listener(FAST);
        Socket silent = dial(t);
        assertTrue(closedWithin(silent, 4000), "a connection that never said hello stayed open");
    }

    @Test
    void aHelloForAnotherClusterOrAMessageFromAnotherSenderIsRefused() throws Exception {
        NettyPeerTransport t = listener(FAST);
        // Another cluster: the heartbeat behind the hello is not delivered.
        Socket foreign = dial(t);
        foreign.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER + 1, PEER, SELF));
        foreign.getOutputStream().write(heartbeat(PEER, SELF, 11));
        assertTrue(closedWithin(foreign, 1000), "a hello with another cluster id was accepted");
        // A hello for another member.
        Socket misdialed = dial(t);
        misdialed.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF + 7));
        misdialed.getOutputStream().write(heartbeat(PEER, SELF, 12));
        assertTrue(closedWithin(misdialed, 1000), "a hello addressed to another member was accepted");
        // A message whose sender is not the hello's.
        Socket spoofed = dial(t);
        spoofed.getOutputStream().write(InboundPeerConnection.helloFrame(CLUSTER, PEER, SELF));
        spoofed.getOutputStream().write(heartbeat(PEER + 5, SELF, 13));
        assertTrue(closedWithin(spoofed, 1000), "a message from another member than the hello's was accepted");
        // No hello at all: a bare Raft message.
        Socket bare = dial(t);
        bare.getOutputStream().write(heartbeat(PEER, SELF, 14));
        assertTrue(closedWithin(bare, 1000), "a Raft message without a hello was accepted");
        // A member that does not know the cluster id (it joined an existing cluster) says 0: accepted.
        Socket joiner = dial(t);
        joiner.getOutputStream().write(InboundPeerConnection.helloFrame(0, PEER, SELF));
        joiner.getOutputStream().write(heartbeat(PEER, SELF, 15));
        waitDelivered(1);
        Thread.sleep(100);
        List<Long> terms = delivered.stream().map(Message::term).toList();
        assertEquals(List.of(15L), terms, "only the joiner's heartbeat may arrive");
    }

    @Test
    void connectionsBeyondTheBoundAreRefused() throws Exception {
        // No peers configured (counted as one): 2 per peer + 1 = 3.
        NettyPeerTransport t = listener(FAST.withTimeouts(5000, 300, 4096).withConnections(2, 1));
        assertEquals(3, t.maxInboundConnections());
        List<Socket> dialed = new ArrayList<>();
        for (int i = 0; i < 4; i++) dialed.add(dial(t));
        // Connections are set up on either of the transport's two threads: which one is refused is not fixed.
        List<Socket> open = new ArrayList<>();
        int refused = 0;
        for (Socket s : dialed) {
            if (closedWithin(s, refused == 0 ? 300 : 50)) refused++;
            else open.add(s);
        }
        assertEquals(1, refused, "4 connections against a bound of 3");
        // A slot frees when one closes.
        open.get(0).close();
        Thread.sleep(200);
        Socket again = dial(t);
        assertFalse(closedWithin(again, 200), "a connection after one closed was refused");
    }

    @Test
    void twoTransportsSayHelloAndAForwardedBatchOverTheLimitIsSplit() throws Exception {
        // Small limits: 16 KiB of entries per message, 48 KiB frames.
        NettyPeerTransport.Limits small = FAST.withSizes(16 << 10, 48 << 10, 1 << 20);
        LinkedBlockingQueue<Message> got = new LinkedBlockingQueue<>();
        NettyPeerTransport b = new NettyPeerTransport(SELF, "127.0.0.1", 0, null, null, () -> CLUSTER, small);
        transports.add(b);
        b.bind();
        b.start(got::add, id -> {});
        NettyPeerTransport a = new NettyPeerTransport(PEER, "127.0.0.1", 0, null, null, () -> CLUSTER, small);
        transports.add(a);
        a.bind();
        a.start(m -> {}, id -> {});
        a.updatePeers(Map.of(SELF, "http://127.0.0.1:" + b.boundPort()));
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 10; i++) entries.add(Entry.normal(0, 0, new byte[10_000 + i]));
        Message prop = Message.builder(MessageType.PROP).from(PEER).to(SELF).entries(entries).build();
        // 10 x 10 KB proposals: 100 KB, twice the frame limit. Retry until the connection is up.
        List<Integer> sizes = new ArrayList<>();
        for (int attempt = 0; attempt < 100 && sizes.size() < 10; attempt++) {
            a.send(prop);
            Message m;
            while ((m = got.poll(50, TimeUnit.MILLISECONDS)) != null) {
                assertTrue(m.entriesBytes() <= small.maxEntriesBytes(), "a piece over the entry budget: " + m.entriesBytes());
                for (Entry e : m.entries()) sizes.add(e.data().length);
            }
        }
        List<Integer> want = new ArrayList<>();
        for (int i = 0; i < 10; i++) want.add(10_000 + i);
        assertEquals(want, sizes.subList(0, Math.min(10, sizes.size())), "the batch did not arrive whole and in order");
        // A peer of another cluster reaches nothing.
        NettyPeerTransport c = new NettyPeerTransport(3, "127.0.0.1", 0, null, null, () -> CLUSTER + 1, small);
        transports.add(c);
        c.bind();
        c.start(m -> {}, id -> {});
        c.updatePeers(Map.of(SELF, "http://127.0.0.1:" + b.boundPort()));
        got.clear();
        for (int i = 0; i < 10; i++) {
            c.send(Message.builder(MessageType.HEARTBEAT).from(3).to(SELF).term(99).build());
            Thread.sleep(30);
        }
        assertEquals(null, got.poll(200, TimeUnit.MILLISECONDS), "a member of another cluster got a message through");
    }
}
