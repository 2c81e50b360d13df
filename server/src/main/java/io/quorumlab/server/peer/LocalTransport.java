package io.quorumlab.server.peer;

import io.quorumlab.raft.Message;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Members in one JVM talking through a shared hub (tests, the in-process benchmark). Messages are
 * encoded and decoded like on the wire so the codec is exercised; links can be cut.
 */
public final class LocalTransport implements PeerTransport {
    /** The switchboard several members share. */
    public static final class Hub {
        private final Map<Long, LocalTransport> members = new ConcurrentHashMap<>();
        private final Set<Long> cut = ConcurrentHashMap.newKeySet();

        public LocalTransport join(long id) {
            LocalTransport t = new LocalTransport(this, id);
            members.put(id, t);
            return t;
        }

        /** Drops every message between a and b (both directions) until {@link #heal()}. */
        public void cut(long a, long b) {
            cut.add(a * 31 + b);
            cut.add(b * 31 + a);
        }

        public void isolate(long id) {
            for (long other : members.keySet()) if (other != id) cut(id, other);
        }

        public void heal() {
            cut.clear();
        }

        void deliverControl(long from, long to, byte[] payload) {
            if (cut.contains(from * 31 + to)) return;
            LocalTransport dst = members.get(to);
            if (dst == null || dst.control == null || dst.closed) return;
            dst.control.accept(from, payload.clone());
        }

        void deliver(Message m) {
            if (cut.contains(m.from() * 31 + m.to())) return;
            LocalTransport to = members.get(m.to());
            if (to == null || to.inbound == null || to.closed) return;
            to.inbound.accept(MessageCodec.decode(MessageCodec.encode(m)));
        }
    }

    private final Hub hub;
    private final long id;
    private volatile Consumer<Message> inbound;
    private volatile java.util.function.BiConsumer<Long, byte[]> control;
    private volatile boolean closed;

    private LocalTransport(Hub hub, long id) {
        this.hub = hub;
        this.id = id;
    }

    @Override
    public void start(Consumer<Message> inbound, Consumer<Long> unreachable) {
        this.inbound = inbound;
    }

    @Override
    public void updatePeers(Map<Long, String> peerUrls) {}

    @Override
    public long send(Message m) {
        if (closed) return -1;
        hub.deliver(m);
        return m.entriesBytes() + 64;
    }

    @Override
    public void sendControl(long to, byte[] payload) {
        if (!closed) hub.deliverControl(id, to, payload);
    }

    @Override
    public void onControl(java.util.function.BiConsumer<Long, byte[]> handler) {
        this.control = handler;
    }

    @Override
    public void close() {
        closed = true;
        hub.members.remove(id, this);
    }
}
