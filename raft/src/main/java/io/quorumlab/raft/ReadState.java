package io.quorumlab.raft;

/**
 * A linearizable read is safe once the local applied index reaches {@code index}.
 * {@code context} is the caller's request id given to {@link RawNode#readIndex(byte[])}.
 */
public record ReadState(long index, byte[] context) {
    @Override
    public String toString() {
        return "read index=" + index + " ctx=" + new String(context, java.nio.charset.StandardCharsets.UTF_8);
    }
}
