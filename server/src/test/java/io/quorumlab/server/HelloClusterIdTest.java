package io.quorumlab.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quorumlab.server.member.MemberConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Review r9w: the cluster id of a member's peer hellos was derived from --initial-cluster at every start.
 * A member of a cluster bootstrapped as {a,b,c}, restarted with --initial-cluster also listing d (added
 * since; etcd ignores --initial-* once the data dir exists), then sent another id than its peers check
 * against, and each side refused the other. Now only a member bootstrapping a new cluster sends one.
 */
class HelloClusterIdTest {

    @Test
    void onlyABootstrappingMemberSendsAClusterId() {
        Map<String, String> boot = Map.of("a", "http://10.0.0.1:2380", "b", "http://10.0.0.2:2380", "c", "http://10.0.0.3:2380");
        Map<String, String> later = new TreeMap<>(boot);
        later.put("d", "http://10.0.0.4:2380");
        MemberConfig a0 = MemberConfig.defaults("a", Path.of("/nonexistent"), boot);
        MemberConfig a1 = MemberConfig.defaults("a", Path.of("/nonexistent"), later);
        assertTrue(a0.newCluster() && a1.newCluster());
        assertTrue(a0.clusterId() != a1.clusterId(), "the flags' cluster id moves with --initial-cluster");
        assertEquals(a0.clusterId(), EtcdServer.helloClusterId(a0, false), "bootstrap: the cluster's id");
        assertEquals(0, EtcdServer.helloClusterId(a1, true), "restart: none, whatever the flags say now");
        assertEquals(0, EtcdServer.helloClusterId(a0, true));
    }
}
