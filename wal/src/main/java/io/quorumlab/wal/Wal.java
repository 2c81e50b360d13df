package io.quorumlab.wal;

import io.quorumlab.wal.WalFormat.SegmentName;
import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.Closeable;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead log: segment files of framed, CRC-chained records, with group commit.
 *
 * <p><b>Group commit.</b> Every append becomes a request pushed on one lock-free submission
 * stack. Whoever holds the commit lock takes the stack in one swap, restores submission order,
 * cuts off up to {@link WalOptions#maxBatchRequests()} requests, encodes them into one buffer,
 * writes once and fsyncs once, then completes them in queue order in one pass. The lock holder is
 * either the caller of {@link #save} (the member loop, which therefore blocks in fdatasync exactly
 * like etcd's raft loop) or, for {@link #append} and {@link #appendAndWait}, a group-commit
 * thread (or the appending thread itself when {@link WalOptions#backgroundCommit()} is false).
 * Requests leave the submission stack only under the lock, so a caller holding the lock always
 * finds its own request either done or still queued. The lock holder's own appends (from
 * completion callbacks) skip the stack: it is drained into the queue first, so the queue keeps
 * submission order, and the append takes a slot its batch just freed (no atomic per append).
 *
 * <p><b>Three ways to wait.</b> {@link #append(List, HardState, WalCallback)} runs a callback on
 * the committing thread (no thread wake-up, no future; a callback may append again, which is how
 * a member loop's queued requests or a pipelined client behave); {@link #appendAndWait} blocks
 * the calling thread (reused per-thread request, brief adaptive spin, then park);
 * {@link #append(List, HardState)} returns a {@link CompletableFuture}.
 *
 * <p><b>Durability.</b> A request is acknowledged only after the fsync covering its records; one
 * that needs no fsync (only the commit index moved) completes after its write. After any I/O
 * error the WAL fails stop: every later call fails, as etcd does, because the on-disk state is
 * unknown.
 */
public final class Wal implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(Wal.class);

    /** Waiters allowed to spin at once: more spinners than spare cores only steal the committer's CPU. */
    private static final int MAX_SPINNERS = Math.max(0, Runtime.getRuntime().availableProcessors() - 1);
    /** Adaptive spin bounds, in {@link Thread#onSpinWait()} calls (tens of ns each). */
    private static final int SPIN_MIN = 64;
    private static final int SPIN_MAX = 1 << 12;

    /** Split each round's time into stages for {@link WalMetrics#observeCommitStages}; off by default. */
    static final boolean STAGE_TIMING = Boolean.getBoolean("quorumlab.wal.stageTiming");

    private static final int PENDING = 0;
    private static final int PARKED = 1;
    private static final int DONE = 2;

    private static final VarHandle TOP;
    private static final VarHandle COMMITTER_PARKED;
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TOP = l.findVarHandle(Wal.class, "top", Request.class);
            COMMITTER_PARKED = l.findVarHandle(Wal.class, "committerParked", boolean.class);
            STATE = MethodHandles.privateLookupIn(Request.class, l).findVarHandle(Request.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Returned by {@link #open}: the WAL ready for appends plus what was read back. */
    public record Opened(Wal wal, Recovered recovered) {
    }

    /**
     * An append waiting for (or done with) its write and fsync. Exactly one of {@code callback},
     * {@code future}, {@code waiter} says how its owner learns the outcome. A blocking caller's
     * request is reused for its next call (one per thread), so nothing may touch a request after
     * completing it.
     */
    private static final class Request implements PendingAppend {
        /**
         * The WAL whose spinner count a blocking waiter uses while it waits; null for async requests
         * and once a blocking one is done (the per-thread request must not keep a closed WAL alive).
         */
        Wal owner;
        List<WalEntry> entries;
        HardState hardState;
        SnapshotMarker marker;
        /** Counts against {@link WalOptions#maxPendingAppends()}. */
        boolean bounded;
        WalCallback callback;
        CompletableFuture<Void> future;
        Thread waiter;
        Throwable failure;
        /** PENDING, PARKED (the waiter sleeps and needs an unpark) or DONE. */
        volatile int state;
        /** Submission-stack link, then (owned by the lock holder) the FIFO batch link. */
        Request next;
        /** Per-thread adaptive spin budget of a reused blocking request. */
        int spinBudget = SPIN_MIN;
        /** With delegated wake-ups: the batch's parked waiters; this one wakes children 2i+1, 2i+2. */
        Request[] wakeSet;
        int wakeIndex;
        int wakeCount;

        Request(Wal owner) {
            this.owner = owner;
        }

        @Override
        public void await() throws IOException {
            if (waiter != Thread.currentThread()) {
                throw new IllegalStateException("await from a thread other than the submitter");
            }
            Wal w = owner;
            if (w != null) {
                if (w.opts.backgroundCommit()) {
                    w.awaitDone(this);
                } else {
                    w.commitUntilDone(this);
                }
                release();
            }
            if (failure != null) {
                throw rethrow(failure);
            }
        }

        /** Drops what a finished request still points at (its WAL and the appended data). */
        void release() {
            owner = null;
            entries = null;
            hardState = null;
            marker = null;
        }

        Request set(List<WalEntry> entries, HardState hardState, SnapshotMarker marker, boolean bounded) {
            this.entries = entries;
            this.hardState = hardState;
            this.marker = marker;
            this.bounded = bounded;
            this.failure = null;
            this.next = null;
            STATE.set(this, PENDING); // plain write: the push CAS publishes the request
            return this;
        }
    }

    private final WalStorage storage;
    private final WalOptions opts;
    private final byte[] metadata;
    private final SegmentPipeline pipeline;
    /** Lock-free submission stack (newest first); taken whole by the commit-lock holder. */
    private volatile Request top;
    private final AtomicInteger pendingBounded = new AtomicInteger();
    private final AtomicInteger spinners = new AtomicInteger();
    /**
     * One reusable request per blocking caller thread, shared by every WAL the thread uses: no
     * allocation per blocking append. Static, and cleared of its WAL when done: a per-instance
     * ThreadLocal whose value points back at its WAL is never dropped from the thread's map, so a
     * long-lived thread (a test runner, the simulator) kept every WAL it ever used, and all they held.
     */
    private static final ThreadLocal<Request> THREAD_REQUEST = new ThreadLocal<>();
    /** Fair, so a blocked save() gets the lock after at most one round of someone else's. */
    private final ReentrantLock commitLock = new ReentrantLock(true);

    // ---- owned by the commit-lock holder ----
    private final FrameWriter writer;
    private final ArrayList<SegmentName> segments;
    /**
     * Taken from the stack, in submission order, not yet in a batch (beyond maxBatchRequests), plus
     * appends made by the lock holder itself (completion callbacks), queued here without a CAS.
     */
    private volatile Request carryHead;
    private Request carryTail;
    /**
     * Pending-append slots of the batch being completed, kept for appends its callbacks make on
     * this thread: such an append takes one instead of an atomic increment, and completion returns
     * the rest with one atomic. The shared count never drops below the true pending count.
     */
    private int slotCredit;
    /** Offset just past the current segment's header records; a cut never leaves a segment emptier. */
    private long headerEnd;
    /** Last entry index encoded so far; the lock holder's plain copy, published to lastIndex per batch. */
    private long writtenIndex;
    /** Written only under the commit lock; volatile so readers never wait behind an fsync. */
    private volatile long lastIndex;
    private volatile HardState lastHardState;
    /** Clock reading at the end of the last fsync (or write): where the batch's completion starts. */
    private long lastClock;
    /** Segment cuts since open, and how many of them rewrote a recycled file; written under the lock. */
    private volatile long cuts;
    private volatile long recycledCuts;
    /** Set under the lock by close() once its files are closed: later requests fail "closed". */
    private boolean terminated;
    /** Clock reading at the end of the previous round; only kept with {@link #STAGE_TIMING}. */
    private long roundEnd;
    /** Stage timing only: the committer parked since the last round (its gap is then reported as 0). */
    private volatile boolean idleSinceRound;

    private volatile IOException failure;
    private volatile boolean closed;
    private volatile Thread committer;
    private volatile boolean committerRunning;
    private volatile boolean committerParked;

    private Wal(WalStorage storage, WalOptions opts, byte[] metadata, List<SegmentName> segments,
                WalFile current, int currentTag, long position, int chainCrc, long headerEnd, long lastIndex,
                HardState hs) throws IOException {
        this.storage = storage;
        this.opts = opts;
        this.metadata = metadata;
        this.segments = new ArrayList<>(segments);
        this.writer = new FrameWriter(opts.writeBufferBytes(), opts.segmentBytes());
        this.writer.begin(current, position, chainCrc, this.segments.get(this.segments.size() - 1).seq(), currentTag);
        this.headerEnd = headerEnd;
        this.lastIndex = lastIndex;
        this.writtenIndex = lastIndex;
        this.lastHardState = hs;
        this.pipeline = new SegmentPipeline(storage, opts.segmentBytes(), opts.recycleSegments(), opts.segmentPreparer(),
                opts.nanoClock());
        this.pipeline.start();
    }

    // =========================================================================================
    // create / open
    // =========================================================================================

    /** True if the directory holds at least one segment. */
    public static boolean exists(WalStorage storage) throws IOException {
        for (String n : storage.list()) {
            if (SegmentName.parse(n) != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Creates a new WAL: segment 0 holds the crc record, the metadata and an empty snapshot
     * marker. It is written and fsync'd under a temporary name, then renamed, so a crash leaves
     * either no WAL or a complete one.
     */
    public static Wal create(WalStorage storage, WalOptions opts, WalMetadata metadata) throws IOException {
        if (exists(storage)) {
            throw new WalException("wal already exists in " + storage.describe());
        }
        for (String tmp : SegmentFiles.tmpFiles(storage)) {
            storage.delete(tmp);
        }
        String tmpName = "create" + WalFormat.TMP_SUFFIX;
        WalFile file = storage.create(tmpName);
        boolean ok = false;
        try {
            file.preallocate(opts.segmentBytes());
            FrameWriter w = new FrameWriter(4096, opts.segmentBytes());
            w.begin(file, 0, 0, 0, WalFormat.TAG_FIRST);
            w.writeCrc(0);
            w.writeMetadata(metadata.data());
            w.writeSnapshot(SnapshotMarker.ZERO);
            w.flush();
            long pos = w.position();
            int crc = w.chainCrc();
            file.force();
            SegmentName first = new SegmentName(0, 0);
            storage.rename(tmpName, first.fileName());
            storage.fsyncDir();
            LOG.info("wal created dir={} segment={} segment-bytes={}", storage.describe(), first.fileName(),
                    opts.segmentBytes());
            Wal wal = new Wal(storage, opts, metadata.data(), List.of(first), file, WalFormat.TAG_FIRST, pos, crc, pos, 0,
                    HardState.EMPTY);
            ok = true;
            return wal;
        } finally {
            if (!ok) {
                file.close();
            }
        }
    }

    /**
     * Opens an existing WAL, replays it and readies it for appends.
     *
     * @param start the snapshot raft restarts from (its marker must be in the WAL), or null to
     *              replay from the last snapshot marker the WAL holds
     * @throws WalCorruptException if a record other than a torn tail is damaged
     */
    public static Opened open(WalStorage storage, WalOptions opts, SnapshotMarker start) throws IOException {
        String dir = storage.describe();
        for (String tmp : SegmentFiles.tmpFiles(storage)) {
            storage.delete(tmp); // unused spares from a previous run
        }
        List<SegmentName> segs = SegmentFiles.list(storage);
        if (segs.isEmpty()) {
            throw new WalException("no wal segments in " + dir);
        }
        int first = 0;
        if (start != null) {
            first = -1;
            for (int i = 0; i < segs.size(); i++) {
                if (segs.get(i).firstIndex() <= start.index()) {
                    first = i;
                }
            }
            if (first < 0) {
                throw new WalException("wal in " + dir + " has no segment covering snapshot index " + start.index()
                        + " (oldest segment " + segs.get(0).fileName() + ")");
            }
        }
        Replay replay = new Replay(start, segs.get(first).seq() == 0);
        SegmentDecoder decoder = new SegmentDecoder();
        List<Recovered.TornTail> repairs = new ArrayList<>();
        long prevCrc = SegmentDecoder.UNKNOWN_CRC;
        SegmentDecoder.Result lastResult = null;
        long lastHeaderEnd = 0;
        int lastSeg = segs.size() - 1;
        int currentSeg = lastSeg;
        for (int i = first; i <= lastSeg; i++) {
            String name = segs.get(i).fileName();
            byte[] bytes = SegmentFiles.read(storage, name);
            boolean last = i == lastSeg;
            long[] headerEndOut = {0};
            SegmentDecoder.Result res;
            try {
                res = decoder.scan(bytes, segs.get(i).seq(), prevCrc, SegmentFiles.nextChain(storage, segs, i), last,
                        (rec, off) -> {
                    replay.accept(rec, off);
                    if (rec instanceof WalMetadata m && headerEndOut[0] == 0) {
                        headerEndOut[0] = off + WalFormat.frameBytes(m.data().length);
                    }
                });
            } catch (Replay.Bad b) {
                throw new WalCorruptException(dir, name, b.offset, b.getMessage());
            }
            if (res.outcome() == SegmentDecoder.Outcome.CORRUPT) {
                throw new WalCorruptException(dir, name, res.badOffset(), res.reason());
            }
            boolean hasHeader = res.records() >= 2; // crc + metadata, checked by the decoder order below
            if (res.outcome() == SegmentDecoder.Outcome.TORN) {
                assert last : "decoder only reports torn tails in the last segment";
                // Version 0: everything up to the last non-zero byte; version 1: the bad frame only
                // (what follows it is stale frames of the file's previous lives).
                int brokenEnd = (int) Math.max(res.validEnd(), res.damagedEnd());
                if (!hasHeader && i == first) {
                    throw new WalCorruptException(dir, name, res.validEnd(), "segment has no complete header ("
                            + res.reason() + ")");
                }
                if (!hasHeader) {
                    // Cut before its header became durable (cannot happen with our fsync order, but
                    // a truncated copy can): drop the whole segment and keep appending to the previous.
                    int segEnd = SegmentDecoder.lastNonZeroEnd(bytes, 0);
                    String broken = SegmentFiles.saveBroken(storage, name, bytes, 0, segEnd);
                    storage.delete(name);
                    storage.fsyncDir();
                    LOG.warn("wal dropped segment with torn header file={} bytes={} saved-to={} reason=\"{}\"",
                            name, segEnd, broken, res.reason());
                    repairs.add(new Recovered.TornTail(name, 0, segEnd, broken, res.reason()));
                    currentSeg = i - 1;
                    break;
                }
                String broken = SegmentFiles.saveBroken(storage, name, bytes, (int) res.validEnd(), brokenEnd);
                SegmentFiles.zeroFill(storage, name, res.validEnd(), brokenEnd);
                LOG.warn("wal truncated torn tail file={} offset={} bytes={} saved-to={} reason=\"{}\"",
                        name, res.validEnd(), brokenEnd - res.validEnd(), broken, res.reason());
                repairs.add(new Recovered.TornTail(name, res.validEnd(), brokenEnd - res.validEnd(), broken,
                        res.reason()));
            }
            if (!hasHeader) {
                throw new WalCorruptException(dir, name, res.validEnd(), "segment has no complete header");
            }
            lastResult = res;
            lastHeaderEnd = headerEndOut[0];
            prevCrc = res.endCrc() & 0xFFFFFFFFL;
        }
        if (currentSeg < lastSeg) {
            segs = segs.subList(0, currentSeg + 1); // lastResult still describes segment currentSeg
        }
        if (replay.metadata == null) {
            throw new WalCorruptException(dir, segs.get(first).fileName(), 0, "no metadata record");
        }
        if (start != null && !replay.startFound && !start.equals(SnapshotMarker.ZERO)) {
            throw new WalException("snapshot marker " + start + " not found in wal " + dir);
        }
        if (start == null && replay.baseMarker == null) {
            throw new WalCorruptException(dir, segs.get(first).fileName(), 0,
                    "no snapshot marker to start replay from");
        }
        SegmentName current = segs.get(segs.size() - 1);
        WalFile file = storage.open(current.fileName());
        Recovered rec = new Recovered(replay.metadata, replay.hardState, replay.baseMarker, replay.entriesCopy(),
                List.copyOf(repairs));
        LOG.info("wal opened dir={} segments={} snapshot-index={} last-index={} entries={} torn-tails={}",
                dir, segs.size(), rec.snapshot().index(), replay.lastIndex(), rec.entries().size(), repairs.size());
        // Only bounds how empty a segment may be when cut (never cut a header-only segment).
        long headerEnd = Math.max(lastHeaderEnd, WalFormat.frameBytes(WalFormat.CRC_BYTES));
        Wal wal;
        try {
            wal = new Wal(storage, opts, replay.metadata.data(), segs, file, lastResult.tag(), lastResult.validEnd(),
                    lastResult.endCrc(), headerEnd, replay.lastIndex(), replay.hardState);
        } catch (IOException | RuntimeException e) {
            file.close(); // e.g. the head of a partial block could not be read back for direct writes
            throw e;
        }
        return new Opened(wal, rec);
    }

    /**
     * Snapshot markers a restart could use, oldest first: those the final hard state's commit
     * covers (etcd's ValidSnapshotEntries). Read-only; tolerates a torn tail.
     */
    public static List<SnapshotMarker> validSnapshotMarkers(WalStorage storage) throws IOException {
        List<SnapshotMarker> markers = new ArrayList<>();
        HardState[] hs = {HardState.EMPTY};
        List<SegmentName> segs = SegmentFiles.list(storage);
        SegmentDecoder decoder = new SegmentDecoder();
        long prevCrc = SegmentDecoder.UNKNOWN_CRC;
        for (int i = 0; i < segs.size(); i++) {
            String name = segs.get(i).fileName();
            SegmentDecoder.Result res = decoder.scan(SegmentFiles.read(storage, name), segs.get(i).seq(), prevCrc,
                    SegmentFiles.nextChain(storage, segs, i), i == segs.size() - 1,
                    (rec, off) -> {
                        if (rec instanceof SnapshotMarker m) {
                            markers.add(m);
                        } else if (rec instanceof HardState h) {
                            hs[0] = h;
                        }
                    });
            if (res.outcome() == SegmentDecoder.Outcome.CORRUPT) {
                throw new WalCorruptException(storage.describe(), name, res.badOffset(), res.reason());
            }
            prevCrc = res.endCrc() & 0xFFFFFFFFL;
        }
        markers.removeIf(m -> m.index() > hs[0].commit());
        return markers;
    }

    // =========================================================================================
    // appends
    // =========================================================================================

    /**
     * Appends entries and a hard state and returns once they are durable (fdatasync'd when
     * needed). Meant for the member loop: the calling thread blocks in write and fsync, and its
     * batch also carries whatever other appends are queued.
     */
    public void save(List<WalEntry> entries, HardState hardState) throws IOException {
        if (entries.isEmpty() && (hardState == null || hardState.isEmpty())) {
            return;
        }
        submitAndCommit(blockingRequest().set(entries, hardState, null, false));
    }

    /** Records a snapshot marker and fsyncs it (etcd's SaveSnapshot). */
    public void saveSnapshot(SnapshotMarker marker) throws IOException {
        submitAndCommit(blockingRequest().set(List.of(), null, marker, false));
    }

    /**
     * Queues an append; {@code callback} runs once its records are durable (or with the reason
     * they never will be), in queue order, on the committing thread, so it must be short and must
     * not block; it may append again. No thread is woken and nothing but the request itself is
     * allocated. Answers {@link WalOverloadedException} through the callback, before returning,
     * when {@link WalOptions#maxPendingAppends()} appends are already pending. The list and the
     * entries' data arrays are not copied: do not modify them until the callback ran.
     */
    public void append(List<WalEntry> entries, HardState hardState, WalCallback callback) {
        if (callback == null) {
            throw new IllegalArgumentException("callback is required");
        }
        boolean holder = commitLock.isHeldByCurrentThread();
        Throwable refused = admit(holder);
        if (refused != null) {
            callback.onComplete(refused);
            return;
        }
        Request r = new Request(null).set(entries, hardState, null, true);
        r.callback = callback;
        submitAsync(r, holder);
    }

    /**
     * Queues an append; the future completes once its records are durable, in queue order, from
     * the committing thread (keep callbacks short). Fails immediately with
     * {@link WalOverloadedException} when {@link WalOptions#maxPendingAppends()} are already queued.
     * The list and the entries' data arrays are not copied: do not modify them until it completes.
     */
    public CompletableFuture<Void> append(List<WalEntry> entries, HardState hardState) {
        boolean holder = commitLock.isHeldByCurrentThread();
        Throwable refused = admit(holder);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        Request r = new Request(null).set(entries, hardState, null, true);
        CompletableFuture<Void> f = new CompletableFuture<>();
        r.future = f;
        submitAsync(r, holder);
        return f;
    }

    /**
     * Appends and blocks the calling thread until durable: {@code submit(entries, hardState).await()}.
     */
    public void appendAndWait(List<WalEntry> entries, HardState hardState) throws IOException {
        submit(entries, hardState).await();
    }

    /**
     * Queues an append for a blocking caller; {@link PendingAppend#await()} then blocks until it is
     * durable. Unlike {@link #save}, the commit is left to the group-commit thread (with
     * {@link WalOptions#backgroundCommit()}; in caller-runs mode whoever gets the lock commits), so
     * many threads share fsyncs without queueing on the commit lock. The waiter spins briefly
     * (adaptively, at most one spinner per spare core) before parking. The handle is this thread's
     * reused request: await it before the next submit. Counts against
     * {@link WalOptions#maxPendingAppends()} and throws {@link WalOverloadedException} beyond it.
     */
    public PendingAppend submit(List<WalEntry> entries, HardState hardState) throws IOException {
        Request r = blockingRequest();
        Throwable refused = admit(commitLock.isHeldByCurrentThread());
        if (refused != null) {
            r.owner = null;
            throw rethrow(refused);
        }
        r.set(entries, hardState, null, true);
        push(r);
        if (closed) {
            drainAfterClose();
        } else if (opts.backgroundCommit()) {
            wakeCommitter();
        } // caller-runs mode: await() commits, outside whatever lock ordered this submit
        return r;
    }

    /** A blocking caller's queued append (see {@link #submit}). */
    public interface PendingAppend {
        /** Returns once durable; throws what made it fail. Idempotent. */
        void await() throws IOException;
    }

    private Request waiterRequest() {
        Request r = new Request(this);
        r.waiter = Thread.currentThread();
        r.state = DONE;
        return r;
    }

    /**
     * This thread's reusable request, or a fresh one if it is still in flight (a completion
     * callback of a batch that also holds this thread's own save() calling save() again).
     */
    private Request blockingRequest() {
        Request r = THREAD_REQUEST.get();
        if (r == null) {
            r = waiterRequest();
            THREAD_REQUEST.set(r);
            return r;
        }
        if (r.state != DONE) {
            return waiterRequest();
        }
        r.owner = this;
        return r;
    }

    /** Reserves a slot of the bounded pending count, or says why not; {@code holder}: the caller holds the commit lock. */
    private Throwable admit(boolean holder) {
        IOException f = failure;
        if (f != null) {
            return new WalException("wal failed", f);
        }
        if (closed) {
            return closedError();
        }
        if (holder && slotCredit > 0) {
            slotCredit--; // a slot a just-completed request freed, still counted in pendingBounded
            return null;
        }
        if (pendingBounded.incrementAndGet() > opts.maxPendingAppends()) {
            pendingBounded.decrementAndGet();
            return new WalOverloadedException(opts.maxPendingAppends());
        }
        return null;
    }

    private void submitAsync(Request r, boolean holder) {
        if (holder) {
            enqueueAsHolder(r); // from a completion callback: no CAS, and the holder needs no wake-up
            return;
        }
        push(r);
        if (closed) {
            drainAfterClose(); // close() may have finished draining before our push
            return;
        }
        if (opts.backgroundCommit()) {
            wakeCommitter();
        } else {
            drainWhileUncontended();
        }
    }

    /**
     * Blocks until the committer marks {@code r} done: spin first when the last waits of this
     * thread were short enough to be caught spinning (budget doubles on success, halves on
     * failure) and a spare core exists, then park.
     */
    private void awaitDone(Request r) {
        if (r.state == DONE) {
            return;
        }
        int budget = r.spinBudget;
        if (MAX_SPINNERS > 0 && spinners.incrementAndGet() <= MAX_SPINNERS) {
            try {
                for (int i = 0; i < budget; i++) {
                    if (r.state == DONE) {
                        r.spinBudget = Math.min(SPIN_MAX, budget << 1);
                        return;
                    }
                    Thread.onSpinWait();
                }
            } finally {
                spinners.decrementAndGet();
            }
            r.spinBudget = Math.max(SPIN_MIN, budget >> 1);
        } else {
            if (MAX_SPINNERS > 0) {
                spinners.decrementAndGet();
            }
        }
        if (!STATE.compareAndSet(r, PENDING, PARKED)) {
            return; // became DONE meanwhile
        }
        while (r.state != DONE) {
            LockSupport.park(this);
        }
        Request[] set = r.wakeSet; // published before DONE by the committer
        if (set != null) {
            r.wakeSet = null;
            int child = 2 * r.wakeIndex + 1;
            if (child < r.wakeCount) {
                LockSupport.unpark(set[child].waiter);
            }
            if (child + 1 < r.wakeCount) {
                LockSupport.unpark(set[child + 1].waiter);
            }
        }
    }

    /**
     * Lets the WAL delete segments no longer needed to replay from a snapshot at {@code index},
     * keeping at most {@link WalOptions#maxWals()} (0 keeps all). Released files go to the recycle pool
     * ({@link WalOptions#recycleSegments()}) or are deleted. Returns how many were released.
     */
    public int releaseTo(long index) throws IOException {
        commitLock.lock();
        try {
            if (opts.maxWals() == 0) {
                return 0;
            }
            int keepFrom = 0;
            for (int i = 0; i < segments.size(); i++) {
                if (segments.get(i).firstIndex() <= index) {
                    keepFrom = i;
                }
            }
            int released = 0;
            List<String> toRecycle = null;
            try {
            while (keepFrom > 0 && segments.size() > opts.maxWals()) {
                SegmentName victim = segments.remove(0);
                int offered = toRecycle == null ? 0 : toRecycle.size();
                if (failure == null && !closed && pipeline.wantsRecycled(offered)) {
                    // Kept to be rewritten in place as a later segment (its stale frames carry
                    // another tag and sequence, so they read as the end of the new segment's log).
                    String tmp = pipeline.recycleName();
                    storage.rename(victim.fileName(), tmp);
                    if (toRecycle == null) {
                        toRecycle = new ArrayList<>();
                    }
                    toRecycle.add(tmp);
                    LOG.info("wal released segment file={} recycled-as={}", victim.fileName(), tmp);
                } else {
                    storage.delete(victim.fileName());
                    LOG.info("wal released segment file={}", victim.fileName());
                }
                keepFrom--;
                released++;
            }
            if (released > 0) {
                // The old names must be durably gone before a recycled file is overwritten: a
                // crash must never bring back a segment name over rewritten contents.
                storage.fsyncDir();
            }
            } catch (IOException e) {
                // A rename, delete or directory fsync that failed leaves the directory in a state this
                // process cannot vouch for: fail-stop like any other WAL I/O error (renamed files are
                // not offered for reuse; open() deletes leftover .tmp files).
                if (failure == null) failure = e;
                LOG.error("wal release failed; the wal is now failed-stop dir={} error=\"{}\"", storage.describe(), e.toString());
                throw e;
            }
            if (toRecycle != null) {
                for (String tmp : toRecycle) {
                    pipeline.offerRecycled(tmp);
                }
            }
            assert !segments.isEmpty() : "the current segment is never released";
            return released;
        } finally {
            commitLock.unlock();
        }
    }

    /** Segment cuts since this WAL was created or opened. */
    public long segmentCuts() {
        return cuts;
    }

    /** Those of {@link #segmentCuts()} that rewrote a released segment file instead of a zero-filled one. */
    public long recycledSegmentCuts() {
        return recycledCuts;
    }

    /** Index of the last entry written (not necessarily fsync'd yet). */
    public long lastIndex() {
        return lastIndex;
    }

    /** The last hard state written (not necessarily fsync'd yet). */
    public HardState hardState() {
        return lastHardState;
    }

    /** Current segment file names, oldest first. */
    public List<String> segmentNames() {
        commitLock.lock();
        try {
            List<String> out = new ArrayList<>(segments.size());
            for (SegmentName s : segments) {
                out.add(s.fileName());
            }
            return out;
        } finally {
            commitLock.unlock();
        }
    }

    /** Completes queued appends, fsyncs, stops the helper threads. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        Thread t;
        synchronized (this) {
            t = committer;
            committerRunning = false;
        }
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        commitLock.lock();
        try {
            while (commitRound()) {
                // drain what was queued before close
            }
            if (failure == null) {
                writer.flush();
                fsync(writer.file());
            }
        } finally {
            terminated = true;
            commitLock.unlock();
            pipeline.close();
            writer.file().close();
        }
        if (failure != null) {
            throw new WalException("wal had failed before close", failure);
        }
    }

    // =========================================================================================
    // group commit
    // =========================================================================================

    private void push(Request r) {
        Request h;
        do {
            h = top;
            r.next = h;
        } while (!TOP.compareAndSet(this, h, r));
    }

    private boolean hasQueued() {
        return top != null || carryHead != null;
    }

    /**
     * Takes the next batch (FIFO, at most maxBatchRequests) as a chain linked by {@code next}.
     * Lock holder only. Returns null when nothing is queued.
     */
    private Request takeBatch() {
        drainStack();
        Request head = carryHead;
        if (head == null) {
            return null;
        }
        Request end = head;
        for (int n = 1; n < opts.maxBatchRequests() && end.next != null; n++) {
            end = end.next;
        }
        carryHead = end.next;
        if (carryHead == null) {
            carryTail = null;
        }
        end.next = null;
        return head;
    }

    /** Moves the submission stack, in submission order, to the end of the carry queue. Lock holder only. */
    private void drainStack() {
        if (top == null) {
            return;
        }
        Request stack = (Request) TOP.getAndSet(this, null);
        if (stack == null) {
            return;
        }
        Request fifo = null;
        Request last = stack;
        while (stack != null) {
            Request n = stack.next;
            stack.next = fifo;
            fifo = stack;
            stack = n;
        }
        if (carryHead == null) {
            carryHead = fifo;
        } else {
            carryTail.next = fifo;
        }
        carryTail = last;
    }

    /**
     * Queues an append made by the lock holder (a completion callback). Whatever is on the stack
     * was submitted earlier, so it goes first: the queue stays in submission order.
     */
    private void enqueueAsHolder(Request r) {
        assert commitLock.isHeldByCurrentThread();
        drainStack();
        r.next = null;
        if (carryHead == null) {
            carryHead = r;
        } else {
            carryTail.next = r;
        }
        carryTail = r;
        if (opts.backgroundCommit() && Thread.currentThread() != committer) {
            wakeCommitter(); // a save() caller's callback: the committer thread takes it from here
        }
    }

    private void wakeCommitter() {
        Thread t = committer;
        if (t == null) {
            LockSupport.unpark(committerThread());
        } else if (committerParked && COMMITTER_PARKED.compareAndSet(this, true, false)) {
            LockSupport.unpark(t);
        }
    }

    /** save()/saveSnapshot(), and appendAndWait in caller-runs mode: commit until our request is done. */
    private void submitAndCommit(Request r) throws IOException {
        try {
            commitOwn(r);
        } finally {
            r.release();
        }
    }

    private void commitOwn(Request r) throws IOException {
        IOException f = failure;
        if (f != null) {
            if (r.bounded) {
                pendingBounded.decrementAndGet();
            }
            r.state = DONE; // never queued: the thread may reuse it
            throw new WalException("wal failed earlier", f);
        }
        if (closed) {
            if (r.bounded) {
                pendingBounded.decrementAndGet();
            }
            r.state = DONE;
            throw closedError();
        }
        push(r);
        commitLock.lock();
        try {
            while (r.state != DONE && commitRound()) {
                // our request is queued behind others; keep committing until it is in a batch
            }
        } finally {
            commitLock.unlock();
        }
        if (!opts.backgroundCommit()) {
            drainWhileUncontended(); // appends that lost the race for the lock to us
        }
        assert r.state == DONE : "requests leave the queue only under the lock";
        if (r.failure != null) {
            throw rethrow(r.failure);
        }
    }

    /** Caller-runs mode: no committer thread to wait for, so commit (for everyone) until ours is done. */
    private void commitUntilDone(Request r) {
        if (r.state == DONE) {
            return;
        }
        commitLock.lock();
        try {
            while (r.state != DONE && commitRound()) {
                // our request is queued behind others
            }
        } finally {
            commitLock.unlock();
        }
        // No draining for others here: each submitter commits its own request in its await().
        assert r.state == DONE : "requests leave the queue only under the lock";
    }

    private static IOException rethrow(Throwable c) {
        if (c instanceof IOException io) {
            return io;
        }
        if (c instanceof RuntimeException re) {
            throw re;
        }
        return new WalException("append failed", c);
    }

    /**
     * Caller-runs mode: commit until the queue is empty unless someone else holds the lock. The
     * check after unlocking closes the race where an append was queued just before we unlocked.
     */
    private void drainWhileUncontended() {
        if (commitLock.isHeldByCurrentThread()) {
            return; // called from a completion callback: the outer round keeps draining
        }
        while (hasQueued() && commitLock.tryLock()) {
            try {
                commitRound();
            } finally {
                commitLock.unlock();
            }
        }
    }

    /** A push that raced with close(): fail whatever close() did not drain. */
    private void drainAfterClose() {
        if (commitLock.isHeldByCurrentThread()) {
            return;
        }
        commitLock.lock();
        try {
            while (commitRound()) {
                // terminated rounds fail requests with "closed"; earlier ones still commit
            }
        } finally {
            commitLock.unlock();
        }
    }

    private synchronized Thread committerThread() {
        if (committer == null && !closed) {
            committerRunning = true;
            committer = new Thread(this::committerLoop, "wal-group-commit");
            committer.setDaemon(true);
            committer.start();
        }
        return committer;
    }

    private void committerLoop() {
        while (committerRunning) {
            if (!hasQueued()) {
                committerParked = true;
                // Re-check after publishing "parked": a push that missed the flag is seen here.
                if (!hasQueued() && committerRunning) {
                    if (STAGE_TIMING) {
                        idleSinceRound = true; // the next round's gap would be idle time, not overhead
                    }
                    LockSupport.park(this);
                }
                committerParked = false;
                continue;
            }
            // One round per lock hold: the fair lock then hands over to a waiting save() (the
            // member loop) between rounds instead of starving it under sustained async load.
            commitLock.lock();
            try {
                commitRound();
            } finally {
                commitLock.unlock();
            }
        }
    }

    /** One batch: encode, write once, fsync once if any request needs it. False if idle. */
    private boolean commitRound() {
        assert commitLock.isHeldByCurrentThread();
        long r0 = STAGE_TIMING ? opts.nanoClock().getAsLong() : 0;
        Request head = takeBatch();
        if (head == null) {
            return false;
        }
        if (terminated) {
            completeAll(head, closedError(), countBounded(head));
            return true;
        }
        IOException failed = failure;
        if (failed != null) {
            completeAll(head, new WalException("wal failed earlier", failed), countBounded(head));
            return true;
        }
        int requests = 0;
        int bounded = 0;
        LongSupplier clock = opts.nanoClock();
        long t0 = clock.getAsLong();
        long encoded = 0;
        long t1 = t0;
        try {
            WalMetrics metrics = opts.metrics();
            boolean sync = false;
            for (Request r = head; r != null; r = r.next) {
                requests++;
                if (r.bounded) {
                    bounded++;
                }
                String bad = validate(r);
                if (bad != null) {
                    r.failure = new IllegalArgumentException(bad);
                    continue;
                }
                sync |= encode(r);
            }
            lastIndex = writtenIndex; // one volatile write per batch, before the bytes leave
            // Direct writes reach the device inside write(), which buffered writes leave to
            // fdatasync: the fsync metric then starts before the write, so that it means the same
            // in both modes (the time to durability once the bytes are handed over).
            boolean direct = writer.direct();
            if (STAGE_TIMING || direct) {
                encoded = clock.getAsLong();
            }
            writer.flush();
            long written = writer.takeBytesWritten();
            if (written > 0) {
                t1 = clock.getAsLong();
                metrics.addWriteBytes(written);
                metrics.observeWriteNanos(t1 - t0);
            } else if (STAGE_TIMING) {
                t1 = clock.getAsLong();
            }
            if (sync) {
                fsync(writer.file(), direct ? encoded : t1);
            } else {
                lastClock = t1;
            }
        } catch (IOException | RuntimeException e) {
            IOException io = e instanceof IOException x ? x : new WalException("wal append failed", e);
            failure = io;
            writer.discard();
            LOG.error("wal append failed; the wal is now failed-stop dir={} error=\"{}\"", storage.describe(),
                    e.toString());
            completeAll(head, new WalException("wal append failed", io), countBounded(head));
            return true;
        }
        long c0 = lastClock;
        completeAll(head, null, bounded);
        long end = clock.getAsLong();
        opts.metrics().observeBatch(requests, end - c0);
        if (STAGE_TIMING) {
            long gap = roundEnd == 0 || idleSinceRound ? 0 : r0 - roundEnd;
            idleSinceRound = false;
            opts.metrics().observeCommitStages(requests, gap, t0 - r0,
                    encoded - t0, t1 - encoded, c0 - t1, end - c0);
            roundEnd = end;
        }
        return true;
    }

    private static int countBounded(Request head) {
        int bounded = 0;
        for (Request b = head; b != null; b = b.next) {
            if (b.bounded) {
                bounded++;
            }
        }
        return bounded;
    }

    /**
     * Completes a batch in queue order in one pass: a blocking waiter is marked done and unparked
     * only if it had parked (a spinning one sees the mark); callbacks and futures run here.
     * With {@link WalOptions#delegateWakeups()}, parked waiters are linked into a wake tree first,
     * marked done together, and only the root is unparked here; the waiters wake each other.
     * {@code error}, if set, overrides each request's own outcome. {@code bounded} is how many of
     * them count against maxPendingAppends.
     */
    private void completeAll(Request head, Throwable error, int bounded) {
        boolean delegate = opts.delegateWakeups();
        Request[] parked = null;
        int nParked = 0;
        // The batch's slots stay counted as credit for appends its callbacks make (a callback may
        // complete a nested round through save(): keep the outer round's credit aside).
        int outerCredit = slotCredit;
        slotCredit = bounded;
        try {
            Request r = head;
            while (r != null) {
                Request next = r.next; // read first: a completed blocking request may be reused at once
                Throwable outcome = error != null ? error : r.failure;
                Thread waiter = r.waiter;
                if (waiter != null) {
                    r.failure = outcome;
                    if (!delegate) {
                        if ((int) STATE.getAndSet(r, DONE) == PARKED) {
                            LockSupport.unpark(waiter);
                        }
                    } else if ((int) STATE.compareAndExchange(r, PENDING, DONE) == PARKED) {
                        if (parked == null) {
                            parked = new Request[16];
                        } else if (nParked == parked.length) {
                            parked = java.util.Arrays.copyOf(parked, nParked * 2);
                        }
                        parked[nParked++] = r; // marked done below, once the wake tree is linked
                    }
                } else {
                    // Nobody polls the state of a callback or future request: no volatile write here.
                    WalCallback callback = r.callback;
                    CompletableFuture<Void> future = r.future;
                    if (callback != null) {
                        try {
                            callback.onComplete(outcome);
                        } catch (RuntimeException e) {
                            LOG.error("wal append callback threw; ignored error=\"{}\"", e.toString());
                        }
                    } else if (outcome == null) {
                        future.complete(null);
                    } else {
                        future.completeExceptionally(outcome);
                    }
                }
                r = next;
            }
        } finally {
            if (slotCredit > 0) {
                pendingBounded.addAndGet(-slotCredit); // the unused rest, one atomic per batch
            }
            slotCredit = outerCredit;
        }
        if (nParked > 0) {
            for (int i = 0; i < nParked; i++) {
                parked[i].wakeSet = parked;
                parked[i].wakeIndex = i;
                parked[i].wakeCount = nParked;
            }
            for (int i = 0; i < nParked; i++) {
                parked[i].state = DONE;
            }
            LockSupport.unpark(parked[0].waiter);
        }
    }

    /** Raft's invariants on what may be appended; a violation is a caller bug, reported to it alone. */
    private String validate(Request r) {
        List<WalEntry> es = r.entries;
        if (!es.isEmpty()) {
            long firstIdx = es.get(0).index();
            if (firstIdx > writtenIndex + 1) {
                return "gap: first entry " + firstIdx + " after last index " + writtenIndex;
            }
            if (firstIdx <= lastHardState.commit()) {
                return "entry " + firstIdx + " would overwrite committed index " + lastHardState.commit();
            }
            for (int i = 1; i < es.size(); i++) {
                if (es.get(i).index() != es.get(i - 1).index() + 1) {
                    return "entries not contiguous at " + es.get(i).index();
                }
            }
        }
        HardState hs = r.hardState;
        if (hs != null && !hs.isEmpty() && hs.term() < lastHardState.term()) {
            return "hard state term went backwards: " + hs.term() + " < " + lastHardState.term();
        }
        return null;
    }

    /** Encodes one request; returns whether it needs an fsync before it may be acknowledged. */
    private boolean encode(Request r) throws IOException {
        boolean sync = false;
        if (r.marker != null) {
            ensureRoom(WalFormat.frameBytes(WalFormat.SNAPSHOT_BYTES));
            writer.writeSnapshot(r.marker);
            // A snapshot from the leader can jump past our log: entries continue after it.
            if (r.marker.index() > writtenIndex) {
                writtenIndex = r.marker.index();
            }
            sync = true;
        }
        List<WalEntry> es = r.entries;
        if (es instanceof RandomAccess) {
            for (int i = 0, n = es.size(); i < n; i++) {
                encodeEntry(es.get(i));
                sync = true;
            }
        } else {
            for (WalEntry e : es) {
                encodeEntry(e);
                sync = true;
            }
        }
        HardState hs = r.hardState;
        if (hs != null && !hs.isEmpty() && !hs.equals(lastHardState)) {
            sync |= lastHardState.needsSyncTo(hs);
            ensureRoom(WalFormat.frameBytes(WalFormat.HARDSTATE_BYTES));
            writer.writeHardState(hs);
            lastHardState = hs;
        }
        return sync;
    }

    private void encodeEntry(WalEntry e) throws IOException {
        ensureRoom(FrameWriter.entryFrameBytes(e));
        writer.writeEntry(e);
        writtenIndex = e.index();
    }

    private void ensureRoom(int frameBytes) throws IOException {
        if (writer.position() + frameBytes > opts.segmentBytes() && writer.position() > headerEnd) {
            cut();
        }
    }

    /**
     * Closes the current segment and starts the next from the prepared spare: the old one is
     * fsync'd first, the new one gets its header and is fsync'd before it is renamed into place,
     * and the rename is made durable with a directory fsync. A crash at any point leaves either
     * the old tail or a complete new segment.
     */
    private void cut() throws IOException {
        long c0 = opts.nanoClock().getAsLong();
        writer.flush();
        WalFile old = writer.file();
        fsync(old);
        long c1 = opts.nanoClock().getAsLong();
        SegmentPipeline.Prepared spare = pipeline.take();
        long c2 = opts.nanoClock().getAsLong();
        SegmentName prev = segments.get(segments.size() - 1);
        SegmentName next = new SegmentName(prev.seq() + 1, writtenIndex + 1);
        int chain = writer.chainCrc();
        writer.begin(spare.file(), 0, chain, next.seq(), spare.tag());
        writer.writeCrc(chain);
        writer.writeMetadata(metadata);
        writer.writeHardState(lastHardState);
        headerEnd = writer.position();
        writer.flush();
        fsync(spare.file());
        long c3 = opts.nanoClock().getAsLong();
        storage.rename(spare.tmpName(), next.fileName());
        storage.fsyncDir();
        segments.add(next);
        old.close();
        cuts++;
        if (spare.recycled()) {
            recycledCuts++;
        }
        long c4 = opts.nanoClock().getAsLong();
        LOG.info("wal segment cut file={} previous={} recycled={} tag={} took-us={} old-fsync-us={} spare-wait-us={} new-fsync-us={} dir-fsync-us={}",
                next.fileName(), prev.fileName(), spare.recycled(), spare.tag(), (c4 - c0) / 1000, (c1 - c0) / 1000, (c2 - c1) / 1000, (c3 - c2) / 1000, (c4 - c3) / 1000);
    }

    private void fsync(WalFile f) throws IOException {
        fsync(f, opts.nanoClock().getAsLong());
    }

    /** fdatasync; {@code t0} is a clock reading taken just before (saves a read per batch). */
    private void fsync(WalFile f, long t0) throws IOException {
        f.force();
        long now = opts.nanoClock().getAsLong();
        lastClock = now;
        long took = now - t0;
        opts.metrics().observeFsyncNanos(took);
        if (took > opts.slowFsyncNanos()) {
            LOG.warn("slow fdatasync took={}ms expected-duration={}ms file={}", took / 1_000_000,
                    opts.slowFsyncNanos() / 1_000_000, f.name());
        }
    }

    private WalException closedError() {
        return new WalException("wal closed: " + storage.describe());
    }
}
