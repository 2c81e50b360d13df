package io.quorumlab.wal;

import io.quorumlab.wal.WalFormat.SegmentName;
import io.quorumlab.wal.storage.WalFile;
import io.quorumlab.wal.storage.WalStorage;
import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead log: segment files of framed, CRC-chained records, with group commit.
 *
 * <p><b>Group commit.</b> Every append becomes a request in one queue. Whoever holds the commit
 * lock drains up to {@link WalOptions#maxBatchRequests()} requests, encodes them into one buffer,
 * writes once and fsyncs once, then completes their futures in queue order. The lock holder is
 * either the caller of {@link #save} (the member loop, which therefore blocks in fdatasync exactly
 * like etcd's raft loop) or, for {@link #append}, a group-commit thread (or the appending thread
 * itself when {@link WalOptions#backgroundCommit()} is false). Requests leave the queue only under
 * the lock, so a caller holding the lock always finds its own request either done or queued.
 *
 * <p><b>Durability.</b> A future completes only after the fsync covering its records; a request
 * that needs no fsync (only the commit index moved) completes after its write. After any I/O error
 * the WAL fails stop: every later call fails, as etcd does, because the on-disk state is unknown.
 */
public final class Wal implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(Wal.class);
    private static final Request[] NO_REQUESTS = new Request[0];

    /** Returned by {@link #open}: the WAL ready for appends plus what was read back. */
    public record Opened(Wal wal, Recovered recovered) {
    }

    /** An append waiting for (or done with) its write and fsync. */
    private static final class Request {
        final List<WalEntry> entries;
        final HardState hardState;
        final SnapshotMarker marker;
        final boolean async;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        RuntimeException rejected;

        Request(List<WalEntry> entries, HardState hardState, SnapshotMarker marker, boolean async) {
            this.entries = entries;
            this.hardState = hardState;
            this.marker = marker;
            this.async = async;
        }
    }

    private final WalStorage storage;
    private final WalOptions opts;
    private final byte[] metadata;
    private final SegmentPipeline pipeline;
    private final ConcurrentLinkedQueue<Request> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pendingAsync = new AtomicInteger();
    /** Fair, so a blocked save() gets the lock after at most one round of someone else's. */
    private final ReentrantLock commitLock = new ReentrantLock(true);

    // ---- owned by the commit-lock holder ----
    private final FrameWriter writer;
    private final ArrayList<Request> batch = new ArrayList<>();
    private final ArrayList<SegmentName> segments;
    /** Offset just past the current segment's header records; a cut never leaves a segment emptier. */
    private long headerEnd;
    /** Written only under the commit lock; volatile so readers never wait behind an fsync. */
    private volatile long lastIndex;
    private volatile HardState lastHardState;

    private volatile IOException failure;
    private volatile boolean closed;
    private volatile Thread committer;
    private volatile boolean committerRunning;

    private Wal(WalStorage storage, WalOptions opts, byte[] metadata, List<SegmentName> segments,
                WalFile current, long position, int chainCrc, long headerEnd, long lastIndex, HardState hs) {
        this.storage = storage;
        this.opts = opts;
        this.metadata = metadata;
        this.segments = new ArrayList<>(segments);
        this.writer = new FrameWriter(opts.writeBufferBytes());
        this.writer.begin(current, position, chainCrc);
        this.headerEnd = headerEnd;
        this.lastIndex = lastIndex;
        this.lastHardState = hs;
        this.pipeline = new SegmentPipeline(storage, opts.segmentBytes(), opts.segmentPreparer());
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
            FrameWriter w = new FrameWriter(4096);
            w.begin(file, 0, 0);
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
            ok = true;
            return new Wal(storage, opts, metadata.data(), List.of(first), file, pos, crc, pos, 0, HardState.EMPTY);
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
                res = decoder.scan(bytes, prevCrc, last, (rec, off) -> {
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
                int brokenEnd = SegmentDecoder.lastNonZeroEnd(bytes, (int) res.validEnd());
                if (!hasHeader && i == first) {
                    throw new WalCorruptException(dir, name, res.validEnd(), "segment has no complete header ("
                            + res.reason() + ")");
                }
                if (!hasHeader) {
                    // Cut before its header became durable (cannot happen with our fsync order, but
                    // a truncated copy can): drop the whole segment and keep appending to the previous.
                    String broken = SegmentFiles.saveBroken(storage, name, bytes, 0, brokenEnd);
                    storage.delete(name);
                    storage.fsyncDir();
                    LOG.warn("wal dropped segment with torn header file={} bytes={} saved-to={} reason=\"{}\"",
                            name, brokenEnd, broken, res.reason());
                    repairs.add(new Recovered.TornTail(name, 0, brokenEnd, broken, res.reason()));
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
        Wal wal = new Wal(storage, opts, replay.metadata.data(), segs, file, lastResult.validEnd(),
                lastResult.endCrc(), headerEnd, replay.lastIndex(), replay.hardState);
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
            SegmentDecoder.Result res = decoder.scan(SegmentFiles.read(storage, name), prevCrc, i == segs.size() - 1,
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
        submitAndWait(new Request(entries, hardState, null, false));
    }

    /** Records a snapshot marker and fsyncs it (etcd's SaveSnapshot). */
    public void saveSnapshot(SnapshotMarker marker) throws IOException {
        submitAndWait(new Request(List.of(), null, marker, false));
    }

    /**
     * Queues an append; the future completes once its records are durable, in queue order, from
     * the committing thread (keep callbacks short). Fails immediately with
     * {@link WalOverloadedException} when {@link WalOptions#maxPendingAppends()} are already queued.
     * The list and the entries' data arrays are not copied: do not modify them until it completes.
     */
    public CompletableFuture<Void> append(List<WalEntry> entries, HardState hardState) {
        Request r = new Request(entries, hardState, null, true);
        IOException f = failure;
        if (f != null || closed) {
            return CompletableFuture.failedFuture(f != null ? new WalException("wal failed", f) : closedError());
        }
        if (pendingAsync.incrementAndGet() > opts.maxPendingAppends()) {
            pendingAsync.decrementAndGet();
            return CompletableFuture.failedFuture(new WalOverloadedException(opts.maxPendingAppends()));
        }
        queue.add(r);
        if (closed && queue.remove(r)) {
            // close() drained the queue before we added; nobody else will complete this request.
            pendingAsync.decrementAndGet();
            r.done.completeExceptionally(closedError());
            return r.done;
        }
        if (opts.backgroundCommit()) {
            Thread t = committer;
            LockSupport.unpark(t != null ? t : committerThread());
        } else {
            drainWhileUncontended();
        }
        return r.done;
    }

    /**
     * Lets the WAL delete segments no longer needed to replay from a snapshot at {@code index},
     * keeping at most {@link WalOptions#maxWals()} (0 keeps all). Returns how many were deleted.
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
            int deleted = 0;
            while (keepFrom > 0 && segments.size() > opts.maxWals()) {
                SegmentName victim = segments.remove(0);
                storage.delete(victim.fileName());
                keepFrom--;
                deleted++;
                LOG.info("wal released segment file={}", victim.fileName());
            }
            if (deleted > 0) {
                storage.fsyncDir();
            }
            assert !segments.isEmpty() : "the current segment is never released";
            return deleted;
        } finally {
            commitLock.unlock();
        }
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

    private void submitAndWait(Request r) throws IOException {
        IOException f = failure;
        if (f != null) {
            throw new WalException("wal failed earlier", f);
        }
        if (closed) {
            throw closedError();
        }
        queue.add(r);
        commitLock.lock();
        try {
            if (closed && queue.remove(r)) {
                throw closedError(); // raced with close(): its files are gone
            }
            while (!r.done.isDone() && commitRound()) {
                // our request is queued behind others; keep committing until it is in a batch
            }
        } finally {
            commitLock.unlock();
        }
        if (!opts.backgroundCommit()) {
            drainWhileUncontended(); // appends that lost the race for the lock to us
        }
        assert r.done.isDone() : "requests leave the queue only under the lock";
        try {
            r.done.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new WalException("append failed", c);
        }
    }

    /**
     * Caller-runs mode: commit until the queue is empty unless someone else holds the lock. The
     * check after unlocking closes the race where an append was queued just before we unlocked.
     */
    private void drainWhileUncontended() {
        if (commitLock.isHeldByCurrentThread()) {
            return; // called from a completion callback: the outer round keeps draining
        }
        while (!queue.isEmpty() && commitLock.tryLock()) {
            try {
                commitRound();
            } finally {
                commitLock.unlock();
            }
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
            if (queue.isEmpty()) {
                LockSupport.park(this); // append() unparks after queueing, so no wakeup is lost
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
        batch.clear();
        for (int i = 0; i < opts.maxBatchRequests(); i++) {
            Request r = queue.poll();
            if (r == null) {
                break;
            }
            batch.add(r);
        }
        if (batch.isEmpty()) {
            return false;
        }
        IOException failed = failure;
        if (failed != null) {
            failAll(new WalException("wal failed earlier", failed));
            return true;
        }
        try {
            long t0 = opts.nanoClock().getAsLong();
            boolean sync = false;
            for (Request r : batch) {
                String bad = validate(r);
                if (bad != null) {
                    r.rejected = new IllegalArgumentException(bad);
                    continue;
                }
                sync |= encode(r);
            }
            writer.flush();
            long written = writer.takeBytesWritten();
            if (written > 0) {
                opts.metrics().addWriteBytes(written);
                opts.metrics().observeWriteNanos(opts.nanoClock().getAsLong() - t0);
            }
            if (sync) {
                fsync(writer.file());
            }
        } catch (IOException | RuntimeException e) {
            IOException io = e instanceof IOException x ? x : new WalException("wal append failed", e);
            failure = io;
            writer.discard();
            LOG.error("wal append failed; the wal is now failed-stop dir={} error=\"{}\"", storage.describe(),
                    e.toString());
            failAll(new WalException("wal append failed", io));
            return true;
        }
        // Completion runs callers' callbacks on this thread, and a callback may append again
        // (re-entering under the same lock), so finish with the shared batch list first.
        Request[] finished = batch.toArray(NO_REQUESTS);
        batch.clear();
        for (Request r : finished) {
            if (r.async) {
                pendingAsync.decrementAndGet();
            }
            if (r.rejected != null) {
                r.done.completeExceptionally(r.rejected);
            } else {
                r.done.complete(null);
            }
        }
        return true;
    }

    private void failAll(IOException e) {
        Request[] finished = batch.toArray(NO_REQUESTS);
        batch.clear();
        for (Request r : finished) {
            if (r.async) {
                pendingAsync.decrementAndGet();
            }
            r.done.completeExceptionally(e);
        }
    }

    /** Raft's invariants on what may be appended; a violation is a caller bug, reported to it alone. */
    private String validate(Request r) {
        List<WalEntry> es = r.entries;
        if (!es.isEmpty()) {
            long firstIdx = es.get(0).index();
            if (firstIdx > lastIndex + 1) {
                return "gap: first entry " + firstIdx + " after last index " + lastIndex;
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
            if (r.marker.index() > lastIndex) {
                lastIndex = r.marker.index();
            }
            sync = true;
        }
        for (WalEntry e : r.entries) {
            ensureRoom(FrameWriter.entryFrameBytes(e));
            writer.writeEntry(e);
            lastIndex = e.index();
            sync = true;
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
        writer.flush();
        WalFile old = writer.file();
        fsync(old);
        SegmentPipeline.Prepared spare = pipeline.take();
        SegmentName prev = segments.get(segments.size() - 1);
        SegmentName next = new SegmentName(prev.seq() + 1, lastIndex + 1);
        int chain = writer.chainCrc();
        writer.begin(spare.file(), 0, chain);
        writer.writeCrc(chain);
        writer.writeMetadata(metadata);
        writer.writeHardState(lastHardState);
        headerEnd = writer.position();
        writer.flush();
        fsync(spare.file());
        storage.rename(spare.tmpName(), next.fileName());
        storage.fsyncDir();
        segments.add(next);
        old.close();
        LOG.info("wal segment cut file={} previous={}", next.fileName(), prev.fileName());
    }

    private void fsync(WalFile f) throws IOException {
        long t0 = opts.nanoClock().getAsLong();
        f.force();
        long took = opts.nanoClock().getAsLong() - t0;
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
