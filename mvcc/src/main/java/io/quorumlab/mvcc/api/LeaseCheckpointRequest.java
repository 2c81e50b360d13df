package io.quorumlab.mvcc.api;

import java.util.List;

/** etcdserverpb.LeaseCheckpointRequest: persists remaining TTLs so a new leader does not extend leases. */
public record LeaseCheckpointRequest(List<Checkpoint> checkpoints) implements Request {
    public record Checkpoint(long id, long remainingTtlSeconds) {}

    public LeaseCheckpointRequest { checkpoints = List.copyOf(checkpoints); }
}
