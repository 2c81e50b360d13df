package io.quorumlab.bench.load;

import java.util.List;
import java.util.Map;

/**
 * A benchmark workload (etcd {@code benchmark}'s put, range, txn-put, ... and kube). The driver runs
 * {@link #newClient} loops under the {@link Schedule}; the workload may also feed series of its own
 * (watch events) from its own threads through the {@link Session}.
 */
public interface Workload extends AutoCloseable {
    String name();

    /** Series the request loops record into, in {@link Operation#run}'s index order; the first is the primary. */
    List<String> seriesNames();

    /** Series the workload records itself (e.g. watch-create, event); may be empty. */
    default List<String> extraSeriesNames() {
        return List.of();
    }

    /** Before the measured run: preload keys, grant leases, open watches. */
    default void setUp(Session session) throws InterruptedException {}

    /** The request loop body of client {@code index}; called before the run starts. */
    Operation newClient(int index, Session session);

    /** After the request loops ended: e.g. wait (bounded) for watch events still in flight. */
    default void finish(Session session) throws InterruptedException {}

    /** Workload-specific counts for the report (conflicts, retries, pages...). */
    default Map<String, Long> counters() {
        return Map.of();
    }

    @Override
    default void close() {}
}
