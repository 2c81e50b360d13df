package io.quorumlab.raft;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The leader's pending ReadIndex requests (safe mode), confirmed by heartbeat acknowledgements. */
final class ReadOnly {
    record Status(Message request, long index, Set<Long> acks) {}

    private final Map<ByteBuffer, Status> pending = new HashMap<>();
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    private final int maxPending;

    ReadOnly(int maxPending) {
        this.maxPending = maxPending;
    }

    /** Returns false when the request was not added (duplicate context or the queue is full). */
    boolean addRequest(long index, Message m) {
        ByteBuffer key = ByteBuffer.wrap(m.context());
        if (pending.containsKey(key) || queue.size() >= maxPending) return false;
        pending.put(key, new Status(m, index, new HashSet<>()));
        queue.addLast(key);
        return true;
    }

    /** Records an acknowledgement; returns the acks so far for that context, or null if unknown. */
    Set<Long> recvAck(long from, byte[] context) {
        Status s = pending.get(ByteBuffer.wrap(context));
        if (s == null) return null;
        s.acks.add(from);
        return s.acks;
    }

    /** Removes and returns every request up to and including the one with {@code context}. */
    List<Status> advance(byte[] context) {
        ByteBuffer key = ByteBuffer.wrap(context);
        if (!pending.containsKey(key)) return List.of();
        List<Status> out = new ArrayList<>();
        while (!queue.isEmpty()) {
            ByteBuffer k = queue.pollFirst();
            out.add(pending.remove(k));
            if (k.equals(key)) break;
        }
        return out;
    }

    byte[] lastPendingContext() {
        ByteBuffer k = queue.peekLast();
        return k == null ? null : k.array();
    }

    int size() {
        return queue.size();
    }

    void clear() {
        pending.clear();
        queue.clear();
    }
}
