package io.quorumlab.server.member;

import java.util.List;

/** One member as MemberList reports it. {@code name} and {@code clientUrls} are empty until it publishes them. */
public record MemberInfo(long id, String name, List<String> peerUrls, List<String> clientUrls, boolean learner) {
    public MemberInfo {
        name = name == null ? "" : name;
        peerUrls = List.copyOf(peerUrls);
        clientUrls = List.copyOf(clientUrls);
    }

    MemberInfo withClient(String newName, List<String> urls) {
        return new MemberInfo(id, newName, peerUrls, urls, learner);
    }

    MemberInfo withPeers(List<String> urls) {
        return new MemberInfo(id, name, urls, clientUrls, learner);
    }

    MemberInfo promoted() {
        return new MemberInfo(id, name, peerUrls, clientUrls, false);
    }

    /** Encoded for the backend: name, peer URLs, client URLs, learner flag, one per line. */
    byte[] encode() {
        return (name + "\n" + String.join(",", peerUrls) + "\n" + String.join(",", clientUrls) + "\n" + learner)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static MemberInfo decode(long id, byte[] data) {
        String[] p = new String(data, java.nio.charset.StandardCharsets.UTF_8).split("\n", -1);
        if (p.length < 4) throw new IllegalArgumentException("bad member record for " + Long.toHexString(id));
        return new MemberInfo(id, p[0], split(p[1]), split(p[2]), Boolean.parseBoolean(p[3]));
    }

    static List<String> split(String csv) {
        if (csv.isBlank()) return List.of();
        return List.of(csv.split(","));
    }
}
