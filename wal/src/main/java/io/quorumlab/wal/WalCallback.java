package io.quorumlab.wal;

/**
 * Told when an {@link Wal#append(java.util.List, HardState, WalCallback)} is durable, or why it
 * never will be. Runs on the committing thread, in queue order: keep it short, never block in it;
 * it may append again (the next request then joins the next batch).
 */
@FunctionalInterface
public interface WalCallback {

    /** @param failure null once the append's records are fsync'd (or needed no fsync); else the reason */
    void onComplete(Throwable failure);
}
