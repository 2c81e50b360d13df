package io.quorumlab.server.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One accepted peer connection: frames {@code [u32 length][u8 kind][body]}, the first of which must be a
 * hello that binds the connection to a cluster and a sending member (etcd checks X-Etcd-Cluster-ID and
 * X-Server-From on every peer request). Every declared length is checked against its kind's limit before
 * a byte of the body is buffered, so a peer holds at most one frame of its kind's size; a frame that
 * stops arriving, or a hello that never comes, closes the connection. Any violation closes it: the
 * dialer reconnects and says hello again, and Raft resends what was lost.
 */
final class InboundPeerConnection extends ByteToMessageDecoder {
    /** What the connection hands on, and the facts it checks against (event loop thread). */
    interface Sink {
        long selfId();

        /** This member's cluster id, or 0 when it does not know it (a member that joined an existing cluster). */
        long clusterId();

        /** False while the TLS handshake's --peer-cert-allowed-cn check has not passed: frames are ignored. */
        boolean verified(ChannelHandlerContext ctx);

        void raft(Message m);

        void control(long from, byte[] payload);

        /** A connection's hello from {@code from} was accepted: older connections of that peer are replaced. */
        void helloAccepted(long from, io.netty.channel.Channel ch);

        /** Claims one of the transport-wide slots for a partly received snapshot frame; false when none is free. */
        boolean acquireSnapshotSlot();

        void releaseSnapshotSlot();

        /** Logs why a connection is closed (rate-limited per remote host by the transport). */
        void rejected(ChannelHandlerContext ctx, String reason);
    }

    static final byte FRAME_RAFT = 0, FRAME_CONTROL = 1, FRAME_SNAPSHOT = 2, FRAME_HELLO = 3;
    static final byte PROTOCOL_VERSION = 1;
    /** kind + version + cluster id + from + to. */
    static final int HELLO_LENGTH = 1 + 1 + 8 + 8 + 8;
    /** Control payloads are a kind and two or three longs; room for growth, not for data. */
    static final int MAX_CONTROL_BYTES = 4096;
    private static final int HEADER_BYTES = 5;

    private final Sink sink;
    private final NettyPeerTransport.Limits limits;

    private boolean helloDone;
    private long sender;
    private boolean rejected;
    private boolean holdsSnapshotSlot;
    /** Stall detection (event loop only): frames completed and bytes read since the previous check. */
    private long framesCompleted, framesAtLastCheck;
    private long bytesSinceCheck;
    private boolean partialAtLastCheck;
    private ScheduledFuture<?> helloTimer, stallTimer;

    InboundPeerConnection(Sink sink, NettyPeerTransport.Limits limits) {
        this.sink = sink;
        this.limits = limits;
    }

    static byte[] helloFrame(long clusterId, long from, long to) {
        return java.nio.ByteBuffer.allocate(4 + HELLO_LENGTH).putInt(HELLO_LENGTH).put(FRAME_HELLO).put(PROTOCOL_VERSION)
                .putLong(clusterId).putLong(from).putLong(to).array();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        helloTimer = ctx.executor().schedule(() -> {
            if (!helloDone) reject(ctx, "no hello within " + limits.helloTimeoutMillis() + " ms");
        }, limits.helloTimeoutMillis(), TimeUnit.MILLISECONDS);
        // Fixed delay, not rate: after the loop was busy for several periods, overdue checks must not run back to
        // back before the reads that queued meanwhile are counted.
        stallTimer = ctx.executor().scheduleWithFixedDelay(() -> checkStall(ctx), limits.readTimeoutMillis(),
                limits.readTimeoutMillis(), TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stopTimers();
        releaseSnapshot();
        super.channelInactive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        stopTimers();
        releaseSnapshot();
    }

    private void stopTimers() {
        if (helloTimer != null) helloTimer.cancel(false);
        if (stallTimer != null) stallTimer.cancel(false);
    }

    private void releaseSnapshot() {
        if (holdsSnapshotSlot) {
            holdsSnapshotSlot = false;
            sink.releaseSnapshotSlot();
        }
    }

    /**
     * etcd reads peer connections with a 5 s deadline. Here a frame that was already partial at the previous
     * check, has not completed since and grew by less than {@code minProgressBytes} is stalled: the connection
     * closes one to two read timeouts after it stopped (or slowed to a trickle). Idle between frames is fine.
     */
    private void checkStall(ChannelHandlerContext ctx) {
        boolean partial = internalBuffer().isReadable();
        if (partial && partialAtLastCheck && framesCompleted == framesAtLastCheck && bytesSinceCheck < limits.minProgressBytes()) {
            reject(ctx, "frame stalled: " + bytesSinceCheck + " bytes in " + limits.readTimeoutMillis() + " ms, "
                    + internalBuffer().readableBytes() + " bytes of a frame held");
            return;
        }
        partialAtLastCheck = partial;
        framesAtLastCheck = framesCompleted;
        bytesSinceCheck = 0;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf b) bytesSinceCheck += b.readableBytes();
        super.channelRead(ctx, msg);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (rejected || !sink.verified(ctx)) {
            // Bytes from a peer whose certificate is still unchecked (or failed the check) are never used.
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= HEADER_BYTES && !rejected) {
            int start = in.readerIndex();
            int length = in.getInt(start); // kind + body
            byte kind = in.getByte(start + 4);
            long limit = limitFor(kind);
            if (limit < 0) {
                reject(ctx, helloDone ? "unknown frame kind " + kind : "first frame is kind " + kind + ", not a hello");
                return;
            }
            if (length < 1 || length > limit) {
                reject(ctx, "frame of kind " + kind + " declares " + (length & 0xffffffffL) + " bytes, limit " + limit);
                return;
            }
            if (kind == FRAME_SNAPSHOT && !holdsSnapshotSlot) {
                if (!sink.acquireSnapshotSlot()) {
                    reject(ctx, "too many snapshots being received at once");
                    return;
                }
                holdsSnapshotSlot = true;
            }
            if (in.readableBytes() < 4 + length) return; // the cumulation grows only as bytes arrive
            ByteBuf body = in.slice(start + HEADER_BYTES, length - 1);
            in.skipBytes(4 + length);
            framesCompleted++;
            if (kind == FRAME_SNAPSHOT) releaseSnapshot();
            handle(ctx, kind, body);
        }
        if (rejected) in.skipBytes(in.readableBytes());
    }

