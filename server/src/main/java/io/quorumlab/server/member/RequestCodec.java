package io.quorumlab.server.member;

import io.quorumlab.mvcc.api.Request;
import java.nio.ByteBuffer;

/**
 * The Raft entry payload of a client request: {@code [u8 version][i64 requestId][mvcc request]}, the
 * request in mvcc's own binary form ({@link io.quorumlab.mvcc.RequestCodec}). The request id lets the
 * proposing member find the waiting client when the entry is applied; other members ignore it.
 */
public final class RequestCodec {
    private static final byte VERSION = 1;
    private static final int HEADER_BYTES = 9;

    private RequestCodec() {}

    /** An applied entry's request and the id its proposer gave it. */
    public record Envelope(long requestId, Request request) {}

    public static byte[] encode(long requestId, Request r) {
        byte[] entry = io.quorumlab.mvcc.RequestCodec.encode(r, HEADER_BYTES);
        ByteBuffer.wrap(entry).put(VERSION).putLong(requestId);
        return entry;
    }

    /**
     * Decodes an entry; malformed input throws {@link IllegalArgumentException}. {@code shared}: other
     * members of this JVM apply the very same array (the simulator), so a decode may be shared.
     */
    public static Envelope decode(byte[] data, boolean shared) {
        if (data.length < HEADER_BYTES) throw new IllegalArgumentException("request entry too short: " + data.length + " bytes");
        ByteBuffer b = ByteBuffer.wrap(data);
        byte v = b.get();
        if (v != VERSION) throw new IllegalArgumentException("unknown request envelope version " + v);
        long id = b.getLong();
        return new Envelope(id, shared ? io.quorumlab.mvcc.RequestCodec.decodeShared(data, HEADER_BYTES)
                : io.quorumlab.mvcc.RequestCodec.decode(data, HEADER_BYTES));
    }
}
