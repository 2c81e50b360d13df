package io.quorumlab.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import io.quorumlab.server.tls.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --peer-cert-allowed-cn: frames that a peer with another CN sends together with its last handshake flight
 * (a TLS 1.3 client may send application records in the same segment) must not reach the member; they
 * were decoded before the check closed the channel. Found by review in session 8.
 */
class PeerAllowedCnTest {
    @TempDir
    Path dir;

    @Test
    void framesInTheHandshakeSegmentOfARejectedCnAreNotDelivered() throws Exception {
        TestPki pki = new TestPki(dir, "ca");
        TestPki.Issued server = pki.issue("member");
        TestPki.Issued member = pki.issue("member2");
        TestPki.Issued intruder = pki.issue("intruder");
        List<Message> got = new CopyOnWriteArrayList<>();
        NettyPeerTransport t = new NettyPeerTransport(2, "127.0.0.1", 0,
                new PeerTls(server.certFile(), server.keyFile(), pki.caFile(), true, "member2"));
        try {
            t.bind();
            t.start(got::add, id -> {});
            t.updatePeers(Map.of());
            // Harness check: the allowed CN's frames arrive.
            sendInHandshakeSegment(t.boundPort(), pki, member, 7);
            waitFor(got, 1);
            assertEquals(1, got.size(), "the allowed member's heartbeat did not arrive");
            // The intruder: same CA, wrong CN. The member must see nothing from it.
            sendInHandshakeSegment(t.boundPort(), pki, intruder, 99);
            waitFor(got, 2);
            String report = "messages delivered: " + got;
            System.out.println(report);
            assertTrue(got.stream().noneMatch(m -> m.term() == 99),
                    "a peer whose certificate CN is not --peer-cert-allowed-cn got a message stepped: " + report);
        } finally {
            t.close();
        }
    }

    private static void waitFor(List<Message> got, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (got.size() < n && System.nanoTime() < deadline) Thread.sleep(20);
        Thread.sleep(200);
    }

    /** TLS 1.3 handshake over a plain socket; the client's last flight and one heartbeat frame go out in one write. */
    private static void sendInHandshakeSegment(int port, TestPki pki, TestPki.Issued who, long term) throws Exception {
        SslContext ctx = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).protocols("TLSv1.3")
                .keyManager(who.certFile().toFile(), who.keyFile().toFile()).trustManager(pki.caFile().toFile()).build();
        SSLEngine e = ctx.newEngine(ByteBufAllocator.DEFAULT, "127.0.0.1", port);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            ByteBuffer netIn = ByteBuffer.allocate(1 << 17);
            ByteBuffer netOut = ByteBuffer.allocate(1 << 17);
            ByteBuffer app = ByteBuffer.allocate(1 << 17);
            ByteArrayOutputStream held = new ByteArrayOutputStream();
            boolean serverSpoke = false;
            e.beginHandshake();
            byte[] rbuf = new byte[1 << 16];
            while (true) {
                SSLEngineResult.HandshakeStatus hs = e.getHandshakeStatus();
                if (hs == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    Runnable r;
                    while ((r = e.getDelegatedTask()) != null) r.run();
                } else if (hs == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    netOut.clear();
                    e.wrap(ByteBuffer.allocate(0), netOut);
                    netOut.flip();
                    byte[] b = new byte[netOut.remaining()];
                    netOut.get(b);
                    if (serverSpoke) held.write(b);
                    else out.write(b);
                } else if (hs == SSLEngineResult.HandshakeStatus.NEED_UNWRAP) {
                    netIn.flip();
                    SSLEngineResult r = e.unwrap(netIn, app);
                    netIn.compact();
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW || r.bytesConsumed() == 0) {
                        int n = in.read(rbuf);
                        if (n < 0) throw new java.io.EOFException("server closed during handshake");
                        netIn.put(rbuf, 0, n);
                    } else {
                        serverSpoke = true;
                    }
                } else {
                    break;
                }
            }
            Message hb = Message.builder(MessageType.HEARTBEAT).from(1).to(2).term(term).build();
            netOut.clear();
            // Every connection opens with a hello (cluster id 0: the listener knows none here).
            byte[] hello = InboundPeerConnection.helloFrame(0, 1, 2);
            byte[] frame = MessageCodec.encodeFrame(hb, (byte) 0);
            e.wrap(ByteBuffer.allocate(hello.length + frame.length).put(hello).put(frame).flip(), netOut);
            netOut.flip();
            byte[] b = new byte[netOut.remaining()];
            netOut.get(b);
            held.write(b);
            out.write(held.toByteArray()); // Finished + application data: one segment on loopback
            out.flush();
            Thread.sleep(300);
        }
    }
}
