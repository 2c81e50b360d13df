package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.AlarmResponse;
import io.quorumlab.mvcc.api.AlreadyApplied;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.CompactionResponse;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.DeleteRangeResponse;
import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.Event;
import io.quorumlab.mvcc.api.HashKVResponse;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.LeaseCheckpointRequest;
import io.quorumlab.mvcc.api.LeaseCheckpointResponse;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseGrantResponse;
import io.quorumlab.mvcc.api.LeaseKeepAliveResponse;
import io.quorumlab.mvcc.api.LeaseLeasesResponse;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.LeaseRevokeResponse;
import io.quorumlab.mvcc.api.LeaseTimeToLiveResponse;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.PutResponse;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.api.ResponseHeader;
import io.quorumlab.mvcc.api.ResponseOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.mvcc.backend.Bucket;
import io.quorumlab.mvcc.backend.ByteKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's revisioned key space over a {@link Backend}.
 *
 * <p><b>Threading contract.</b> {@link #apply} and the other mutating methods (compaction,
 * snapshot, restore, defragment, lessor promote) are called by one thread, the member's apply
 * loop; this is asserted. Reads ({@link #range}, {@link #hashKV}, lease queries, revisions, sizes)
 * may be called from any thread. Lease deadlines have their own lock (see {@link Lessor}):
 * keep-alives, remaining TTLs, demotion and the leader's expiry check come from any thread and never
 * wait for an apply. A read-write lock isolates each
 * applied entry: readers never observe half of a transaction, and a reader waits at most one
 * entry's apply (never a backend commit: commits happen outside the lock). Watch delivery never
 * blocks apply: see {@link WatchHub}.
 *
 * <p><b>Revisions.</b> The empty store is at revision 1; every entry that changes at least one
 * key advances it by exactly one, with sub-revisions 0..n-1 for its changes.
 *
 * <p><b>Replay safety.</b> Every entry applied with a Raft index writes that index into the same
 * backend batch as its changes; after a crash, entries at or below the persisted index are
 * answered with {@link AlreadyApplied} and change nothing.
 */
public final class MvccStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MvccStore.class);
    private static final byte[] META_CONSISTENT_INDEX = Bytes.of("consistent_index");
    private static final byte[] META_SCHEDULED_COMPACT = Bytes.of("scheduledCompactRev");
    private static final byte[] META_FINISHED_COMPACT = Bytes.of("finishedCompactRev");
    /** Physical compaction offers the backend a commit point after this many deletes, bounding the batch. */
    private static final int COMPACTION_BATCH = 1000;

    private final Backend backend;
    private final StoreConfig config;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Key -> its revisions. Keyed by the key's bytes (etcd's unsigned order), shared with the KeyIndex: no wrapper per key. */
    private final KeyIndexMap index = new KeyIndexMap();
    private final Lessor lessor = new Lessor();
    private final Set<AlarmResponse.Member> alarms = new LinkedHashSet<>();
    private final WatchHub watchHub;
    private volatile long currentRev = 1;
    /** Reads below this revision fail as compacted; -1 until the first compaction. */
    private volatile long compactRev = -1;
    private volatile long consistentIndex;
    private Thread applyThread;
    private boolean closed;
    private volatile Throwable failure;

    public MvccStore(Backend backend, StoreConfig config) {
        this.backend = backend;
        this.config = config;
        recover();
        this.watchHub = new WatchHub(this, config.watchSyncIntervalNanos());
    }

    public MvccStore(Backend backend) { this(backend, StoreConfig.defaults()); }

    // =========================================================================================
    // Recovery
    // =========================================================================================

    private void recover() {
        byte[] ci = backend.get(Bucket.META, META_CONSISTENT_INDEX);
        consistentIndex = ci == null ? 0 : Codec.bytesLong(ci);
        byte[] sched = backend.get(Bucket.META, META_SCHEDULED_COMPACT);
        byte[] fin = backend.get(Bucket.META, META_FINISHED_COMPACT);
        long scheduled = sched == null ? -1 : Codec.bytesLong(sched);
        long finished = fin == null ? -1 : Codec.bytesLong(fin);

        for (Map.Entry<Long, long[]> e : readLeases().entrySet()) {
            lessor.recovered(new Lessor.Lease(e.getKey(), e.getValue()[0], e.getValue()[1]));
        }
        List<byte[]> orphans = new ArrayList<>();
        long[] maxMain = {1};
        backend.scan(Bucket.KEY, Bytes.EMPTY, null, (k, v) -> {
            long main = Codec.revMain(k), sub = Codec.revSub(k);
            maxMain[0] = Math.max(maxMain[0], main);
            byte[] key = Codec.decodeKeyOnly(v);
            ByteKey bk = new ByteKey(key);
            KeyIndex ki = index.getOrCreate(key);
            if (Codec.isTombstone(k)) {
                // A tombstone whose generation was already compacted away: a crash interrupted compaction.
                if (!ki.tombstone(main, sub)) {
                    if (main == scheduled) ki.restoreLoneTombstone(main, sub);
                    else orphans.add(k);
                }
                lessor.detach(bk);
            } else {
                KeyValue kv = Codec.decodeKv(v);
                ki.restorePut(main, sub, kv.createRevision(), kv.version());
                lessor.detach(bk);
                if (kv.lease() != 0 && lessor.leases.containsKey(kv.lease())) lessor.attach(bk, kv.lease());
            }
            return true;
        });
        index.removeIf(KeyIndex::isEmpty);
        currentRev = Math.max(maxMain[0], Math.max(scheduled, 1));
        backend.scan(Bucket.ALARM, Bytes.EMPTY, null, (k, v) -> {
            ByteBuffer b = ByteBuffer.wrap(k);
            alarms.add(new AlarmResponse.Member(b.getLong(), AlarmRequest.AlarmType.values()[b.get()]));
            return true;
        });
        if (scheduled > finished) {
            // Resume the compaction a crash interrupted; it is idempotent.
            log.info("resuming compaction scheduledRev={} finishedRev={}", scheduled, finished);
            for (byte[] o : orphans) if (Codec.revMain(o) <= scheduled) backend.delete(Bucket.KEY, o);
            physicallyCompact(scheduled, compactIndex(scheduled));
            backend.commit();
        }
        compactRev = scheduled;
        log.info("mvcc recovered currentRev={} compactRev={} consistentIndex={} keys={} leases={}", currentRev, compactRev,
                consistentIndex, index.size(), lessor.leases.size());
    }

    private Map<Long, long[]> readLeases() {
        Map<Long, long[]> out = new TreeMap<>();
        backend.scan(Bucket.LEASE, Bytes.EMPTY, null, (k, v) -> {
            ByteBuffer b = ByteBuffer.wrap(v);
            out.put(Codec.bytesLong(k), new long[] {b.getLong(), b.getLong()});
            return true;
        });
        return out;
    }

    // =========================================================================================
    // Apply (apply thread only)
    // =========================================================================================

    private void checkApplyThread() {
        Thread t = Thread.currentThread();
        if (applyThread == null) applyThread = t;
        // Single-writer invariant: a second applier would corrupt the index and the batch.
        if (applyThread != t) throw new IllegalStateException("apply from " + t.getName() + " but owner is " + applyThread.getName());
        if (closed) throw new IllegalStateException("store closed");
        if (failure != null) throw new IllegalStateException("store fail-stopped by an earlier apply error", failure);
    }

    /** Hands the apply role to the calling thread (e.g. a restarted apply loop). */
    public void transferApplyOwnership() { applyThread = Thread.currentThread(); }

    /**
     * Applies one committed Raft entry. {@code raftIndex <= 0} means "not from a log" (tests,
     * tools). Errors are thrown as {@link MvccException} after the entry is recorded as applied:
     * an entry that failed on one member fails identically on all, and must not be retried.
     */
    public Response apply(long raftIndex, Request request) {
        checkApplyThread();
        if (raftIndex > 0 && raftIndex <= consistentIndex) {
            return new AlreadyApplied(ResponseHeader.ofRevision(currentRev), consistentIndex);
        }
        try {
            lock.writeLock().lock();
            try {
                // Recorded first, so it lands in the same batch as the entry's first change. Only a
                // large compaction commits mid-entry; its remaining physical work is resumed at recovery,
                // so treating the entry as applied from its first commit on is exactly right.
                if (raftIndex > 0) {
                    consistentIndex = raftIndex;
                    backend.put(Bucket.META, META_CONSISTENT_INDEX, Codec.longBytes(raftIndex));
                }
                return applyLocked(request);
            } catch (MvccException e) {
                throw e; // an ordinary answer: nothing was changed before it was raised
            } catch (RuntimeException | Error e) {
                // A bug or a storage failure part-way through an entry: the key space may be half
                // changed. Stop applying (as etcd panics) rather than serve or persist a torn state.
                failure = e;
                log.error("apply failed; store is now fail-stopped raftIndex={}", raftIndex, e);
                throw e;
            } finally {
                lock.writeLock().unlock();
            }
        } finally {
            if (failure == null) {
                try {
                    finishCompaction();
                    backend.maybeCommit(); // outside the lock: an fsync must not stall readers
                } catch (RuntimeException | Error e) {
                    commitFailed(e, raftIndex);
                    throw e;
                }
            }
        }
    }

    /**
     * A backend commit (or a write after one) failed: entries applied in memory may never become
     * durable, and committing later batches over the lost one would persist a consistent index
     * that claims it. Stop applying, as after a failed apply (the backend refuses further writes).
     */
    private void commitFailed(Throwable e, long raftIndex) {
        if (failure != null) return;
        failure = e;
        log.error("backend commit failed; store is now fail-stopped raftIndex={}", raftIndex, e);
    }

    /**
     * Physical half of a compaction, outside the store lock: once the index no longer points at a
     * revision no reader can reach it (hashKV filters by the index), so deleting it needs no lock.
     */
    private void finishCompaction() {
        PendingCompaction p = pendingCompaction;
        if (p == null) return;
        pendingCompaction = null;
        physicallyCompact(p.rev(), p.doomed());
    }

    private record PendingCompaction(long rev, List<byte[]> doomed) {}

    private PendingCompaction pendingCompaction;

    /** Records an entry that carries no key-space request (conf change, empty entry) as applied. */
    public void applyNoop(long raftIndex) {
        checkApplyThread();
        if (raftIndex <= consistentIndex) return;
        try {
            backend.put(Bucket.META, META_CONSISTENT_INDEX, Codec.longBytes(raftIndex));
            consistentIndex = raftIndex;
            backend.maybeCommit();
        } catch (RuntimeException | Error e) {
            commitFailed(e, raftIndex);
            throw e;
        }
    }

    private Response applyLocked(Request request) {
        // A CORRUPT alarm freezes the key space (etcd's applierV3Corrupt); only alarm handling goes on.
        if (!(request instanceof AlarmRequest) && hasAlarm(AlarmRequest.AlarmType.CORRUPT)) throw new MvccException(ErrorCode.CORRUPT);
        TxnChecks.validate(request, config.maxTxnOps());
        if (request instanceof RangeRequest r) return rangeLocked(r, currentRev);
        if (request instanceof PutRequest p) {
            if (noSpace()) throw new MvccException(ErrorCode.NO_SPACE);
            checkPut(p, currentRev, true);
            WriteTxn w = new WriteTxn();
            PutResponse resp = w.put(p);
            w.end();
            return resp;
        }
        if (request instanceof DeleteRangeRequest d) {
            WriteTxn w = new WriteTxn();
            DeleteRangeResponse resp = w.delete(d);
            w.end();
            return resp;
        }
        if (request instanceof TxnRequest t) return txnLocked(t);
        if (request instanceof CompactionRequest c) return compactLocked(c.revision());
        if (request instanceof LeaseGrantRequest g) return leaseGrantLocked(g);
        if (request instanceof LeaseRevokeRequest r) return leaseRevokeLocked(r.id());
        if (request instanceof LeaseCheckpointRequest c) return leaseCheckpointLocked(c);
        if (request instanceof AlarmRequest a) return alarmLocked(a);
        throw new IllegalArgumentException("unknown request " + request);
    }

    private boolean noSpace() { return hasAlarm(AlarmRequest.AlarmType.NOSPACE); }

    private boolean hasAlarm(AlarmRequest.AlarmType type) {
        for (AlarmResponse.Member m : alarms) if (m.alarm() == type) return true;
        return false;
    }

    /** etcd checks a lone Put's lease before its ignore_* flags, but a txn's puts the other way round. */
    private void checkPut(PutRequest p, long rev, boolean leaseFirst) {
        if (leaseFirst) checkLease(p);
        if (p.ignoreValue() || p.ignoreLease()) {
            KeyIndex ki = index.get(p.key());
            if (ki == null || ki.get(rev) == null) throw new MvccException(ErrorCode.KEY_NOT_FOUND);
        }
        if (!leaseFirst) checkLease(p);
    }

    private void checkLease(PutRequest p) {
        if (p.lease() != 0 && !lessor.leases.containsKey(p.lease())) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
    }

    /** One revision's worth of changes, as etcd's storeTxnWrite. */
    private final class WriteTxn {
        final long beginRev = currentRev;
        final List<Event> events = new ArrayList<>();

        long readRev() { return events.isEmpty() ? beginRev : beginRev + 1; }

        long writeRev() { return beginRev + 1; }

        PutResponse put(PutRequest p) {
            KeyValue prev = null;
            if (p.prevKv() || p.ignoreValue() || p.ignoreLease()) prev = kvAt(p.key(), readRev());
            byte[] value = p.ignoreValue() ? prev.value() : p.value();
            long lease = p.ignoreLease() ? prev.lease() : p.lease();
            doPut(p.key(), value, lease);
            return new PutResponse(ResponseHeader.ofRevision(writeRev()), p.prevKv() ? prev : null);
        }

        void doPut(byte[] key, byte[] value, long lease) {
            long rev = writeRev();
            long sub = events.size();
            KeyIndex ki = index.get(key);
            KeyIndex.Visible before = ki == null ? null : ki.get(rev);
            long created = before == null ? rev : before.createRevision();
            long version = before == null ? 1 : before.version() + 1;
            KeyValue kv = new KeyValue(key, created, rev, version, value, lease);
            backend.put(Bucket.KEY, Codec.revKey(rev, sub, false), Codec.encodeKv(kv));
            if (ki == null) {
                ki = new KeyIndex(key);
                index.add(ki);
            }
            ki.put(rev, sub);
            events.add(new Event(Event.Type.PUT, kv, null));
            if (lease != 0 || !lessor.keyLease.isEmpty()) {
                ByteKey bk = new ByteKey(key);
                lessor.detach(bk);
                if (lease != 0) lessor.attach(bk, lease);
            }
        }

        DeleteRangeResponse delete(DeleteRangeRequest d) {
            List<KeyValue> prev = List.of();
            if (d.prevKv()) prev = rangeKvs(d.key(), d.rangeEnd(), readRev());
            List<byte[]> keys = new ArrayList<>();
            for (KeyIndex ki : keysIn(d.key(), d.rangeEnd())) {
                if (ki.get(readRev()) != null) keys.add(ki.key);
            }
            for (byte[] k : keys) doDelete(k);
            long rev = (!keys.isEmpty() || !events.isEmpty()) ? writeRev() : beginRev;
            return new DeleteRangeResponse(ResponseHeader.ofRevision(rev), keys.size(), prev);
        }

        void doDelete(byte[] key) {
            long rev = writeRev();
            long sub = events.size();
            KeyValue tomb = new KeyValue(key, 0, rev, 0, Bytes.EMPTY, 0);
            backend.put(Bucket.KEY, Codec.revKey(rev, sub, true), Codec.encodeKv(tomb));
            boolean ended = index.get(key).tombstone(rev, sub);
            assert ended : "delete of a key with no live generation";
            events.add(new Event(Event.Type.DELETE, tomb, null));
            if (!lessor.keyLease.isEmpty()) lessor.detach(new ByteKey(key));
        }

        void end() {
            if (events.isEmpty()) return;
            currentRev = writeRev();
            watchHub.onApply(currentRev, events);
        }
    }

    // ---- txn ----------------------------------------------------------------------------------

    private TxnResponse txnLocked(TxnRequest t) {
        long rev = currentRev;
        // The branch path is decided against the state before the txn, nested compares included (as etcd).
        List<Boolean> path = new ArrayList<>();
        computePath(t, rev, path);
        boolean write = !isReadOnly(t);
        if (write && noSpace()) throw new MvccException(ErrorCode.NO_SPACE);
        // As etcd: every put on the path is checked before any range (errors must match, not just occur).
        if (write) checkTxnPuts(t, path.iterator(), rev);
        checkTxnRanges(t, path.iterator(), rev);
        WriteTxn w = new WriteTxn();
        Iterator<Boolean> it = path.iterator();
        TxnResponse nested = executeTxn(w, t, it);
        w.end();
        return new TxnResponse(ResponseHeader.ofRevision(w.readRev()), nested.succeeded(), nested.responses());
    }

    private void computePath(TxnRequest t, long rev, List<Boolean> path) {
        boolean ok = true;
        for (Compare c : t.compare()) {
            if (!compare(c, rev)) {
                ok = false;
                break;
            }
        }
        path.add(ok);
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof TxnRequest nested) computePath(nested, rev, path);
        }
    }

    /**
     * A txn with only ranges (in both branches, nested included). etcd serves these without Raft:
     * linearizable ones after a ReadIndex, serializable ones directly, via {@link #readOnlyTxn}.
     */
    public static boolean isReadOnly(TxnRequest t) {
        for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
            for (RequestOp op : ops) {
                if (op instanceof PutRequest || op instanceof DeleteRangeRequest) return false;
                if (op instanceof TxnRequest n && !isReadOnly(n)) return false;
            }
        }
        return true;
    }

    private void checkTxnPuts(TxnRequest t, Iterator<Boolean> path, long rev) {
        checkTxnPuts(t, path, rev, new ArrayList<>());
    }

    /**
     * {@code deletedBefore}: deletes earlier in execution order. The duplicate-key check lets a
     * from-key delete ("\0" range end) overlap later puts (an etcd 3.4 quirk we keep); a put with
     * ignore_value/ignore_lease after such a delete would find no previous value mid-transaction,
     * which makes etcd panic. We refuse it up front, before anything changed.
     */
    private void checkTxnPuts(TxnRequest t, Iterator<Boolean> path, long rev, List<DeleteRangeRequest> deletedBefore) {
        for (RequestOp op : path.next() ? t.success() : t.failure()) {
            if (op instanceof PutRequest p) {
                checkPut(p, rev, false);
                if (p.ignoreValue() || p.ignoreLease()) {
                    for (DeleteRangeRequest d : deletedBefore) {
                        if (covers(d, p.key())) throw new MvccException(ErrorCode.KEY_NOT_FOUND);
                    }
                }
            } else if (op instanceof DeleteRangeRequest d) {
                deletedBefore.add(d);
            } else if (op instanceof TxnRequest n) {
                checkTxnPuts(n, path, rev, deletedBefore);
            }
        }
    }

    private static boolean covers(DeleteRangeRequest d, byte[] key) {
        if (d.rangeEnd().length == 0) return Bytes.compare(d.key(), key) == 0;
        if (Bytes.compare(key, d.key()) < 0) return false;
        return Bytes.isFromKey(d.rangeEnd()) || Bytes.compare(key, d.rangeEnd()) < 0;
    }

    private void checkTxnRanges(TxnRequest t, Iterator<Boolean> path, long rev) {
        for (RequestOp op : path.next() ? t.success() : t.failure()) {
            if (op instanceof RangeRequest r) {
                if (r.revision() > rev) throw new MvccException(ErrorCode.FUTURE_REV);
                if (r.revision() > 0 && r.revision() < compactRev) throw new MvccException(ErrorCode.COMPACTED);
            } else if (op instanceof TxnRequest n) checkTxnRanges(n, path, rev);
        }
    }

    private TxnResponse executeTxn(WriteTxn w, TxnRequest t, Iterator<Boolean> path) {
        boolean ok = path.next();
        List<ResponseOp> out = new ArrayList<>();
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof RangeRequest r) out.add(rangeLocked(r, w.readRev()));
            else if (op instanceof PutRequest p) out.add(w.put(p));
            else if (op instanceof DeleteRangeRequest d) out.add(w.delete(d));
            else if (op instanceof TxnRequest n) out.add(executeTxn(w, n, path));
        }
        // Nested txn headers stay zero, exactly as etcd leaves them; the caller overwrites the top one.
        return new TxnResponse(new ResponseHeader(0, 0, 0, 0), ok, out);
    }

    /** Package-private for CompareIndexTest, which checks it against {@link #compareByReading}. Lock held. */
    boolean compare(Compare c, long rev) {
        Compare.Target target = c.target();
        if (target == Compare.Target.VALUE || target == Compare.Target.LEASE) return compareByReading(c, rev);
        // Version and create/mod revision are in the key index (each stored kv was written from the same
        // numbers): a kube GuaranteedUpdate's mod_revision compare reads nothing from the backend.
        if (c.rangeEnd().length == 0) {
            KeyIndex ki = index.get(c.key());
            KeyIndex.Visible v = ki == null ? null : ki.get(rev);
            return compareResult(c.result(), v == null ? Long.compare(0, c.number()) : Long.compare(indexed(target, v), c.number()));
        }
        boolean any = false;
        for (KeyIndex ki : keysIn(c.key(), c.rangeEnd())) {
            KeyIndex.Visible v = ki.get(rev);
            if (v == null) continue;
            any = true;
            if (!compareResult(c.result(), Long.compare(indexed(target, v), c.number()))) return false;
        }
        // No key in the range: compared as a missing key (all numbers zero), as compareByReading does.
        return any || compareResult(c.result(), Long.compare(0, c.number()));
    }

    private static long indexed(Compare.Target target, KeyIndex.Visible v) {
        if (target == Compare.Target.MOD) return v.modMain();
        if (target == Compare.Target.CREATE) return v.createRevision();
        if (target == Compare.Target.VERSION) return v.version();
        throw new IllegalArgumentException("not in the key index: " + target);
    }

    /** A compare against the stored kvs (decoded from the backend); VALUE and LEASE need it. Lock held. */
    boolean compareByReading(Compare c, long rev) {
        // Only a VALUE compare reads the value: the others skip copying it out of the backend.
        List<KeyValue> kvs = rangeKvs(c.key(), c.rangeEnd(), rev, c.target() == Compare.Target.VALUE);
        if (kvs.isEmpty()) {
            // A missing key has no value to compare (nil and empty are indistinguishable in gRPC).
            if (c.target() == Compare.Target.VALUE) return false;
            return compareKv(c, new KeyValue(c.key(), 0, 0, 0, Bytes.EMPTY, 0));
        }
        for (KeyValue kv : kvs) if (!compareKv(c, kv)) return false;
        return true;
    }

    private static boolean compareKv(Compare c, KeyValue kv) {
        int r = switch (c.target()) {
            case VALUE -> Integer.signum(Bytes.compare(kv.value(), c.value()));
            case CREATE -> Long.compare(kv.createRevision(), c.number());
            case MOD -> Long.compare(kv.modRevision(), c.number());
            case VERSION -> Long.compare(kv.version(), c.number());
            case LEASE -> Long.compare(kv.lease(), c.number());
        };
        return compareResult(c.result(), r);
    }

    private static boolean compareResult(Compare.Result result, int r) {
        return switch (result) {
            case EQUAL -> r == 0;
            case NOT_EQUAL -> r != 0;
            case GREATER -> r > 0;
            case LESS -> r < 0;
        };
    }

    // =========================================================================================
    // Reads (any thread)
    // =========================================================================================

    /** A serializable read of the local key space (the server handles linearizability via ReadIndex). */
    public RangeResponse range(RangeRequest r) {
        TxnChecks.validate(r, config.maxTxnOps());
        lock.readLock().lock();
        try {
            return rangeLocked(r, currentRev);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Evaluates a read-only txn against the current revision, from any thread (no Raft entry, no revision). */
    public TxnResponse readOnlyTxn(TxnRequest t) {
        if (!isReadOnly(t)) throw new IllegalArgumentException("txn has writes: it must go through Raft and apply()");
        TxnChecks.validate(t, config.maxTxnOps());
        lock.readLock().lock();
        try {
            List<Boolean> path = new ArrayList<>();
            computePath(t, currentRev, path);
            checkTxnRanges(t, path.iterator(), currentRev);
            WriteTxn view = new WriteTxn(); // never written: only supplies the read revision
            TxnResponse nested = executeTxn(view, t, path.iterator());
            return new TxnResponse(ResponseHeader.ofRevision(view.readRev()), nested.succeeded(), nested.responses());
        } finally {
            lock.readLock().unlock();
        }
    }

    private RangeResponse rangeLocked(RangeRequest r, long curRev) {
        long rev = r.revision();
        if (rev > curRev) throw new MvccException(ErrorCode.FUTURE_REV);
        if (rev <= 0) rev = curRev;
        if (rev < compactRev) throw new MvccException(ErrorCode.COMPACTED);
        boolean fetchAll = r.sortOrder() != RangeRequest.SortOrder.NONE || r.minModRevision() != 0
                || r.maxModRevision() != 0 || r.minCreateRevision() != 0 || r.maxCreateRevision() != 0;
        // Every key in range is counted, but only the first limit + 1 (one extra tells "more") are
        // located: a paged LIST of a big prefix otherwise collects the whole prefix for every page.
        long wanted = r.countOnly() ? 0 : !fetchAll && r.limit() > 0 && r.limit() < Long.MAX_VALUE ? r.limit() + 1 : Long.MAX_VALUE;
        List<KeyIndex.Visible> visible = new ArrayList<>();
        long count = 0;
        for (KeyIndex ki : keysIn(r.key(), r.rangeEnd())) {
            if (visible.size() < wanted) {
                KeyIndex.Visible v = ki.get(rev);
                if (v == null) continue;
                visible.add(v);
                count++;
            } else if (ki.existsAt(rev)) {
                count++;
            }
            assert ki.existsAt(rev) == (ki.get(rev) != null);
        }
        ResponseHeader header = ResponseHeader.ofRevision(curRev);
        if (r.countOnly() || count == 0) return new RangeResponse(header, List.of(), false, count);
        int fetch = visible.size();
        List<KeyValue> kvs = new ArrayList<>(fetch);
        for (int i = 0; i < fetch; i++) {
            KeyIndex.Visible v = visible.get(i);
            kvs.add(readKv(v.modMain(), v.modSub()));
        }
        if (r.maxModRevision() != 0) kvs.removeIf(kv -> kv.modRevision() > r.maxModRevision());
        if (r.minModRevision() != 0) kvs.removeIf(kv -> kv.modRevision() < r.minModRevision());
        if (r.minCreateRevision() != 0) kvs.removeIf(kv -> kv.createRevision() < r.minCreateRevision());
        if (r.maxCreateRevision() != 0) kvs.removeIf(kv -> kv.createRevision() > r.maxCreateRevision());
        RangeRequest.SortOrder order = r.sortOrder();
        // Results come key-ascending already; a non-key target with NONE means ascending (etcd).
        if (r.sortTarget() != RangeRequest.SortTarget.KEY && order == RangeRequest.SortOrder.NONE) order = RangeRequest.SortOrder.ASCEND;
        if (order != RangeRequest.SortOrder.NONE) {
            Comparator<KeyValue> cmp = switch (r.sortTarget()) {
                case KEY -> (a, b) -> Bytes.compare(a.key(), b.key());
                case VERSION -> Comparator.comparingLong(KeyValue::version);
                case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
                case MOD -> Comparator.comparingLong(KeyValue::modRevision);
                case VALUE -> (a, b) -> Bytes.compare(a.value(), b.value());
            };
            kvs.sort(order == RangeRequest.SortOrder.DESCEND ? cmp.reversed() : cmp);
        }
        boolean more = false;
        if (r.limit() > 0 && kvs.size() > r.limit()) {
            kvs = kvs.subList(0, (int) r.limit());
            more = true;
        }
        if (r.keysOnly()) kvs.replaceAll(KeyValue::withoutValue);
        return new RangeResponse(header, kvs, more, count);
    }

    /** Index entries whose key lies in etcd's [key, rangeEnd) interpretation. Lock held. */
    private Iterable<KeyIndex> keysIn(byte[] key, byte[] end) {
        if (end.length == 0) {
            KeyIndex ki = index.get(key);
            return ki == null ? List.of() : List.of(ki);
        }
        if (Bytes.isFromKey(end)) return index.tail(key);
        if (Bytes.compare(key, end) >= 0) return List.of();
        return index.range(key, end);
    }

    /** Full kvs visible at rev in a range, key-ascending. Lock held. */
    private List<KeyValue> rangeKvs(byte[] key, byte[] end, long rev) {
        return rangeKvs(key, end, rev, true);
    }

    /** With {@code values} false the kvs carry an empty value (metadata only). */
    private List<KeyValue> rangeKvs(byte[] key, byte[] end, long rev, boolean values) {
        List<KeyValue> out = new ArrayList<>();
        for (KeyIndex ki : keysIn(key, end)) {
            KeyIndex.Visible v = ki.get(rev);
            if (v != null) out.add(readKv(v.modMain(), v.modSub(), values));
        }
        return out;
    }

    /** The kv of a key visible at rev, or null. Lock held. */
    KeyValue kvAt(byte[] key, long rev) {
        if (rev < compactRev || rev <= 0) return null;
        KeyIndex ki = index.get(key);
        KeyIndex.Visible v = ki == null ? null : ki.get(rev);
        return v == null ? null : readKv(v.modMain(), v.modSub());
    }

    private KeyValue readKv(long main, long sub) {
        return readKv(main, sub, true);
    }

    private KeyValue readKv(long main, long sub, boolean value) {
        byte[] b = backend.get(Bucket.KEY, Codec.revKey(main, sub, false));
        // The index only points at revisions the backend holds; a miss is corruption, not a race.
        if (b == null) throw new IllegalStateException("index points at missing revision " + main + "/" + sub);
        return value ? Codec.decodeKv(b) : Codec.decodeKvWithoutValue(b);
    }

    /**
     * Events of revisions [fromRev, toRev], whole revisions only, stopping after the revision
     * that reaches maxEvents. Read lock must be held; used by watch catch-up.
     */
    record EventsChunk(List<Event> events, long throughRev) {}

    EventsChunk eventsBetween(long fromRev, long toRev, int maxEvents) {
        List<Event> out = new ArrayList<>();
        long[] lastRev = {-1};
        boolean[] truncated = {false};
        backend.scan(Bucket.KEY, Codec.revKey(fromRev, 0, false), Codec.revKey(toRev + 1, 0, false), (k, v) -> {
            long main = Codec.revMain(k);
            if (out.size() >= maxEvents && main != lastRev[0]) {
                truncated[0] = true;
                return false;
            }
            lastRev[0] = main;
            if (Codec.isTombstone(k)) {
                out.add(new Event(Event.Type.DELETE, new KeyValue(Codec.decodeKeyOnly(v), 0, main, 0, Bytes.EMPTY, 0), null));
            } else {
                out.add(new Event(Event.Type.PUT, Codec.decodeKv(v), null));
            }
            return true;
        });
        return new EventsChunk(out, truncated[0] ? lastRev[0] : toRev);
    }

    ReentrantReadWriteLock lock() { return lock; }

    public long currentRevision() { return currentRev; }

    /** The compacted revision, -1 if never compacted (etcd reports 0 to clients in that case). */
    public long compactRevision() { return compactRev; }

    /** The highest Raft index whose effects are in this store (durable after the next commit). */
    public long consistentIndex() { return consistentIndex; }

    public long keyCount() {
        lock.readLock().lock();
        try {
            return index.size(); // includes keys whose latest state is deleted but not compacted
        } finally {
            lock.readLock().unlock();
        }
    }

    public WatchHub watchHub() { return watchHub; }

    public Backend backend() { return backend; }

    // =========================================================================================
    // Compaction and hashing
    // =========================================================================================

    private CompactionResponse compactLocked(long rev) {
        if (rev <= compactRev) throw new MvccException(ErrorCode.COMPACTED);
        if (rev > currentRev) throw new MvccException(ErrorCode.FUTURE_REV);
        compactRev = rev;
        backend.put(Bucket.META, META_SCHEDULED_COMPACT, Codec.longBytes(rev));
        pendingCompaction = new PendingCompaction(rev, compactIndex(rev));
        watchHub.onCompact(rev);
        return new CompactionResponse(ResponseHeader.ofRevision(currentRev));
    }

    /** Compacts the in-memory index; returns the backend keys of removed revisions. Lock held. */
    private List<byte[]> compactIndex(long rev) {
        List<byte[]> doomed = new ArrayList<>();
        Iterator<KeyIndex> it = index.iterator();
        while (it.hasNext()) {
            KeyIndex ki = it.next();
            ki.compact(rev, (main, sub, tomb) -> doomed.add(Codec.revKey(main, sub, tomb)));
            if (ki.isEmpty()) it.remove();
        }
        return doomed;
    }

    private void physicallyCompact(long rev, List<byte[]> doomed) {
        for (int i = 0; i < doomed.size(); i++) {
            backend.delete(Bucket.KEY, doomed.get(i));
            if (i % COMPACTION_BATCH == COMPACTION_BATCH - 1) backend.maybeCommit();
        }
        // In the same batch as (or after) the last delete: "finished" never precedes the work.
        backend.put(Bucket.META, META_FINISHED_COMPACT, Codec.longBytes(rev));
        log.debug("compacted rev={} removedRevisions={}", rev, doomed.size());
    }

    /** Entries hashed per read-lock hold, so a big hash never stalls apply for long. */
    private static final int HASH_CHUNK = 10_000;

    /**
     * CRC32C over every stored revision up to {@code rev} (0 = current) that a compaction keeps,
     * in revision order; members with equal histories and compactions get equal hashes. Scans in
     * chunks under the read lock; revisions up to {@code rev} never change except by compaction,
     * so a compaction between chunks restarts the scan (or fails it as compacted).
     */
    public HashKVResponse hashKV(long rev) {
        while (true) {
            long cur, compacted;
            lock.readLock().lock();
            try {
                cur = currentRev;
                compacted = compactRev;
            } finally {
                lock.readLock().unlock();
            }
            if (rev > 0 && rev <= compacted) throw new MvccException(ErrorCode.COMPACTED);
            if (rev > cur) throw new MvccException(ErrorCode.FUTURE_REV);
            long upTo = rev <= 0 ? cur : rev;
            Long hash = hashChunked(upTo, compacted);
            if (hash != null) return new HashKVResponse(ResponseHeader.ofRevision(cur), hash, Math.max(compacted, 0), upTo);
        }
    }

    /** @return the hash, or null if a compaction happened meanwhile */
    private Long hashChunked(long upTo, long compacted) {
        CRC32C crc = new CRC32C();
        crc.update(Bytes.of("key"));
        byte[] end = Codec.revKey(upTo + 1, 0, false);
        byte[][] next = {Bytes.EMPTY};
        while (next[0] != null) {
            lock.readLock().lock();
            try {
                if (compactRev != compacted) return null;
                byte[] from = next[0];
                next[0] = null;
                int[] n = {0};
                backend.scan(Bucket.KEY, from, end, (k, v) -> {
                    if (n[0]++ == HASH_CHUNK) {
                        next[0] = k; // resume here under the next lock hold
                        return false;
                    }
                    long main = Codec.revMain(k);
                    if (main <= compacted) {
                        KeyIndex ki = index.get(Codec.decodeKeyOnly(v));
                        if (ki == null || !ki.has(main, Codec.revSub(k))) return true; // awaiting physical deletion
                    }
                    crc.update(k);
                    crc.update(v);
                    return true;
                });
            } finally {
                lock.readLock().unlock();
            }
        }
        return crc.getValue();
    }

    /**
     * Maintenance.Hash: CRC32C over every bucket's committed-or-buffered contents. Unlike
     * {@link #hashKV} it includes metadata (consistent index), so it only matches across members
     * at the same applied index; etcd documents the same caveat.
     */
    public long hash() {
        lock.readLock().lock();
        try {
            CRC32C crc = new CRC32C();
            for (Bucket b : Bucket.values()) {
                crc.update(Bytes.of(b.name()));
                backend.scan(b, Bytes.EMPTY, null, (k, v) -> {
                    crc.update(k);
                    crc.update(v);
                    return true;
                });
            }
            return crc.getValue();
        } finally {
            lock.readLock().unlock();
        }
    }

    // =========================================================================================
    // Leases
    // =========================================================================================

    private LeaseGrantResponse leaseGrantLocked(LeaseGrantRequest g) {
        if (noSpace()) throw new MvccException(ErrorCode.NO_SPACE);
        if (g.id() == 0) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
        if (g.ttlSeconds() > StoreConfig.MAX_LEASE_TTL_SECONDS) throw new MvccException(ErrorCode.LEASE_TTL_TOO_LARGE);
        if (lessor.leases.containsKey(g.id())) throw new MvccException(ErrorCode.LEASE_EXISTS);
        long ttl = Math.max(g.ttlSeconds(), config.minLeaseTtlSeconds());
        Lessor.Lease l = new Lessor.Lease(g.id(), ttl, 0);
        lessor.grant(l, config.nanoClock().getAsLong());
        persistLease(l);
        return new LeaseGrantResponse(ResponseHeader.ofRevision(currentRev), g.id(), ttl);
    }

    private void persistLease(Lessor.Lease l) {
        backend.put(Bucket.LEASE, Codec.longBytes(l.id), ByteBuffer.allocate(16).putLong(l.ttl).putLong(lessor.remainingTtlOf(l)).array());
    }

    private LeaseRevokeResponse leaseRevokeLocked(long id) {
        Lessor.Lease l = lessor.leases.get(id);
        if (l == null) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
        // Sorted keys: every member deletes in the same order, so sub-revisions and hashes agree.
        List<ByteKey> keys = new ArrayList<>(l.keys);
        WriteTxn w = new WriteTxn();
        for (ByteKey k : keys) w.delete(DeleteRangeRequest.key(k.bytes()));
        lessor.remove(id);
        backend.delete(Bucket.LEASE, Codec.longBytes(id)); // same batch as the key deletions
        w.end();
        return new LeaseRevokeResponse(ResponseHeader.ofRevision(currentRev));
    }

    private LeaseCheckpointResponse leaseCheckpointLocked(LeaseCheckpointRequest c) {
        for (LeaseCheckpointRequest.Checkpoint cp : c.checkpoints()) {
            Lessor.Lease l = lessor.leases.get(cp.id());
            if (l == null) continue; // revoked meanwhile: etcd ignores it too
            lessor.checkpoint(l, cp.remainingTtlSeconds());
            persistLease(l);
        }
        return new LeaseCheckpointResponse(ResponseHeader.ofRevision(currentRev));
    }

    /**
     * Leader-only keep-alive: moves the deadline, returns the granted TTL. Not replicated (as etcd).
     * Any thread; takes only the lessor's lock, so a renewal is never queued behind an apply (etcd's
     * Renew runs under the lessor's mutex, outside the apply path). An expired lease is refused.
     */
    public LeaseKeepAliveResponse leaseKeepAlive(long id) {
        long ttl = lessor.renew(id, config.nanoClock());
        return new LeaseKeepAliveResponse(ResponseHeader.ofRevision(currentRev), id, ttl);
    }

    /** Remaining whole seconds of a lease (the leader's deadline), under the lessor's lock only: any thread, never waits for an apply. */
    public long leaseRemainingTtl(long id) {
        return lessor.remainingSeconds(id, config.nanoClock());
    }

    /** The lessor's monitor, for tests of its locking. */
    Object lessorForTest() {
        return lessor;
    }

    /** Whether this member's lessor keeps time (it is, or has been promoted as, the leader's). */
    public boolean leasePrimary() {
        return lessor.isPrimary();
    }

    public LeaseTimeToLiveResponse leaseTimeToLive(long id, boolean withKeys) {
        lock.readLock().lock();
        try {
            Lessor.Lease l = lessor.leases.get(id);
            if (l == null) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
            long remaining = lessor.remainingSeconds(l, config.nanoClock().getAsLong());
            List<byte[]> keys = new ArrayList<>();
            if (withKeys) for (ByteKey k : l.keys) keys.add(k.bytes());
            return new LeaseTimeToLiveResponse(ResponseHeader.ofRevision(currentRev), id, remaining, l.ttl, keys);
        } finally {
            lock.readLock().unlock();
        }
    }

    public LeaseLeasesResponse leaseLeases() {
        return new LeaseLeasesResponse(ResponseHeader.ofRevision(currentRev), lessor.ids());
    }

    /**
     * This member became leader: start every lease's clock (from its checkpointed remaining TTL
     * when there is one, so a leader change does not extend leases indefinitely).
     */
    public void promoteLessor() {
        promoteLessor(0);
    }

    /**
     * As {@link #promoteLessor()}, giving every lease {@code extendNanos} more (etcd extends leases by the
     * election timeout on a new leader, so clients that were renewing through the old one are not cut off).
     */
    public void promoteLessor(long extendNanos) {
        lessor.promote(config.nanoClock().getAsLong(), extendNanos);
    }

    /** This member lost leadership: leases never expire here until promoted again. */
    public void demoteLessor() {
        lessor.demote();
    }

    /** Leases past their deadline, at most {@code max}, by id. A query: it records nothing (see {@link #claimExpiredLeases}). */
    public List<Long> expiredLeases(int max) {
        return lessor.expired(config.nanoClock().getAsLong(), max);
    }

    /**
     * The leader's expiry check: leases past their deadline whose revoke was not claimed or proposed in
     * the last {@code retryNanos} (etcd: 3 s), at most {@code max}, by id; each is recorded as claimed
     * now. Lessor lock only (any thread). Before proposing, confirm each with {@link #confirmLeaseRevoke}.
     */
    public List<Long> claimExpiredLeases(int max, long retryNanos) {
        if (max <= 0 || retryNanos < 0) throw new IllegalArgumentException("max=" + max + " retryNanos=" + retryNanos);
        return lessor.claimExpired(config.nanoClock().getAsLong(), max, retryNanos);
    }

    /**
     * True (and the revoke recorded as proposed now) if this member's lessor is still primary and the
     * lease still exists and is still past its current deadline: a renewal, revoke or re-promotion since
     * the claim means no revoke.
     */
    public boolean confirmLeaseRevoke(long id) {
        return lessor.confirmRevoke(id, config.nanoClock().getAsLong());
    }

    /** Remaining TTLs the leader should checkpoint through Raft (etcd's lease checkpointing). */
    public LeaseCheckpointRequest checkpointRequest() {
        return new LeaseCheckpointRequest(lessor.checkpoints(config.nanoClock().getAsLong()));
    }

    // =========================================================================================
    // Alarms and quota
    // =========================================================================================

    private AlarmResponse alarmLocked(AlarmRequest a) {
        byte[] k = ByteBuffer.allocate(9).putLong(a.memberId()).put((byte) a.alarm().ordinal()).array();
        AlarmResponse.Member m = new AlarmResponse.Member(a.memberId(), a.alarm());
        switch (a.action()) {
            case ACTIVATE -> {
                if (a.alarm() != AlarmRequest.AlarmType.NONE && alarms.add(m)) backend.put(Bucket.ALARM, k, Bytes.EMPTY);
                return new AlarmResponse(ResponseHeader.ofRevision(currentRev), List.of(m));
            }
            case DEACTIVATE -> {
                boolean removed = alarms.remove(m);
                if (removed) backend.delete(Bucket.ALARM, k);
                return new AlarmResponse(ResponseHeader.ofRevision(currentRev), removed ? List.of(m) : List.of());
            }
            default -> {
                List<AlarmResponse.Member> out = new ArrayList<>();
                for (AlarmResponse.Member x : alarms) {
                    if (a.alarm() == AlarmRequest.AlarmType.NONE || a.alarm() == x.alarm()) out.add(x);
                }
                return new AlarmResponse(ResponseHeader.ofRevision(currentRev), out);
            }
        }
    }

    /**
     * The server's pre-proposal quota check (etcd's quotaKVServer): false means answer NO_SPACE
     * and propose a NOSPACE alarm. {@code costBytes} estimates what the request adds.
     */
    public boolean quotaAvailable(long costBytes) {
        if (noSpaceAlarmed()) return false;
        return backend.sizeBytes() + costBytes <= config.effectiveQuotaBytes();
    }

    public boolean noSpaceAlarmed() {
        lock.readLock().lock();
        try {
            return noSpace();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** etcd's request cost estimate for the quota: key + value + per-key overhead. */
    public static long quotaCost(Request r) {
        if (r instanceof PutRequest p) return p.key().length + p.value().length + 256;
        if (r instanceof TxnRequest t) {
            long c = 0;
            for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
                for (RequestOp op : ops) if (op instanceof Request q) c += quotaCost(q);
            }
            return c;
        }
        if (r instanceof LeaseGrantRequest) return 64;
        return 0;
    }

    /** Under the read lock: defragment closes and reopens the backend's environment under the write lock. */
    public long dbSizeBytes() { return underReadLock(backend::sizeBytes); }

    public long dbSizeInUseBytes() { return underReadLock(backend::sizeInUseBytes); }

    private long underReadLock(java.util.function.LongSupplier read) {
        lock.readLock().lock();
        try {
            return read.getAsLong();
        } finally {
            lock.readLock().unlock();
        }
    }

    // =========================================================================================
    // Snapshot, restore, defragment, close (apply thread)
    // =========================================================================================

    /** Streams a consistent copy of everything (commits first). For Raft snapshots and `snapshot save`. */
    public void snapshot(OutputStream out) throws IOException {
        checkApplyThread();
        backend.snapshot(out);
    }

    /**
     * Pins a consistent copy (commits first) on the apply thread; the caller streams it from any
     * thread with {@code writeTo} and closes it. For Raft snapshots sent to lagging followers.
     */
    public Backend.Snapshot openSnapshot() {
        checkApplyThread();
        return backend.openSnapshot();
    }

    /**
     * For {@code snapshot restore} into a new cluster: the restored data starts a fresh Raft log, so the
     * old cluster's consistent index must not make the new log's entries look applied.
     */
    public void resetConsistentIndex() {
        checkApplyThread();
        consistentIndex = 0;
        backend.put(Bucket.META, META_CONSISTENT_INDEX, Codec.longBytes(0));
        backend.commit();
    }

    /** Replaces the whole state from a snapshot (a follower too far behind); watchers are cancelled by the caller's stream reset. */
    public void restore(InputStream in) throws IOException {
        checkApplyThread();
        lock.writeLock().lock();
        try {
            backend.restore(in);
            index.clear();
            lessor.clear();
            alarms.clear();
            compactRev = -1;
            currentRev = 1;
            recover();
            watchHub.onRestore();
        } finally {
            lock.writeLock().unlock();
        }
    }

    public void defragment() {
        checkApplyThread();
        lock.writeLock().lock();
        try {
            backend.defragment();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Makes everything applied so far durable (call on shutdown or before a Raft snapshot). */
    public void commit() {
        checkApplyThread();
        try {
            backend.commit();
        } catch (RuntimeException | Error e) {
            commitFailed(e, consistentIndex);
            throw e;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        watchHub.close();
        closed = true;
        // After a fail-stop the open batch may hold half an entry: drop it, never commit it.
        if (failure != null) backend.crash();
        else backend.close();
    }

    /**
     * Invariant check (tests, and worth running after recovery in debug builds): every revision
     * the index holds is stored, nothing else is stored (no leaked revisions after compaction or
     * recovery), and nothing is newer than the current revision. Call on the apply thread.
     */
    void checkInvariants() {
        checkApplyThread();
        lock.readLock().lock();
        try {
            long[] indexed = {0};
            if (index.hashedCount() != index.size()) throw new AssertionError("hash table holds " + index.hashedCount() + " of " + index.size() + " keys");
            for (KeyIndex ki : index.values()) {
                if (ki.isEmpty()) throw new AssertionError("empty key index kept: " + Bytes.show(ki.key));
                if (index.get(ki.key) != ki) throw new AssertionError("hash lookup misses " + Bytes.show(ki.key));
                ki.forEachRevision((main, sub, tomb) -> {
                    if (main > currentRev) throw new AssertionError("revision beyond current: " + main);
                    if (backend.get(Bucket.KEY, Codec.revKey(main, sub, tomb)) == null) {
                        throw new AssertionError("indexed revision missing: " + Bytes.show(ki.key) + "@" + main + "/" + sub);
                    }
                    indexed[0]++;
                });
            }
            long[] stored = {0};
            backend.scan(Bucket.KEY, Bytes.EMPTY, null, (k, v) -> {
                stored[0]++;
                return true;
            });
            if (stored[0] != indexed[0]) throw new AssertionError("stored revisions " + stored[0] + " != indexed " + indexed[0]);
        } finally {
            lock.readLock().unlock();
        }
    }
}