    /** The largest frame (kind + body) allowed for {@code kind} in the connection's state, or -1 if none is. */
    private long limitFor(byte kind) {
        if (!helloDone) return kind == FRAME_HELLO ? HELLO_LENGTH : -1;
        return switch (kind) {
            case FRAME_RAFT -> limits.maxMessageBytes();
            case FRAME_SNAPSHOT -> limits.maxSnapshotBytes();
            case FRAME_CONTROL -> MAX_CONTROL_BYTES;
            default -> -1; // a second hello as well
        };
    }

    private void handle(ChannelHandlerContext ctx, byte kind, ByteBuf body) {
        long self = sink.selfId();
        if (kind == FRAME_HELLO) {
            if (body.readableBytes() != HELLO_LENGTH - 1) {
                reject(ctx, "malformed hello");
                return;
            }
            byte version = body.readByte();
            long cluster = body.readLong(), from = body.readLong(), to = body.readLong();
            long ours = sink.clusterId();
            if (version != PROTOCOL_VERSION) {
                reject(ctx, "peer protocol version " + version + ", this member speaks " + PROTOCOL_VERSION);
            } else if (cluster != 0 && ours != 0 && cluster != ours) {
                reject(ctx, "cluster ID mismatch: local=" + Long.toHexString(ours) + " remote=" + Long.toHexString(cluster)
                        + " from=" + Long.toHexString(from));
            } else if (to != self) {
                reject(ctx, "hello for member " + Long.toHexString(to) + ", this is " + Long.toHexString(self));
            } else if (from == 0 || from == self) {
                reject(ctx, "hello from member " + Long.toHexString(from));
            } else {
                helloDone = true;
                sender = from;
                helloTimer.cancel(false);
                sink.helloAccepted(from, ctx.channel());
            }
            return;
        }
        if (kind == FRAME_CONTROL) {
            if (body.readableBytes() < 16) {
                reject(ctx, "malformed control frame");
                return;
            }
            long from = body.readLong(), to = body.readLong();
            if (from != sender || to != self) {
                reject(ctx, "control frame from=" + Long.toHexString(from) + " to=" + Long.toHexString(to)
                        + " on the connection of member " + Long.toHexString(sender));
                return;
            }
            byte[] payload = new byte[body.readableBytes()];
            body.readBytes(payload);
            sink.control(from, payload);
            return;
        }
        byte[] bytes = new byte[body.readableBytes()];
        body.readBytes(bytes);
        Message m;
        try {
            m = MessageCodec.decode(bytes);
        } catch (IllegalArgumentException e) {
            reject(ctx, "malformed frame: " + e.getMessage());
            return;
        }
        if ((kind == FRAME_SNAPSHOT) != (m.type() == MessageType.SNAP)) {
            reject(ctx, "a " + m.type() + " message in a frame of kind " + kind);
        } else if (m.from() != sender || m.to() != self) {
            reject(ctx, m.type() + " from=" + Long.toHexString(m.from()) + " to=" + Long.toHexString(m.to())
                    + " on the connection of member " + Long.toHexString(sender));
        } else {
            sink.raft(m);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private void reject(ChannelHandlerContext ctx, String reason) {
        if (rejected) return;
        rejected = true;
        stopTimers();
        releaseSnapshot();
        sink.rejected(ctx, reason);
        ctx.close();
    }
}
