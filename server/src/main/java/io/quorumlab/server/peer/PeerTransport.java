package io.quorumlab.server.peer;

import io.quorumlab.raft.Message;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Moves Raft messages between members. {@link #send} never blocks the member loop: each peer has a
 * bounded queue, and a message that does not fit is dropped and reported through the unreachable
 * callback (Raft then probes that follower instead of streaming to it).
 */
public interface PeerTransport extends AutoCloseable {
    /**
     * Raft's max size per append message (entry bytes), etcd's 1 MiB: the member configures its
     * {@code RawNode} with it and the transport derives its inbound frame limit from it.
     */
    long RAFT_MAX_SIZE_PER_MSG_BYTES = 1 << 20;

    /**
     * Starts listening and delivering. {@code inbound} and {@code unreachable} are invoked on the
     * transport's threads; the member hands them to its own loop.
     */
    void start(Consumer<Message> inbound, Consumer<Long> unreachable);

    /** Replaces the set of peers (member id -> peer URL); connections follow. */
    void updatePeers(Map<Long, String> peerUrls);

    /** Queues {@code m}; returns the bytes queued for the wire, or -1 if the message was dropped. */
    long send(Message m);

    /**
     * Pushes out what this thread sent since the last call (the member calls it after each Ready's
     * sends). Transports that hand every send to their own threads have nothing to do.
     */
    default void flush() {}

    /**
     * Member-to-member requests that are not Raft messages (a follower forwarding a lease keep-alive to
     * the leader). Best effort: may be dropped like any message; callers time out.
     */
    void sendControl(long to, byte[] payload);

    /** Receives control payloads: (from member id, payload), on the transport's threads. */
    void onControl(java.util.function.BiConsumer<Long, byte[]> handler);

    @Override
    void close();
}
