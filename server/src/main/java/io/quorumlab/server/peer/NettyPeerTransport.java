package io.quorumlab.server.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.quorumlab.raft.Message;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raft messages over TCP: one long-lived outbound connection per peer, frames of
 * {@code [u32 length][u8 kind][body]} (kind 0: a protobuf Raft message; kind 1: a control request
 * between members, {@code [from][to][payload]}), writes batched per flush. Each peer has a bounded queue;
 * when it is full (the peer is slow or down) the message is dropped and the member is told the
 * peer is unreachable, so the member loop never blocks on the network.
 *
 * <p>Given the member loop's event loop ({@code RealRuntime.memberEventLoop()}), every connection
 * lives on the member loop: inbound messages are decoded there and stepped without a thread hand-off,
 * and a message sent from the member loop is written to its socket at once, flushed once per
 * {@link #flush()} (the member calls it after each Ready's sends). Sends from other threads go
 * through the peer's bounded queue, drained by a task on the loop.
 */
public final class NettyPeerTransport implements PeerTransport {
    private static final Logger LOG = LoggerFactory.getLogger(NettyPeerTransport.class);
    /** Snapshots carry the whole backend; everything else is bounded by Raft's 1 MiB message limit. */
    public static final int MAX_FRAME_BYTES = Integer.MAX_VALUE - 8;
    private static final int QUEUE_MESSAGES = 4096;
    private static final long RECONNECT_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final long selfId;
    private final String listenHost;
    private final int listenPort;
    /** Linux's native epoll transport when its library loads (fewer copies and syscalls per message), else NIO. */
    private static final boolean EPOLL = io.netty.channel.epoll.Epoll.isAvailable();
    private final EventLoopGroup group;
    /** False when the group is the member loop's (the runtime shuts it down, not this transport). */
    private final boolean ownsGroup;
    private final boolean epoll;
    /** Peers written to on the loop since the last flush (event loop only; shared mode only). */
    private final java.util.ArrayList<Peer> dirty = new java.util.ArrayList<>();
    private final Runnable flushDirty = this::flush;
    private boolean flushTaskPending;

    private static EventLoopGroup newGroup() {
        java.util.concurrent.ThreadFactory tf = r -> {
            Thread t = new Thread(r, "peer-io");
            t.setDaemon(true);
            return t;
        };
        return EPOLL ? new io.netty.channel.epoll.EpollEventLoopGroup(2, tf) : new NioEventLoopGroup(2, tf);
    }
    private final Map<Long, Peer> peers = new ConcurrentHashMap<>();
    private volatile Consumer<Message> inbound;
    private volatile java.util.function.BiConsumer<Long, byte[]> control;
    /** Frame kinds: the first byte of every frame. */
    private static final byte FRAME_RAFT = 0, FRAME_CONTROL = 1;
    private volatile Consumer<Long> unreachable;
    private Channel serverChannel;
    private volatile boolean closed;

    private final io.netty.handler.ssl.SslContext serverSsl;
    private final io.netty.handler.ssl.SslContext clientSsl;
    private final String allowedCn;

    public NettyPeerTransport(long selfId, String listenHost, int listenPort) {
        this(selfId, listenHost, listenPort, null);
    }

    public NettyPeerTransport(long selfId, String listenHost, int listenPort, PeerTls tls) {
        this(selfId, listenHost, listenPort, tls, null);
    }

    /**
     * @param memberLoop the member loop's event loop group (one thread) to run every connection on, or
     *                   null for two transport threads of its own
     */
    public NettyPeerTransport(long selfId, String listenHost, int listenPort, PeerTls tls, EventLoopGroup memberLoop) {
        this.group = memberLoop != null ? memberLoop : newGroup();
        this.ownsGroup = memberLoop == null;
        this.epoll = group instanceof io.netty.channel.epoll.EpollEventLoopGroup;
        this.selfId = selfId;
        this.listenHost = listenHost;
        this.listenPort = listenPort;
        if (tls == null) {
            serverSsl = null;
            clientSsl = null;
            allowedCn = null;
            return;
        }
        try {
            this.serverSsl = tls.serverContext();
            this.clientSsl = tls.clientContext();
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot load peer TLS material (" + tls.setup().describe() + "): " + e.getMessage(), e);
        }
        this.allowedCn = tls.allowedCn();
    }

    private final Map<String, Long> lastHandshakeWarning = new ConcurrentHashMap<>();

    /** A rejected peer retries every 100 ms: say so once per host per 30 s, not ten times a second. */
    private void warnRateLimited(java.net.SocketAddress remote, Throwable cause) {
        String host = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
        long now = System.nanoTime();
        Long last = lastHandshakeWarning.get(host);
        if (last != null && now - last < 30_000_000_000L) return;
        if (lastHandshakeWarning.size() > 1024) lastHandshakeWarning.clear();
        lastHandshakeWarning.put(host, now);
        LOG.warn("peer TLS handshake failed remote={} error=\"{}\" (repeats suppressed for 30 s)", remote, cause.toString());
    }

    /** --peer-cert-allowed-cn: the client certificate's CN must match, or the connection is closed. */
    /** Set on an inbound connection once its certificate passed --peer-cert-allowed-cn. */
    private static final io.netty.util.AttributeKey<Boolean> PEER_VERIFIED = io.netty.util.AttributeKey.valueOf("quorumlab.peerVerified");

    private void checkAllowedCn(ChannelHandlerContext ctx, io.netty.handler.ssl.SslHandler ssl) {
        if (allowedCn == null || allowedCn.isEmpty()) return;
        try {
            var cert = (java.security.cert.X509Certificate) ssl.engine().getSession().getPeerCertificates()[0];
            String dn = cert.getSubjectX500Principal().getName();
            String cn = null;
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(dn).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) cn = rdn.getValue().toString();
            }
            if (!allowedCn.equals(cn)) {
                LOG.warn("rejected peer connection remote={} cn={} allowed-cn={}", ctx.channel().remoteAddress(), cn, allowedCn);
                ctx.close();
            } else {
                ctx.channel().attr(PEER_VERIFIED).set(Boolean.TRUE);
            }
        } catch (Exception e) {
            LOG.warn("rejected peer connection without a usable certificate remote={} error=\"{}\"", ctx.channel().remoteAddress(), e.toString());
            ctx.close();
        }
    }

    /** The port actually bound (useful with port 0 in tests). */
    public int boundPort() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Binds the listener; call before {@link #start} to learn the port. Idempotent. */
    public synchronized void bind() {
        if (serverChannel != null) return;
        ServerBootstrap b = new ServerBootstrap().group(group)
                .channel(epoll ? io.netty.channel.epoll.EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true) // as Go's listeners (etcd): a port in TIME_WAIT is usable
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (serverSsl != null) {
                            io.netty.handler.ssl.SslHandler ssl = serverSsl.newHandler(ch.alloc());
                            ch.pipeline().addLast(ssl);
                            ssl.handshakeFuture().addListener(f -> {
                                if (f.isSuccess()) checkAllowedCn(ch.pipeline().context(ssl), ssl);
                                else warnRateLimited(ch.remoteAddress(), f.cause());
                            });
                        }
                        ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, 4, 0, 4));
                        ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, ByteBuf buf) {
                                if (!buf.isReadable()) return;
                                // Bytes that came with the client's last handshake flight are decoded before (or
                                // after a failed) --peer-cert-allowed-cn check: nothing from an unchecked peer is used.
                                if (allowedCn != null && !allowedCn.isEmpty() && serverSsl != null
                                        && ctx.channel().attr(PEER_VERIFIED).get() == null) {
                                    return;
                                }
                                byte kind = buf.readByte();
                                if (kind == FRAME_CONTROL) {
                                    if (buf.readableBytes() < 16) return;
                                    long from = buf.readLong();
                                    long to = buf.readLong();
                                    byte[] payload = new byte[buf.readableBytes()];
                                    buf.readBytes(payload);
                                    var c = control;
                                    if (c != null && to == selfId) c.accept(from, payload);
                                    return;
                                }
                                byte[] bytes = new byte[buf.readableBytes()];
                                buf.readBytes(bytes);
                                Message m;
                                try {
                                    if (kind != FRAME_RAFT) throw new IllegalArgumentException("unknown frame kind " + kind);
                                    m = MessageCodec.decode(bytes);
                                } catch (IllegalArgumentException e) {
                                    LOG.warn("closing peer connection after a malformed frame remote={} error=\"{}\"",
                                            ctx.channel().remoteAddress(), e.getMessage());
                                    ctx.close();
                                    return;
                                }
                                Consumer<Message> in = inbound;
                                if (in != null && m.to() == selfId) in.accept(m);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                });
        try {
            serverChannel = b.bind(listenHost, listenPort).sync().channel();
        } catch (Exception e) {
            throw new IllegalStateException("cannot listen for peers on " + listenHost + ":" + listenPort + ": " + e.getMessage(), e);
        }
        LOG.info("peer transport listening address={}", serverChannel.localAddress());
    }

    @Override
    public void start(Consumer<Message> inbound, Consumer<Long> unreachable) {
        this.inbound = inbound;
        this.unreachable = unreachable;
        bind();
    }

    @Override
    public synchronized void updatePeers(Map<Long, String> peerUrls) {
        Map<Long, String> want = new HashMap<>(peerUrls);
        want.remove(selfId);
        for (Long id : peers.keySet()) {
            Peer p = peers.get(id);
            String url = want.get(id);
            if (url == null || !url.equals(p.url)) {
                peers.remove(id);
                p.close();
            }
        }
        for (Map.Entry<Long, String> e : want.entrySet()) {
            peers.computeIfAbsent(e.getKey(), id -> new Peer(id, e.getValue()));
        }
    }

    @Override
    public void sendControl(long to, byte[] payload) {
        Peer p = peers.get(to);
        if (p == null || closed) return;
        byte[] frame = java.nio.ByteBuffer.allocate(21 + payload.length).putInt(17 + payload.length).put(FRAME_CONTROL)
                .putLong(selfId).putLong(to).put(payload).array();
        p.offer(frame);
    }

    @Override
    public void onControl(java.util.function.BiConsumer<Long, byte[]> handler) {
        this.control = handler;
    }

    @Override
    public long send(Message m) {
        Peer p = peers.get(m.to());
        if (p == null || closed) return -1;
        byte[] frame = MessageCodec.encodeFrame(m, FRAME_RAFT);
        if (!p.offer(frame)) {
            Consumer<Long> u = unreachable;
            if (u != null) u.accept(m.to());
            return -1;
        }
        return frame.length;
    }

    /** Flushes what the member loop wrote since the last flush: one flush per peer per Ready. */
    @Override
    public void flush() {
        if (dirty.isEmpty()) return; // also the answer on any thread but the member loop's
        for (Peer p : dirty) {
            p.dirty = false;
            Channel ch = p.channel;
            if (ch != null) ch.flush();
        }
        dirty.clear();
    }

    private void markDirty(Peer p, Channel ch) {
        if (p.dirty) return;
        p.dirty = true;
        dirty.add(p);
        if (!flushTaskPending) {
            // A safety net for a sender that does not call flush(): a task after the current one flushes.
            flushTaskPending = true;
            ch.eventLoop().execute(() -> {
                flushTaskPending = false;
                flush();
            });
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Peer p : peers.values()) p.close();
        peers.clear();
        if (serverChannel != null) serverChannel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        if (ownsGroup) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** One outbound connection with its bounded queue. */
    private final class Peer {
        final long id;
        final String url;
        final ArrayBlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE_MESSAGES);
        private final AtomicBoolean flushScheduled = new AtomicBoolean();
        private volatile Channel channel;
        /** One dial at a time: senders on several threads (member loop, apply loop, gRPC) race to connect. */
        private final java.util.concurrent.atomic.AtomicBoolean connecting = new java.util.concurrent.atomic.AtomicBoolean();
        private volatile long nextConnectNanos;
        private volatile boolean peerClosed;
        /** Written on the loop since the last flush (event loop only). */
        boolean dirty;

        Peer(long id, String url) {
            this.id = id;
            this.url = url;
        }

        /**
         * Queues a frame ({@code [u32 length][kind][body]}); on the connection's own loop writes it at
         * once (after anything queued before it). False when the bounded queue is full.
         */
        boolean offer(byte[] frame) {
            Channel ch = channel;
            if (ch != null && ch.eventLoop().inEventLoop() && ch.isActive()) {
                if (queue.isEmpty() && ch.isWritable()) {
                    ch.write(io.netty.buffer.Unpooled.wrappedBuffer(frame), ch.voidPromise());
                } else {
                    if (!queue.offer(frame)) return false;
                    writeQueued(ch);
                }
                markDirty(this, ch);
                return true;
            }
            if (!queue.offer(frame)) return false;
            kick();
            return true;
        }

        /** Writes queued frames while the socket's buffer has room (the rest waits for writability). */
        private int writeQueued(Channel ch) {
            byte[] b;
            int n = 0;
            while (ch.isWritable() && (b = queue.poll()) != null) {
                ch.write(io.netty.buffer.Unpooled.wrappedBuffer(b), ch.voidPromise());
                n++;
            }
            return n;
        }

        void kick() {
            Channel ch = channel;
            if (ch != null && ch.isActive()) {
                if (flushScheduled.compareAndSet(false, true)) ch.eventLoop().execute(this::flush);
            } else {
                connect();
            }
        }

        private void flush() {
            flushScheduled.set(false);
            Channel ch = channel;
            if (ch == null || !ch.isActive()) return;
            // Respect the socket's write buffer: what does not fit stays queued (bounded) for later.
            if (writeQueued(ch) > 0) ch.flush();
        }

        private void connect() {
            if (peerClosed || connecting.get() || System.nanoTime() < nextConnectNanos) return;
            URI u;
            try {
                u = URI.create(url.split(",")[0].trim());
            } catch (IllegalArgumentException e) {
                LOG.warn("bad peer url member={} url={}", Long.toHexString(id), url);
                return;
            }
            if (!connecting.compareAndSet(false, true)) return;
            Channel live = channel; // set before a finished dial clears the flag: a sender that saw none may be late
            if (live != null && live.isActive()) {
                connecting.set(false);
                return;
            }
            final URI target = u;
            Bootstrap b = new Bootstrap().group(group)
                    .channel(epoll ? io.netty.channel.epoll.EpollSocketChannel.class : NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (clientSsl != null) ch.pipeline().addLast(clientSsl.newHandler(ch.alloc(), target.getHost(), target.getPort()));
                            ch.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                                    if (ctx.channel().isWritable()) kick();
                                    ctx.fireChannelWritabilityChanged();
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    });
            ChannelFuture f = b.connect(u.getHost(), u.getPort());
            f.addListener(done -> {
                if (done.isSuccess()) {
                    Channel opened = f.channel();
                    channel = opened;
                    opened.closeFuture().addListener(c -> {
                        // Only this connection's own close clears the field (never a newer connection).
                        if (channel == opened) channel = null;
                        nextConnectNanos = System.nanoTime() + RECONNECT_NANOS;
                    });
                    connecting.set(false);
                    if (peerClosed) opened.close();
                    else kick();
                } else {
                    nextConnectNanos = System.nanoTime() + RECONNECT_NANOS;
                    connecting.set(false);
                    // Messages for a peer we cannot reach are stale by the time it is back: drop them.
                    queue.clear();
                    Consumer<Long> un = unreachable;
                    if (un != null) un.accept(id);
                }
            });
        }

        void close() {
            peerClosed = true;
            Channel ch = channel;
            if (ch != null) ch.close();
            queue.clear();
        }
    }
}
