package io.quorumlab.raft;

/**
 * The leader's window of unacknowledged append messages to one follower, bounded by count and by
 * bytes. A ring buffer of (last index, bytes) per message; freed as acknowledgements arrive.
 */
final class Inflights {
    private final int maxMessages;
    private final long maxBytes;
    private final long[] lastIndex;
    private final long[] sizes;
    private int start;
    private int count;
    private long bytes;

    Inflights(int maxMessages, long maxBytes) {
        if (maxMessages <= 0) throw new IllegalArgumentException("maxInflightMessages must be > 0");
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes <= 0 ? Long.MAX_VALUE : maxBytes;
        this.lastIndex = new long[maxMessages];
        this.sizes = new long[maxMessages];
    }

    void add(long index, long size) {
        Util.check(!full(), "inflights add while full");
        int slot = (start + count) % maxMessages;
        lastIndex[slot] = index;
        sizes[slot] = size;
        count++;
        bytes += size;
    }

    /** Frees every message whose last index is <= {@code index}. */
    void freeLE(long index) {
        while (count > 0 && lastIndex[start] <= index) {
            bytes -= sizes[start];
            start = (start + 1) % maxMessages;
            count--;
        }
        if (count == 0) start = 0;
    }

    void freeFirstOne() {
        if (count > 0) freeLE(lastIndex[start]);
    }

    boolean full() {
        return count >= maxMessages || bytes >= maxBytes;
    }

    int count() {
        return count;
    }

    long bytes() {
        return bytes;
    }

    void reset() {
        start = 0;
        count = 0;
        bytes = 0;
    }
}
