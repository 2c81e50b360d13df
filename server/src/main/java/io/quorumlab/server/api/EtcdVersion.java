package io.quorumlab.server.api;

/**
 * The etcd version this server claims, in Status.version and GET /version.
 *
 * <p>3.4.23 is the etcdctl this project tests against and the release whose behaviour COMPAT.md
 * describes. kube-apiserver 1.31+ parses Status.version and turns on consistent reads from its
 * watch cache only for etcd >= 3.5.13 or 3.4.31–3.5.0 (releases whose RequestProgress is
 * trustworthy); claiming 3.4.23 keeps it on quorum reads from etcd, the conservative choice until
 * our RequestProgress has been through kube's own tests. etcdctl and clientv3 only require >= 3.2.
 */
public final class EtcdVersion {
    public static final String SERVER = "3.4.23";
    /** etcd reports the cluster version as major.minor.0. */
    public static final String CLUSTER = "3.4.0";

    private EtcdVersion() {}

    /** The member's version when it reports a semantic version, else {@link #SERVER}. */
    static String orDefault(String memberVersion) {
        return memberVersion != null && memberVersion.matches("\\d+\\.\\d+\\.\\d+") ? memberVersion : SERVER;
    }
}
