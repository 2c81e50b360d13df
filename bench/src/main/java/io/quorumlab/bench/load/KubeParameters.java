package io.quorumlab.bench.load;

import io.quorumlab.chaos.sim.Workload;
import java.lang.reflect.Field;

/**
 * The kube-apiserver client model's numbers, read from the simulator (chaos {@code Workload.defaults()}
 * and {@code ApiServerModel}) so that {@code bench kube} and {@code sim} describe the same client.
 * ApiServerModel keeps its constants package-private, so they are read reflectively; a rename there
 * fails here loudly (and in KubeParametersTest), never silently diverges.
 *
 * @param objects objects under /registry/pods/default/ (ApiServerModel.OBJECTS)
 * @param maxAttempts attempts of one request on Unavailable (ApiServerModel.MAX_ATTEMPTS)
 * @param firstBackoffNanos backoff before the second attempt, doubled each time (ApiServerModel.FIRST_BACKOFF_NANOS)
 * @param writeFraction share of etcd calls that are writes (Workload.writeFraction)
 * @param createShareOfWrites share of writes that are creates (ApiServerModel: writeFraction x 0.05)
 * @param valueBytes object size (Workload.valueBytes)
 * @param etcdCallsPerSecond one API server's etcd calls per second at the daily average
 */
public record KubeParameters(int objects, int maxAttempts, long firstBackoffNanos, double writeFraction,
                             double createShareOfWrites, int valueBytes, double etcdCallsPerSecond) {
    /** ApiServerModel decides CREATE when r < writeFraction * this (its code: {@code load.writeFraction() * 0.05}). */
    static final double SIM_CREATE_SHARE_OF_WRITES = 0.05;

    public static KubeParameters fromSimulator() {
        Workload w = Workload.defaults();
        return new KubeParameters(intConstant("OBJECTS"), intConstant("MAX_ATTEMPTS"), longConstant("FIRST_BACKOFF_NANOS"),
                w.writeFraction(), SIM_CREATE_SHARE_OF_WRITES, w.valueBytes(), w.apiRequestsPerSecond() * w.etcdCallsPerApiRequest());
    }

    private static Field field(String name) {
        try {
            Field f = Class.forName("io.quorumlab.chaos.sim.ApiServerModel").getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("the simulator's ApiServerModel." + name + " is gone: update KubeParameters", e);
        }
    }

    private static int intConstant(String name) {
        try {
            return field(name).getInt(null);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long longConstant(String name) {
        try {
            return field(name).getLong(null);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
