package io.quorumlab.mvcc.api;

/**
 * etcdserverpb.ResponseHeader. The store fills {@code revision}; the member fills cluster id,
 * member id and raft term with {@link #withMember} when it answers the client.
 */
public record ResponseHeader(long clusterId, long memberId, long revision, long raftTerm) {
    public static ResponseHeader ofRevision(long revision) { return new ResponseHeader(0, 0, revision, 0); }

    public ResponseHeader withMember(long clusterId, long memberId, long raftTerm) {
        return new ResponseHeader(clusterId, memberId, revision, raftTerm);
    }
}
