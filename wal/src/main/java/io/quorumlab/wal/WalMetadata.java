package io.quorumlab.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Opaque member identity written at the start of every segment (etcd stores member and cluster
 * id here). Every segment of one WAL must carry the same bytes.
 */
public record WalMetadata(byte[] data) implements WalRecord {

    /** Bounded so a corrupt length can never make recovery allocate much. */
    public static final int MAX_BYTES = 64 * 1024;

    public WalMetadata {
        if (data == null) {
            data = new byte[0];
        }
        if (data.length > MAX_BYTES) {
            throw new IllegalArgumentException("metadata too large: " + data.length);
        }
        data = data.clone();
    }

    /** The layout the server uses: member id then cluster id, little-endian. */
    public static WalMetadata ofIds(long memberId, long clusterId) {
        return new WalMetadata(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(memberId).putLong(clusterId).array());
    }

    public long memberId() {
        requireIds();
        return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    public long clusterId() {
        requireIds();
        return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    private void requireIds() {
        if (data.length != 16) {
            throw new IllegalStateException("metadata is not (memberId, clusterId): " + data.length + " bytes");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WalMetadata m && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return data.length == 16
                ? "WalMetadata[memberId=" + Long.toHexString(memberId()) + ", clusterId=" + Long.toHexString(clusterId()) + "]"
                : "WalMetadata[" + data.length + " bytes]";
    }
}
