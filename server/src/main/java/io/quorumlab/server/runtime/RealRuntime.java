package io.quorumlab.server.runtime;

import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.BackendConfig;
import io.quorumlab.mvcc.backend.LmdbBackend;
import io.quorumlab.wal.storage.FileChannelStorage;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Threads and files: one thread for the member loop, one for the apply loop, one timer thread that
 * hands due tasks to the member loop. Queues are bounded; the apply queue blocks its producer when
 * full (the member loop then waits for apply, as etcd's raft loop waits on its apply channel).
 */
public final class RealRuntime implements Runtime, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RealRuntime.class);
    private static final int MEMBER_QUEUE = 1 << 16;
    private static final int APPLY_QUEUE = 1 << 12;

    private final ThreadPoolExecutor memberLoop;
    private final ThreadPoolExecutor applyLoop;
    private final ScheduledThreadPoolExecutor timer;
    private final RandomGenerator random;
    private final long backendBatchIntervalNanos;
    private final int backendBatchLimit;
    private volatile Thread memberThread;
    private volatile Thread applyThread;

    public RealRuntime(String name, long backendBatchIntervalMillis, int backendBatchLimit) {
        this.memberLoop = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(MEMBER_QUEUE), r -> {
            Thread t = new Thread(r, "member-loop-" + name);
            t.setDaemon(true);
            memberThread = t;
            return t;
        });
        this.applyLoop = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(APPLY_QUEUE), r -> {
            Thread t = new Thread(r, "apply-loop-" + name);
            t.setDaemon(true);
            applyThread = t;
            return t;
        }, (task, executor) -> {
            // Back-pressure: the producer (the member loop) waits for room.
            try {
                if (!executor.isShutdown()) executor.getQueue().put(task);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RejectedExecutionException(e);
            }
        });
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "member-timer-" + name);
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.random = new SplittableRandom(new SecureRandom().nextLong());
        this.backendBatchIntervalNanos = backendBatchIntervalMillis * 1_000_000L;
        this.backendBatchLimit = backendBatchLimit;
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long wallMillis() {
        return System.currentTimeMillis();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        ScheduledFuture<?> f = timer.schedule(() -> execute(task), delayNanos, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    @Override
    public void execute(Runnable task) {
        if (memberLoop.isShutdown()) return;
        memberLoop.execute(guard(task, "member"));
    }

    @Override
    public void executeApply(Runnable task) {
        if (applyLoop.isShutdown()) return;
        applyLoop.execute(guard(task, "apply"));
    }

    private static Runnable guard(Runnable task, String loop) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.error("task failed on {} loop", loop, e);
            }
        };
    }

    @Override
    public RandomGenerator random() {
        return random;
    }

    @Override
    public WalStorage walStorage(Path dir) throws IOException {
        return new FileChannelStorage(dir);
    }

    @Override
    public Backend backend(Path dir, long quotaBytes) {
        BackendConfig bc = BackendConfig.defaults().withBatch(backendBatchIntervalNanos, backendBatchLimit);
        // The map must hold the quota plus room for compaction and defragmentation.
        long quota = quotaBytes <= 0 ? (2L << 30) : quotaBytes;
        bc = bc.withMapSize(Math.max(bc.mapSizeBytes(), quota * 2));
        return new LmdbBackend(dir, bc);
    }

    @Override
    public boolean inMemberLoop() {
        return Thread.currentThread() == memberThread;
    }

    @Override
    public boolean inApplyLoop() {
        return Thread.currentThread() == applyThread;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        memberLoop.shutdown();
        applyLoop.shutdown();
        try {
            memberLoop.awaitTermination(5, TimeUnit.SECONDS);
            applyLoop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
