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
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Threads and files: one thread for the member loop, one for the apply loop. The member loop is a
 * Netty event loop ({@link #memberEventLoop()}) that also runs its timers and, when the peer
 * transport is given it, the peer connections: a Raft message is read, stepped, persisted and
 * answered on one thread, and the leader's appends reach the socket without waking another thread.
 * Queues are bounded; the apply queue blocks its producer when full (the member loop then waits for
 * apply, as etcd's raft loop waits on its apply channel).
 */
public final class RealRuntime implements Runtime, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RealRuntime.class);
    private static final int MEMBER_QUEUE = 1 << 16;
    private static final int APPLY_QUEUE = 1 << 12;

    /** Linux's native epoll transport when its library loads, else NIO (the peer transport follows it). */
    static final boolean EPOLL = io.netty.channel.epoll.Epoll.isAvailable();

    private final io.netty.channel.EventLoopGroup memberGroup;
    private final io.netty.channel.EventLoop memberLoop;
    private final ThreadPoolExecutor applyLoop;
    private final RandomGenerator random;
    private final long backendBatchIntervalNanos;
    private final int backendBatchLimit;
    private final boolean walDirectIo;
    private volatile Thread applyThread;

    public RealRuntime(String name, long backendBatchIntervalMillis, int backendBatchLimit) {
        this(name, backendBatchIntervalMillis, backendBatchLimit, false);
    }

    /** {@code walDirectIo}: WAL appends bypass the page cache where the file system allows it. */
    public RealRuntime(String name, long backendBatchIntervalMillis, int backendBatchLimit, boolean walDirectIo) {
        java.util.concurrent.ThreadFactory memberThreads = r -> {
            Thread t = new Thread(r, "member-loop-" + name);
            t.setDaemon(true);
            return t;
        };
        java.util.concurrent.Executor perTask = new io.netty.util.concurrent.ThreadPerTaskExecutor(memberThreads);
        // A bounded task queue: a full member loop refuses work (RejectedExecutionException) instead of growing.
        io.netty.channel.EventLoopTaskQueueFactory bounded = max -> io.netty.util.internal.PlatformDependent.newMpscQueue(MEMBER_QUEUE);
        this.memberGroup = EPOLL
                ? new io.netty.channel.epoll.EpollEventLoopGroup(1, perTask, io.netty.util.concurrent.DefaultEventExecutorChooserFactory.INSTANCE,
                        io.netty.channel.DefaultSelectStrategyFactory.INSTANCE, io.netty.util.concurrent.RejectedExecutionHandlers.reject(), bounded)
                : new io.netty.channel.nio.NioEventLoopGroup(1, perTask, io.netty.util.concurrent.DefaultEventExecutorChooserFactory.INSTANCE,
                        java.nio.channels.spi.SelectorProvider.provider(), io.netty.channel.DefaultSelectStrategyFactory.INSTANCE,
                        io.netty.util.concurrent.RejectedExecutionHandlers.reject(), bounded);
        this.memberLoop = memberGroup.next();
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
        this.random = new SplittableRandom(new SecureRandom().nextLong());
        this.backendBatchIntervalNanos = backendBatchIntervalMillis * 1_000_000L;
        this.backendBatchLimit = backendBatchLimit;
        this.walDirectIo = walDirectIo;
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
        if (memberLoop.isShuttingDown()) return () -> {};
        ScheduledFuture<?> f;
        try {
            f = memberLoop.schedule(guard(task, "member"), delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return () -> {}; // shutting down
        }
        return () -> f.cancel(false);
    }

    @Override
    public void execute(Runnable task) {
        if (memberLoop.isShuttingDown()) return;
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
        return new FileChannelStorage(dir, walDirectIo);
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
        return memberLoop.inEventLoop();
    }

    /**
     * The member loop as a Netty event loop group of one thread: a peer transport that registers its
     * channels here reads, steps and writes Raft messages on the member loop itself.
     */
    public io.netty.channel.EventLoopGroup memberEventLoop() {
        return memberGroup;
    }

    @Override
    public boolean inApplyLoop() {
        return Thread.currentThread() == applyThread;
    }

    @Override
    public void close() {
        // Queued member tasks still run (as the executor's shutdown() did); then the loop stops.
        memberGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS);
        applyLoop.shutdown();
        try {
            memberGroup.awaitTermination(5, TimeUnit.SECONDS);
            applyLoop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
