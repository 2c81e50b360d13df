package io.quorumlab.raft;

import java.util.random.RandomGenerator;

/**
 * Settings of one Raft node. Ticks are the caller's unit of time (a member ticks every
 * heartbeat interval, 100 ms by default). All limits are explicit and bounded.
 *
 * @param random source for the randomised election timeout; the simulator passes a seeded one
 */
public record Config(
        long id,
        int electionTicks,
        int heartbeatTicks,
        LogStorage storage,
        long applied,
        long maxSizePerMessageBytes,
        int maxInflightMessages,
        long maxInflightBytes,
        long maxUncommittedEntriesBytes,
        long maxCommittedBytesPerReady,
        int maxPendingReadIndexMessages,
        boolean checkQuorum,
        boolean preVote,
        ReadOnlyOption readOnlyOption,
        RandomGenerator random) {

    public Config {
        if (id == 0) throw new IllegalArgumentException("id 0 is reserved for 'none'");
        if (heartbeatTicks <= 0) throw new IllegalArgumentException("heartbeatTicks must be > 0");
        if (electionTicks <= heartbeatTicks) throw new IllegalArgumentException("electionTicks must exceed heartbeatTicks");
        if (storage == null) throw new IllegalArgumentException("storage");
        if (maxInflightMessages <= 0) throw new IllegalArgumentException("maxInflightMessages must be > 0");
        if (maxSizePerMessageBytes <= 0 || maxUncommittedEntriesBytes <= 0 || maxCommittedBytesPerReady <= 0)
            throw new IllegalArgumentException("size limits must be > 0");
        if (maxPendingReadIndexMessages <= 0) throw new IllegalArgumentException("maxPendingReadIndexMessages must be > 0");
        if (readOnlyOption == ReadOnlyOption.LEASE_BASED && !checkQuorum)
            throw new IllegalArgumentException("lease-based reads need checkQuorum: followers only honour the leader's lease with it");
        if (random == null) throw new IllegalArgumentException("random: inject a seeded generator");
    }

    /**
     * etcd's defaults for a member: election 10 ticks, heartbeat 1 tick, 1 MiB messages, 512 in flight,
     * PreVote and CheckQuorum on, safe ReadIndex.
     */
    public static Config defaults(long id, LogStorage storage, RandomGenerator random) {
        return new Config(id, 10, 1, storage, 0, 1 << 20, 512, 0, 1L << 30, 64L << 20, 4096, true, true,
                ReadOnlyOption.SAFE, random);
    }

    public Config withApplied(long v) {
        return new Config(id, electionTicks, heartbeatTicks, storage, v, maxSizePerMessageBytes, maxInflightMessages,
                maxInflightBytes, maxUncommittedEntriesBytes, maxCommittedBytesPerReady, maxPendingReadIndexMessages,
                checkQuorum, preVote, readOnlyOption, random);
    }

    public Config withLimits(long maxSizePerMessageBytes, int maxInflightMessages, long maxInflightBytes, long maxUncommittedEntriesBytes) {
        return new Config(id, electionTicks, heartbeatTicks, storage, applied, maxSizePerMessageBytes, maxInflightMessages,
                maxInflightBytes, maxUncommittedEntriesBytes, maxCommittedBytesPerReady, maxPendingReadIndexMessages,
                checkQuorum, preVote, readOnlyOption, random);
    }

    public Config withElection(int electionTicks, int heartbeatTicks) {
        return new Config(id, electionTicks, heartbeatTicks, storage, applied, maxSizePerMessageBytes, maxInflightMessages,
                maxInflightBytes, maxUncommittedEntriesBytes, maxCommittedBytesPerReady, maxPendingReadIndexMessages,
                checkQuorum, preVote, readOnlyOption, random);
    }

    public Config withFlags(boolean checkQuorum, boolean preVote, ReadOnlyOption readOnlyOption) {
        return new Config(id, electionTicks, heartbeatTicks, storage, applied, maxSizePerMessageBytes, maxInflightMessages,
                maxInflightBytes, maxUncommittedEntriesBytes, maxCommittedBytesPerReady, maxPendingReadIndexMessages,
                checkQuorum, preVote, readOnlyOption, random);
    }
}
