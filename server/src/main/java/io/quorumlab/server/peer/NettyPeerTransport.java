package io.quorumlab.server.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.quorumlab.raft.Message;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
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
 * {@code [u32 length][u8 kind][body]} (kind 0: a protobuf Raft message; 1: a control request between
 * members, {@code [from][to][payload]}; 2: a snapshot message; 3: the hello every connection opens with,
 * {@code [version][cluster id][from][to]}), writes batched per flush. The listener ({@link InboundPeerConnection})
 * checks each declared length against its kind's {@link Limits} before buffering it, binds the connection to the
 * hello's cluster and sender, bounds the number of inbound connections and closes stalled ones. Each peer has a bounded queue;
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
    /** The largest frame the u32 length prefix and one Java array can carry. */
    public static final int MAX_FRAME_BYTES = Integer.MAX_VALUE - 8;
    /** Raft's max size per append (entry bytes): {@link PeerTransport#RAFT_MAX_SIZE_PER_MSG_BYTES}, which the member configures. */
    public static final long RAFT_MAX_SIZE_PER_MSG_BYTES = PeerTransport.RAFT_MAX_SIZE_PER_MSG_BYTES;

    /**
     * Bounds on what a peer may make this member hold. Every member of a cluster must run with the same
     * --max-request-bytes (etcd assumes the same).
     *
     * @param maxEntriesBytes          the entry bytes one outbound Raft message carries at most: Raft's append limit or
     *                                 one entry of the largest request, whichever is more (Raft always sends one entry)
     * @param maxMessageBytes          the largest inbound frame of an ordinary Raft message (kind byte + body)
     * @param maxSnapshotBytes         the largest inbound snapshot frame (a snapshot carries the whole backend)
     * @param maxSnapshotsReceiving    connections that may hold a partly received snapshot frame at once
     * @param inboundConnectionsPerPeer inbound connections allowed per configured peer ...
     * @param inboundConnectionSlack   ... plus this many (members being added, reconnects overlapping a close)
     * @param helloTimeoutMillis       an accepted connection that has not said hello by then is closed (TLS handshake included)
     * @param readTimeoutMillis        a frame that stalls this long (less than minProgressBytes arrived) closes its connection
     * @param minProgressBytes         the least a partial frame must grow by per read timeout
     */
    public record Limits(long maxEntriesBytes, int maxMessageBytes, int maxSnapshotBytes, int maxSnapshotsReceiving,
                         int inboundConnectionsPerPeer, int inboundConnectionSlack, long helloTimeoutMillis,
                         long readTimeoutMillis, int minProgressBytes) {
        /** The floor of the Raft frame limit: see {@link #forMember}. */
        public static final int MIN_RAFT_FRAME_BYTES = 64 << 20;

        /** etcd's peer read timeout (rafthttp ConnReadTimeout). */
        public static final long READ_TIMEOUT_MILLIS = 5000;

        public Limits {
            if (maxEntriesBytes <= 0 || maxMessageBytes <= 0 || maxSnapshotBytes < maxMessageBytes || maxSnapshotsReceiving <= 0
                    || inboundConnectionsPerPeer < 0 || inboundConnectionSlack <= 0 || helloTimeoutMillis <= 0
                    || readTimeoutMillis <= 0 || minProgressBytes <= 0) {
                throw new IllegalArgumentException("bad peer transport limits");
            }
        }

        /**
         * Limits derived from the member's --max-request-bytes and --quota-backend-bytes (-1 or 0: no quota).
         * An append's encoded entries take at most ~1.6x their Raft size (protobuf framing of tiny entries),
         * hence twice the entry budget plus room for the message's own fields. A snapshot is the backend, which
         * cannot outgrow its LMDB map of twice the quota ({@code RealRuntime.backend}).
         */
        public static Limits forMember(long maxRequestBytes, long quotaBackendBytes) {
            long entries = Math.max(RAFT_MAX_SIZE_PER_MSG_BYTES, maxRequestBytes + io.quorumlab.raft.Entry.OVERHEAD_BYTES);
            // At least 64 MiB whatever this member's own --max-request-bytes: members may differ (a rolling
            // change raises it one member at a time, and etcd's peer decoders do not derive their limit from it),
            // so a raised leader's entries up to ~32 MiB still reach a follower not yet raised.
            int message = (int) Math.min(MAX_FRAME_BYTES, Math.max(MIN_RAFT_FRAME_BYTES, 2 * entries + (64 << 10)));
            long snap = quotaBackendBytes <= 0 ? MAX_FRAME_BYTES : 2 * quotaBackendBytes + (16 << 20);
            int snapshot = (int) Math.max(message, Math.min(MAX_FRAME_BYTES, snap));
            return new Limits(entries, message, snapshot, 2, 4, 16, READ_TIMEOUT_MILLIS, READ_TIMEOUT_MILLIS, 64 << 10);
        }

        /** etcd's defaults: 1.5 MiB requests, a 2 GiB quota. */
        public static Limits defaults() {
            return forMember(io.quorumlab.server.member.MemberConfig.DEFAULT_MAX_REQUEST_BYTES, 2L << 30);
        }

        public Limits withTimeouts(long helloMillis, long readMillis, int minProgress) {
            return new Limits(maxEntriesBytes, maxMessageBytes, maxSnapshotBytes, maxSnapshotsReceiving, inboundConnectionsPerPeer,
                    inboundConnectionSlack, helloMillis, readMillis, minProgress);
        }

        public Limits withConnections(int perPeer, int slack) {
            return new Limits(maxEntriesBytes, maxMessageBytes, maxSnapshotBytes, maxSnapshotsReceiving, perPeer, slack,
                    helloTimeoutMillis, readTimeoutMillis, minProgressBytes);
        }

        public Limits withSizes(long entries, int message, int snapshot) {
            return new Limits(entries, message, snapshot, maxSnapshotsReceiving, inboundConnectionsPerPeer, inboundConnectionSlack,
                    helloTimeoutMillis, readTimeoutMillis, minProgressBytes);
        }
    }
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
    private static final byte FRAME_RAFT = InboundPeerConnection.FRAME_RAFT, FRAME_CONTROL = InboundPeerConnection.FRAME_CONTROL,
            FRAME_SNAPSHOT = InboundPeerConnection.FRAME_SNAPSHOT;
    private volatile Consumer<Long> unreachable;
    private Channel serverChannel;
    private volatile boolean closed;

    private final io.netty.handler.ssl.SslContext serverSsl;
    private final io.netty.handler.ssl.SslContext clientSsl;
    private final String allowedCn;
    private final Limits limits;
    /** The cluster id said in every hello and checked in every received one; 0 when this member does not know it. */
    private final java.util.function.LongSupplier clusterId;
    private final java.util.concurrent.atomic.AtomicInteger inboundConnections = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger snapshotsReceiving = new java.util.concurrent.atomic.AtomicInteger();
    /** The live inbound connection of each peer that said hello. */
    private final java.util.concurrent.ConcurrentHashMap<Long, io.netty.channel.Channel> inboundByPeer =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final InboundPeerConnection.Sink inboundSink = new InboundPeerConnection.Sink() {
        @Override
        public long selfId() {
            return selfId;
        }

        @Override
        public long clusterId() {
            return clusterId.getAsLong();
        }

        @Override
        public boolean verified(ChannelHandlerContext ctx) {
            // Bytes that came with the client's last handshake flight are decoded before (or after a failed)
            // --peer-cert-allowed-cn check: nothing from an unchecked peer is used.
            return allowedCn == null || allowedCn.isEmpty() || serverSsl == null || ctx.channel().attr(PEER_VERIFIED).get() != null;
        }

        @Override
        public void raft(Message m) {
            Consumer<Message> in = inbound;
            if (in != null) in.accept(m);
        }

        @Override
        public void control(long from, byte[] payload) {
            var c = control;
            if (c != null) c.accept(from, payload);
        }

        @Override
        public void helloAccepted(long from, io.netty.channel.Channel ch) {
            // One live inbound connection per peer (its dialer keeps one): a new hello replaces the
            // older connection, which is stale (a dead incarnation's, left half-open without a FIN)
            // or being replaced by a reconnect. Stale ones would otherwise count against the
            // connection bound forever and lock the live peer out.
            io.netty.channel.Channel old = inboundByPeer.put(from, ch);
            ch.closeFuture().addListener(f -> inboundByPeer.remove(from, ch));
            if (old != null && old != ch && old.isActive()) {
                LOG.info("replacing older inbound peer connection from={} old={} new={}", Long.toHexString(from),
                        old.remoteAddress(), ch.remoteAddress());
                old.close();
            }
        }

        @Override
        public boolean acquireSnapshotSlot() {
            if (snapshotsReceiving.incrementAndGet() <= limits.maxSnapshotsReceiving()) return true;
            snapshotsReceiving.decrementAndGet();
            return false;
        }

        @Override
        public void releaseSnapshotSlot() {
            snapshotsReceiving.decrementAndGet();
        }

        @Override
        public void rejected(ChannelHandlerContext ctx, String reason) {
            // One line per host and kind of reason per 30 s: a refused dialer retries every 100 ms.
            warnRateLimited("rejected " + reason.split("[:=0-9]", 2)[0], ctx.channel().remoteAddress(), "closing peer connection remote="
                    + ctx.channel().remoteAddress() + " reason=\"" + reason + "\"");
        }
    };

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
        this(selfId, listenHost, listenPort, tls, memberLoop, () -> 0, Limits.defaults());
    }

    /**
     * @param clusterId this member's cluster id (0: unknown, nothing is checked against it), said in every hello
     * @param limits    frame sizes, connection count and timeouts
     */
    public NettyPeerTransport(long selfId, String listenHost, int listenPort, PeerTls tls, EventLoopGroup memberLoop,
                              java.util.function.LongSupplier clusterId, Limits limits) {
        this.clusterId = java.util.Objects.requireNonNull(clusterId, "clusterId");
        this.limits = java.util.Objects.requireNonNull(limits, "limits");
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

    private final Map<String, Long> lastWarning = new ConcurrentHashMap<>();

    /** A rejected peer retries every 100 ms: say so once per host per 30 s, not ten times a second. */
    private void warnRateLimited(java.net.SocketAddress remote, Throwable cause) {
        warnRateLimited("tls", remote, "peer TLS handshake failed remote=" + remote + " error=\"" + cause + "\"");
    }

    private void warnRateLimited(String what, java.net.SocketAddress remote, String line) {
        String host = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
        long now = System.nanoTime();
        Long last = lastWarning.get(what + host);
        if (last != null && now - last < 30_000_000_000L) return;
        if (lastWarning.size() > 1024) lastWarning.clear();
        lastWarning.put(what + host, now);
        LOG.warn("{} (repeats suppressed for 30 s)", line);
    }

    /** A few inbound connections per configured peer plus slack (dialers reconnect, members are being added). */
    int maxInboundConnections() {
        return limits.inboundConnectionsPerPeer() * Math.max(1, peers.size()) + limits.inboundConnectionSlack();
    }

    /** The limits in force (tests). */
    public Limits limits() {
        return limits;
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
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        int open = inboundConnections.incrementAndGet();
                        ch.closeFuture().addListener(f -> inboundConnections.decrementAndGet());
                        int max = maxInboundConnections();
                        if (open > max) {
                            warnRateLimited("refused", ch.remoteAddress(), "refused peer connection: " + (open - 1)
                                    + " inbound peer connections open, limit " + max);
                            ch.close();
                            return;
                        }
                        if (serverSsl != null) {
                            io.netty.handler.ssl.SslHandler ssl = serverSsl.newHandler(ch.alloc());
                            ch.pipeline().addLast(ssl);
                            ssl.handshakeFuture().addListener(f -> {
                                if (f.isSuccess()) checkAllowedCn(ch.pipeline().context(ssl), ssl);
                                else warnRateLimited(ch.remoteAddress(), f.cause());
                            });
                        }
                        ch.pipeline().addLast(new InboundPeerConnection(inboundSink, limits));
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
        if (payload.length + 17 > InboundPeerConnection.MAX_CONTROL_BYTES) {
            LOG.warn("dropping a control message to member={} of {} bytes: over the peer limit of {} bytes", Long.toHexString(to),
                    payload.length, InboundPeerConnection.MAX_CONTROL_BYTES - 17);
            return;
        }
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
        if (m.type() == io.quorumlab.raft.MessageType.PROP && m.entries().size() > 1 && m.entriesBytes() > limits.maxEntriesBytes()) {
            return sendSplit(p, m);
        }
        boolean snap = m.type() == io.quorumlab.raft.MessageType.SNAP;
        byte[] frame = MessageCodec.encodeFrame(m, snap ? FRAME_SNAPSHOT : FRAME_RAFT);
        if (frame.length - 4 > (snap ? limits.maxSnapshotBytes() : limits.maxMessageBytes())) {
            // The peer would close the connection on it, losing everything behind it: drop it here.
            LOG.warn("dropping a {} to member={} of {} bytes: over the peer frame limit of {} bytes", m.type(),
                    Long.toHexString(m.to()), frame.length - 4, snap ? limits.maxSnapshotBytes() : limits.maxMessageBytes());
            Consumer<Long> u = unreachable;
            if (u != null) u.accept(m.to());
            return -1;
        }
        if (!p.offer(frame)) {
            Consumer<Long> u = unreachable;
            if (u != null) u.accept(m.to());
            return -1;
        }
        return frame.length;
    }

    /**
     * A follower forwards a whole batch of proposals in one message; on the wire it goes as several of at most
     * {@link Limits#maxEntriesBytes} entry bytes each (etcd forwards each proposal alone), in order.
     */
    private long sendSplit(Peer p, Message m) {
        List<io.quorumlab.raft.Entry> entries = m.entries();
        long total = 0;
        int from = 0;
        while (from < entries.size()) {
            long bytes = entries.get(from).sizeBytes();
            int to = from + 1;
            while (to < entries.size() && bytes + entries.get(to).sizeBytes() <= limits.maxEntriesBytes()) bytes += entries.get(to++).sizeBytes();
            long n = send(m.toBuilder().entries(List.copyOf(entries.subList(from, to))).build());
            if (n < 0) return -1;
            total += n;
            from = to;
        }
        return total;
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
                    // The hello goes first (this listener runs on the connection's loop before any send can see it).
                    opened.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(InboundPeerConnection.helloFrame(clusterId.getAsLong(),
                            selfId, id)), opened.voidPromise());
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
