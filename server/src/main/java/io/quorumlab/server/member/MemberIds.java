package io.quorumlab.server.member;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.TreeSet;

/** Member and cluster ids the way etcd derives them: SHA-1 of the identity, first 8 bytes. */
public final class MemberIds {
    private MemberIds() {}

    public static long memberId(String peerUrls, String clusterToken) {
        TreeSet<String> urls = new TreeSet<>();
        for (String u : peerUrls.split(",")) urls.add(u.trim());
        StringBuilder sb = new StringBuilder();
        for (String u : urls) sb.append(u);
        sb.append(clusterToken == null ? "" : clusterToken);
        return nonZero(sha1(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    public static long clusterId(Collection<Long> memberIds) {
        ByteBuffer b = ByteBuffer.allocate(8 * memberIds.size());
        for (long id : new TreeSet<>(memberIds)) b.putLong(id);
        return nonZero(sha1(b.array()));
    }

    private static long sha1(byte[] data) {
        try {
            return ByteBuffer.wrap(MessageDigest.getInstance("SHA-1").digest(data)).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long nonZero(long id) {
        // 63 bits: ids stay positive in Java's signed longs (and in the WAL's checks); 0 means "none".
        id &= Long.MAX_VALUE;
        return id == 0 ? 1 : id;
    }
}
