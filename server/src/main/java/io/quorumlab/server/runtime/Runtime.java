package io.quorumlab.server.runtime;

import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.random.RandomGenerator;

/**
 * Everything a member needs from the world: time, timers, its two loops, randomness, peers and
 * storage. {@link RealRuntime} uses threads, Netty and files; the simulator runs all members of a
 * cluster on one virtual-time event queue through the same interface. Member logic never touches
 * the clock, threads, {@code Random} or files directly.
 *
 * <p>Loops: the <b>member loop</b> runs Raft (ticks, messages, proposals, persisting); the
 * <b>apply loop</b> applies committed entries to the key space. Each runs its tasks one at a time,
 * in submission order. A task that blocks (an fsync) keeps its loop busy: nothing else on that loop
 * runs meanwhile, exactly as in etcd's raft goroutine.
 */
public interface Runtime {
    long nanoTime();

    /** Wall-clock milliseconds (for lease and log timestamps only; never for ordering). */
    long wallMillis();

    /** Runs {@code task} on the member loop after {@code delayNanos}. */
    Cancellable schedule(long delayNanos, Runnable task);

    /** Runs {@code task} on the member loop. */
    void execute(Runnable task);

    /** Runs {@code task} on the apply loop. */
    void executeApply(Runnable task);

    /** Seeded in the simulator; per member. */
    RandomGenerator random();

    /** Where the WAL and snapshot files live. */
    WalStorage walStorage(Path dir) throws IOException;

    /** The key space's backend (LMDB for real, memory in the simulator). */
    Backend backend(Path dir, long quotaBytes) throws IOException;

    /** Adjusts the WAL's options for this world (the simulator commits inline on virtual time). */
    default io.quorumlab.wal.WalOptions tuneWal(io.quorumlab.wal.WalOptions options) {
        return options;
    }

    /** Adjusts the key space's options for this world (the simulator has no background threads). */
    default io.quorumlab.mvcc.StoreConfig tuneStore(io.quorumlab.mvcc.StoreConfig config) {
        return config;
    }

    /**
     * True when the members of this world apply the very same entry arrays (the simulator passes
     * message objects, not bytes): a decoded entry may then be shared between them.
     */
    default boolean sharesEntryArrays() {
        return false;
    }

    /** True when called from the member loop (for assertions). */
    boolean inMemberLoop();

    /** True when called from the apply loop (for assertions). */
    boolean inApplyLoop();
}
