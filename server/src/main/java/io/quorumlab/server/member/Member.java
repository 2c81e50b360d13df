package io.quorumlab.server.member;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.StoreConfig;
import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.ErrorCode;
import io.quorumlab.mvcc.api.LeaseKeepAliveResponse;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.MvccException;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.backend.Backend;
import io.quorumlab.raft.ConfChange;
import io.quorumlab.raft.ConfChangeType;
import io.quorumlab.raft.ConfState;
import io.quorumlab.raft.Config;
import io.quorumlab.raft.Entry;
import io.quorumlab.raft.EntryType;
import io.quorumlab.raft.OffHeapLogStorage;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import io.quorumlab.raft.ProposalResult;
import io.quorumlab.raft.RawNode;
import io.quorumlab.raft.ReadOnlyOption;
import io.quorumlab.raft.ReadState;
import io.quorumlab.raft.Ready;
import io.quorumlab.raft.Snapshot;
import io.quorumlab.raft.StateRole;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.peer.PeerTransport;
import io.quorumlab.server.runtime.Runtime;
import io.quorumlab.wal.HardState;
import io.quorumlab.wal.Recovered;
import io.quorumlab.wal.SnapshotMarker;
import io.quorumlab.wal.Snapshotter;
import io.quorumlab.wal.Wal;
import io.quorumlab.wal.WalEntry;
import io.quorumlab.wal.WalMetadata;
import io.quorumlab.wal.WalOptions;
import io.quorumlab.wal.storage.WalStorage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcd member: drives a {@link RawNode} over a {@link Runtime} in etcd's order. On the member
 * loop: tick; on Ready the leader sends first, entries and HardState are saved to the WAL (the loop
 * blocks in fdatasync, so a slow disk delays heartbeats exactly as in etcd), a follower sends after
 * the save; committed entries go to the apply loop, which applies them to the key space beside the
 * next persist. Proposals, reads and peer messages reach the member loop through bounded queues.
 */
public final class Member implements MemberApi, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Member.class);
    private static final int MAX_PROPOSALS_PER_BATCH = 1024;
    private static final int MAX_INBOUND_MESSAGES = 16_384;
    private static final int MAX_PENDING_READS = 16_384;
    private static final long READ_INDEX_RETRY_NANOS = 500_000_000L;
    private static final long LEASE_CHECK_NANOS = 500_000_000L;
    private static final int MAX_LEASE_REVOKES_PER_CHECK = 1000;
    /** etcd's expiredLeaseRetryInterval: a revoke already claimed or proposed is not proposed again for 3 s. */
    static final long LEASE_REVOKE_RETRY_NANOS = 3_000_000_000L;
    /**
     * Ceiling of the direct memory holding the in-memory Raft log's payloads (chunks of
     * OffHeapLogStorage.DEFAULT_CHUNK_BYTES, reused after each compaction): 100,000 entries since the last
     * snapshot plus the catch-up entries fit with up to ~2.4 KB per entry; beyond it the log uses heap
     * chunks. Kept under -XX:MaxDirectMemorySize in server-jvm.options.
     */
    static final long RAFT_LOG_MAX_DIRECT_BYTES = 256L << 20;

    private final MemberConfig cfg;
    private final Runtime rt;
    private final PeerTransport transport;
    private final MemberMetrics metrics;
    private final long memberId;
    private final long clusterId;

    // ---- owned by the member loop
    /** Off the heap: every entry since the last snapshot (100k by default) would otherwise fill the old generation. */
    private final OffHeapLogStorage raftStorage;
    private final RawNode node;
    private final Wal wal;
    private final Snapshotter snapshotter;
    private final Map<Long, String> peerUrls = new TreeMap<>();
    /** Written by the member loop, read by the apply loop. */
    private volatile long lastSnapshotIndex;
    private StateRole role = StateRole.FOLLOWER;
    private long readCtxSeq;
    private long inflightReadCtx = -1;
    private long inflightReadSentNanos;
    private List<CompletableFuture<Void>> inflightReads = new ArrayList<>();
    /** Written on the member loop; read by gRPC and watch threads too (isStopped). */
    private volatile boolean stopped;
    /** How often a member without a leader checks whether it can publish its attributes. */
    private static final long PUBLISH_POLL_NANOS = 500_000_000L;

    // ---- owned by the apply loop
    private final MvccStore store;
    /** The store's effective quota (the same figure {@code MvccStore.quotaAvailable} compares with). */
    private final long quotaBytes;
    private final PriorityQueue<IndexWaiter> appliedWaiters = new PriorityQueue<>();
    private final AtomicBoolean snapshotInProgress = new AtomicBoolean();

    // ---- shared, thread-safe
    private final ConcurrentHashMap<Long, CompletableFuture<Response>> pending = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Proposal> proposalQueue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger proposalQueueSize = new AtomicInteger();
    private final AtomicBoolean proposalDrainScheduled = new AtomicBoolean();
    private final ConcurrentLinkedQueue<CompletableFuture<Void>> readQueue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger readQueueSize = new AtomicInteger();
    private final AtomicBoolean readDrainScheduled = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Message> inbound = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inboundSize = new AtomicInteger();
    private final AtomicBoolean inboundDrainScheduled = new AtomicBoolean();
    private final AtomicLong requestIdSeq;
    private volatile long appliedIndex;
    private volatile long committedIndex;
    /**
     * Raft's commit index as this member's Ready loop last saw it, set before the Ready's messages are sent:
     * a follower that learned a commit index from this leader finds it here (the leader's lease answers wait
     * for it to be applied). {@link #committedIndex} follows the committed entries handed to the apply loop.
     */
    private volatile long raftCommitIndex;
    /**
     * When this member's loop last ticked as leader. A leader whose loop is stuck (a long fdatasync) ages
     * here while the others may elect a new leader and revoke what it would renew (etcd issue 15247):
     * renewals need a fresh tick (etcd 3.5.8+ confirms leadership before Renew).
     */
    private volatile long leaderLoopAliveNanos;
    /** The index of this leader's first entry of its term: before it is applied the lessor may miss grants. */
    private volatile long leaderTermStartIndex;
    private volatile long term;
    private volatile long leaderId;
    private volatile boolean learner;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private record Proposal(long id, byte[] data, CompletableFuture<Response> future) {}

    /** Members by id; replaced (never mutated) by the apply loop, read from any thread. */
    private volatile java.util.SortedMap<Long, MemberInfo> membership = java.util.Collections.emptySortedMap();
    /** Conf changes proposed here, by the request id carried in their context, until applied. */
    private final ConcurrentHashMap<Long, CompletableFuture<List<MemberInfo>>> pendingConfChanges = new ConcurrentHashMap<>();
    private static final byte[] MEMBER_KEY_PREFIX = "member/".getBytes(StandardCharsets.US_ASCII);
    private static final byte ATTRIBUTES_VERSION = 2;
    private volatile boolean published;
    /** Members removed from the cluster (etcd remembers them too): their messages are answered "removed". */
    private final java.util.Set<Long> removedMembers = ConcurrentHashMap.newKeySet();
    private static final byte[] REMOVED_KEY_PREFIX = "removed/".getBytes(StandardCharsets.US_ASCII);
    private static final byte CTRL_REMOVED = 5;

    private record IndexWaiter(long index, CompletableFuture<Void> future) implements Comparable<IndexWaiter> {
        @Override
        public int compareTo(IndexWaiter o) {
            return Long.compare(index, o.index);
        }
    }

    /**
     * Opens (or creates) the member's WAL, snapshot and backend and prepares Raft. Call
     * {@link #start()} to begin ticking and serving.
     */
    public Member(MemberConfig cfg, Runtime rt, PeerTransport transport, MemberMetrics metrics) throws IOException {
        this.cfg = cfg;
        this.rt = rt;
        this.transport = transport;
        this.metrics = metrics;
        this.memberId = cfg.memberId();
        this.clusterId = cfg.clusterId();
        this.requestIdSeq = new AtomicLong((memberId & 0xffffL) << 48 | (rt.random().nextLong() & 0xffff_ffffL) << 16);

        for (Map.Entry<String, Long> e : cfg.memberIds().entrySet()) {
            if (e.getValue() != memberId) peerUrls.put(e.getValue(), cfg.initialCluster().get(e.getKey()));
        }

        Backend backend = rt.backend(cfg.dataDir().resolve("member").resolve("snap").resolve("db"), cfg.quotaBackendBytes());
        StoreConfig sc = StoreConfig.defaults().withMaxTxnOps(cfg.maxTxnOps()).withQuota(cfg.quotaBackendBytes())
                .withClock(rt::nanoTime);
        sc = new StoreConfig(sc.maxTxnOps(), minLeaseTtlSeconds(cfg), sc.quotaBackendBytes(), sc.nanoClock(),
                sc.watchSyncIntervalNanos());
        StoreConfig tuned = rt.tuneStore(sc);
        this.store = new MvccStore(backend, tuned);
        this.quotaBytes = tuned.effectiveQuotaBytes();
        if (backend instanceof io.quorumlab.mvcc.backend.BufferedBackend bb) bb.setCommitListener(metrics::backendCommitNanos);
        metrics.watchStore(store);
        loadMembership();
        // The cluster's own member table (MemberAdd/Update as applied) wins over --initial-cluster, which
        // only bootstraps: a restarted member reaches members added after it was started, as in etcd.
        peerUrls.putAll(peerUrlsOf(membership, null));

        WalStorage walStorage = rt.walStorage(cfg.walDir());
        this.snapshotter = new Snapshotter(rt.walStorage(cfg.dataDir().resolve("member").resolve("snap")));
        WalOptions walOpts = WalOptions.defaults().withSegmentBytes(cfg.walSegmentBytes()).withMaxWals(cfg.maxWals())
                .withNanoClock(rt::nanoTime).withMetrics(metrics.walMetrics());
        walOpts = rt.tuneWal(walOpts);

        this.raftStorage = new OffHeapLogStorage(RAFT_LOG_MAX_DIRECT_BYTES);
        boolean walExisted = Wal.exists(walStorage);
        if (walExisted) {
            List<SnapshotMarker> markers = Wal.validSnapshotMarkers(walStorage);
            Optional<Snapshotter.SnapshotFile> snap = snapshotter.loadNewestAvailable(markers);
            SnapshotMarker start = snap.map(Snapshotter.SnapshotFile::marker).orElse(null);
            Wal.Opened opened = Wal.open(walStorage, walOpts, start);
            this.wal = opened.wal();
            Recovered rec = opened.recovered();
            if (rec.metadata().memberId() != memberId) {
                throw new IllegalStateException("the WAL in " + cfg.walDir() + " belongs to member "
                        + Long.toHexString(rec.metadata().memberId()) + ", not " + Long.toHexString(memberId));
            }
            if (snap.isPresent()) {
                Snapshotter.SnapshotFile sf = snap.get();
                raftStorage.applySnapshot(new Snapshot(sf.index(), sf.term(), decodeConfState(sf.data()), new byte[0]));
                lastSnapshotIndex = sf.index();
            }
            if (store.consistentIndex() < lastSnapshotIndex) restoreFromSnapshotDb(lastSnapshotIndex);
            removeSnapshotDbs(store.consistentIndex());
            List<Entry> entries = new ArrayList<>(rec.entries().size());
            for (WalEntry we : rec.entries()) entries.add(fromWal(we));
            raftStorage.append(entries);
            HardState hs = rec.hardState();
            raftStorage.setHardState(new io.quorumlab.raft.HardState(hs.term(), hs.vote(), hs.commit()));
            LOG.info("member restarted name={} id={} cluster={} snapshot={} last-index={} term={} commit={}", cfg.name(),
                    Long.toHexString(memberId), Long.toHexString(clusterId), lastSnapshotIndex, rec.lastIndex(), hs.term(),
                    hs.commit());
        } else {
            this.wal = Wal.create(walStorage, walOpts, WalMetadata.ofIds(memberId, clusterId));
        }
        if (!walExisted && !cfg.newCluster()) {
            // Joining an existing cluster (after MemberAdd): start empty; the leader sends the log or a
            // snapshot, and with it the membership, before this member may vote or campaign.
            LOG.info("member joining existing cluster name={} id={} cluster={}", cfg.name(), Long.toHexString(memberId),
                    Long.toHexString(clusterId));
        } else if (!walExisted) {
            // The initial membership, as committed conf-change entries of term 1 (etcd's bootstrap).
            List<Entry> boot = new ArrayList<>();
            long idx = 1;
            for (Map.Entry<String, Long> e : cfg.memberIds().entrySet()) {
                byte[] ctx = encodeMemberContext(0, e.getKey(), cfg.initialCluster().get(e.getKey()));
                boot.add(new Entry(1, idx++, EntryType.CONF_CHANGE,
                        new ConfChange(ConfChangeType.ADD_NODE, e.getValue(), ctx).encode()));
            }
            raftStorage.append(boot);
            io.quorumlab.raft.HardState hs = new io.quorumlab.raft.HardState(1, 0, boot.size());
            raftStorage.setHardState(hs);
            List<WalEntry> walBoot = new ArrayList<>();
            for (Entry e : boot) walBoot.add(toWal(e));
            wal.save(walBoot, new HardState(hs.term(), hs.vote(), hs.commit()));
            LOG.info("member bootstrapped name={} id={} cluster={} members={}", cfg.name(), Long.toHexString(memberId),
                    Long.toHexString(clusterId), cfg.initialCluster());
        }

        walLastIndex = raftStorage.lastIndex();
        Config rc = new Config(memberId, cfg.electionTicks(), 1, raftStorage, lastSnapshotIndex,
                PeerTransport.RAFT_MAX_SIZE_PER_MSG_BYTES, 512, 0,
                1L << 30, 64L << 20, MAX_PENDING_READS, true, cfg.preVote(),
                cfg.leaseReads() ? ReadOnlyOption.LEASE_BASED : ReadOnlyOption.SAFE, rt.random());
        this.node = new RawNode(rc);
        this.appliedIndex = lastSnapshotIndex;
        this.term = raftStorage.hardState().term();
    }

    /** etcd's lease floor: ((3 * electionTicks) / 2) heartbeats (integer ticks), rounded up to whole seconds. */
    private static long minLeaseTtlSeconds(MemberConfig cfg) {
        long millis = (3L * cfg.electionTicks() / 2) * cfg.heartbeatMillis();
        return (millis + 999) / 1000;
    }

    /** Begins ticking, accepting peer messages and serving. */
    public void start() {
        transport.onControl(this::onControl);
        transport.start(this::onInbound, id -> rt.execute(() -> node.reportUnreachable(id)));
        transport.updatePeers(Map.copyOf(peerUrls));
        // First on the apply loop, before any entry the member loop hands it: the store may have been
        // touched on this thread (a startup restore from a received snapshot copy).
        rt.executeApply(store::transferApplyOwnership);
        rt.execute(() -> {
            if (rt.inApplyLoop()) throw new IllegalStateException("member loop must not be the apply loop");
            processReady();
        });
        scheduleTick();
        scheduleLeaseCheck();
        schedulePublish();
        schedulePing();
        if (corruptCheckNanos > 0) {
            LOG.info("enabled corruption checking local-member-id={} interval={}ms", Long.toHexString(memberId), corruptCheckNanos / 1_000_000);
            scheduleCorruptionCheck();
        }
        if (autoCompactor != null) scheduleAutoCompaction();
    }

    private io.quorumlab.mvcc.AutoCompactor autoCompactor;

    /**
     * --auto-compaction-mode/--auto-compaction-retention: the leader proposes compactions when the
     * compactor says so (retention: nanoseconds of history, or revisions). Call before {@link #start()}.
     */
    public void enableAutoCompaction(io.quorumlab.mvcc.AutoCompactor.Mode mode, long retention) {
        autoCompactor = new io.quorumlab.mvcc.AutoCompactor(mode, retention, rt.nanoTime());
    }

    private void scheduleAutoCompaction() {
        rt.schedule(1_000_000_000L, () -> {
            if (stopped) return;
            if (role == StateRole.LEADER) {
                long rev = autoCompactor.tick(rt.nanoTime(), store.currentRevision());
                if (rev > 0) {
                    LOG.info("auto-compaction proposing revision={}", rev);
                    propose(new io.quorumlab.mvcc.api.CompactionRequest(rev, false)).exceptionally(t -> null);
                }
            }
            scheduleAutoCompaction();
        });
    }

    private static final byte CTRL_HASH = 9, CTRL_HASH_OK = 10;
    /** Between corruption checks (etcd's --experimental-corrupt-check-time); 0 = off, etcd's default. */
    private volatile long corruptCheckNanos;
    /** The leader's own HashKV for the round in flight: revision -> {hash, compact revision}. */
    private final ConcurrentHashMap<Long, long[]> ownHashes = new ConcurrentHashMap<>();

    /**
     * Sets the period of the leader's corruption check (--experimental-corrupt-check-time); 0 leaves it
     * off, as etcd does by default. Call before {@link #start()}.
     */
    public void setCorruptCheckPeriod(long nanos) {
        if (nanos < 0) throw new IllegalArgumentException("corruption check period must not be negative");
        corruptCheckNanos = nanos;
    }

    /**
     * The leader compares its HashKV at its applied revision with every member's at the same revision;
     * a member whose hash differs under the same compaction is corrupt: the leader raises the CORRUPT
     * alarm for it through Raft (then every member refuses writes until an operator acts, as in etcd).
     */
    private void scheduleCorruptionCheck() {
        rt.schedule(corruptCheckNanos, () -> {
            if (stopped) return;
            if (role == StateRole.LEADER && !peerUrls.isEmpty()) {
                List<Long> peers = List.copyOf(peerUrls.keySet());
                rt.executeApply(() -> {
                    long rev = store.currentRevision();
                    io.quorumlab.mvcc.api.HashKVResponse h;
                    try {
                        h = store.hashKV(rev);
                    } catch (RuntimeException e) {
                        return; // compacted meanwhile: next round
                    }
                    ownHashes.clear();
                    ownHashes.put(rev, new long[] {h.hash(), h.compactRevision()});
                    for (long peer : peers) {
                        transport.sendControl(peer, control(CTRL_HASH, rev, 0));
                    }
                });
            }
            scheduleCorruptionCheck();
        });
    }

    private void answerHash(long from, long rev) {
        rt.executeApply(() -> {
            if (store.currentRevision() < rev) return; // not there yet: no answer, no verdict
            try {
                io.quorumlab.mvcc.api.HashKVResponse h = store.hashKV(rev);
                transport.sendControl(from, ByteBuffer.allocate(25).put(CTRL_HASH_OK).putLong(rev).putLong(h.hash())
                        .putLong(h.compactRevision()).array());
            } catch (RuntimeException e) {
                // compacted past rev: no verdict
            }
        });
    }

    private void checkPeerHash(long from, long rev, long hash, long compactRev) {
        InitialHashRound round = initialRound;
        if (round != null && round.rev() == rev) round.answers().put(from, new long[] {hash, compactRev});
        long[] own = ownHashes.get(rev);
        if (own == null || own[1] != compactRev || own[0] == hash) return;
        LOG.error("corruption detected: member {} has hash {} at revision {} (compacted {}), leader has {}; raising CORRUPT",
                Long.toHexString(from), Long.toHexString(hash), rev, compactRev, Long.toHexString(own[0]));
        propose(new AlarmRequest(AlarmRequest.Action.ACTIVATE, from, AlarmRequest.AlarmType.CORRUPT)).exceptionally(t -> null);
    }

    /**
     * The outcome of {@link #initialHashCheck}: this member's HashKV at {@code revision} and the peers
     * whose hash at that revision differs under the same compaction ({@code mismatched}); {@code compared}
     * peers answered under the same compaction, {@code skipped} did not (down, behind, other compaction).
     */
    public record InitialHashCheck(long revision, long compactRevision, long hash, List<Long> mismatched, int compared,
                                   int skipped) {}

    private record InitialHashRound(long rev, long hash, long compactRev, ConcurrentHashMap<Long, long[]> answers) {}

    private volatile InitialHashRound initialRound;

    /**
     * etcd 3.4's on-start corruption check (--experimental-initial-corrupt-check), over the periodic
     * check's control exchange: asks every peer for its HashKV at this member's current revision, every
     * 200 ms until all answered or {@code timeoutNanos} passed (a peer answers once it has the revision).
     * Call after {@link #start()}, before serving clients.
     */
    public CompletableFuture<InitialHashCheck> initialHashCheck(long timeoutNanos) {
        CompletableFuture<InitialHashCheck> done = new CompletableFuture<>();
        rt.executeApply(() -> {
            try {
                long rev = store.currentRevision();
                io.quorumlab.mvcc.api.HashKVResponse h = store.hashKV(rev);
                InitialHashRound round = new InitialHashRound(rev, h.hash(), h.compactRevision(), new ConcurrentHashMap<>());
                initialRound = round;
                long deadline = rt.nanoTime() + timeoutNanos;
                // The peers are the member loop's (peerUrls changes there while the log is replayed): ask from it.
                rt.execute(() -> askInitialHashes(round, done, deadline));
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    private void askInitialHashes(InitialHashRound round, CompletableFuture<InitialHashCheck> done, long deadlineNanos) {
        List<Long> peers = List.copyOf(peerUrls.keySet());
        if (stopped || rt.nanoTime() >= deadlineNanos || round.answers().keySet().containsAll(peers)) {
            initialRound = null;
            List<Long> mismatched = new ArrayList<>();
            int compared = 0;
            for (Map.Entry<Long, long[]> e : round.answers().entrySet()) {
                long[] a = e.getValue();
                if (a[1] != round.compactRev()) {
                    LOG.warn("initial corruption check: peer {} has a different compact revision {} (local {}); not compared",
                            Long.toHexString(e.getKey()), a[1], round.compactRev());
                    continue;
                }
                compared++;
                if (a[0] != round.hash()) {
                    LOG.error("initial corruption check: peer {} has hash {} at revision {}, local hash {}", Long.toHexString(e.getKey()),
                            Long.toHexString(a[0]), round.rev(), Long.toHexString(round.hash()));
                    mismatched.add(e.getKey());
                }
            }
            for (long p : peers) {
                if (!round.answers().containsKey(p)) {
                    LOG.warn("initial corruption check: no hash from peer {} at revision {} (down, behind, or compacted)",
                            Long.toHexString(p), round.rev());
                }
            }
            done.complete(new InitialHashCheck(round.rev(), round.compactRev(), round.hash(), List.copyOf(mismatched), compared,
                    peers.size() - compared));
            return;
        }
        for (long p : peers) if (!round.answers().containsKey(p)) transport.sendControl(p, control(CTRL_HASH, round.rev(), 0));
        rt.schedule(200_000_000L, () -> askInitialHashes(round, done, deadlineNanos));
    }

    private static final byte CTRL_PING = 6, CTRL_PONG = 7;
    private static final long PING_NANOS = 5_000_000_000L;

    /** etcd_network_peer_round_trip_time_seconds: a small control round trip to every peer every 5 s. */
    private void schedulePing() {
        rt.schedule(PING_NANOS, () -> {
            if (stopped) return;
            for (long peer : peerUrls.keySet()) {
                transport.sendControl(peer, control(CTRL_PING, rt.nanoTime(), 0));
            }
            schedulePing();
        });
    }

    // =========================================================================================
    // Member loop
    // =========================================================================================

    private void scheduleTick() {
        // Re-armed after each tick runs: ticks that fall due while the loop is blocked collapse into
        // one (like Go's ticker), so a long fsync means missed heartbeats, not a burst of them.
        rt.schedule(cfg.heartbeatMillis() * 1_000_000L, () -> {
            if (stopped) return;
            node.tick();
            processReady();
            expireRequests();
            if (role == StateRole.LEADER) leaderLoopAliveNanos = rt.nanoTime();
            scheduleTick();
        });
    }

    /**
     * A request's deadline: a proposal (by id) or a linearizable read (by future). One queue per kind,
     * in deadline order, swept on every tick: far cheaper than a timer task per request, and a
     * request timeout needs no finer grain than a heartbeat.
     */
    private record Deadline(long proposalId, CompletableFuture<Void> read, long atNanos) {}

    /** Member loop only. Answered requests leave from the head on the next sweep, so the queues stay short. */
    private final java.util.ArrayDeque<Deadline> proposalDeadlines = new java.util.ArrayDeque<>();
    private final java.util.ArrayDeque<Deadline> readDeadlines = new java.util.ArrayDeque<>();

    private void expireRequests() {
        long now = rt.nanoTime();
        Deadline d;
        while ((d = proposalDeadlines.peek()) != null && (d.atNanos() <= now || !pending.containsKey(d.proposalId()))) {
            proposalDeadlines.poll();
            if (failPending(d.proposalId(), EtcdError.TIMEOUT)) metrics.proposalsFailed(1);
        }
        while ((d = readDeadlines.peek()) != null && (d.atNanos() <= now || d.read().isDone())) {
            readDeadlines.poll();
            d.read().completeExceptionally(EtcdError.TIMEOUT.exception());
        }
    }

    private void onInbound(Message m) {
        if (removedMembers.contains(m.from())) {
            // A removed member that missed its own removal: tell it, so it stops (etcd's peer handler does this).
            transport.sendControl(m.from(), control(CTRL_REMOVED, 0, 0));
            return;
        }
        if (inboundSize.incrementAndGet() > MAX_INBOUND_MESSAGES) {
            inboundSize.decrementAndGet();
            metrics.droppedInbound();
            return;
        }
        inbound.add(m);
        if (inboundDrainScheduled.compareAndSet(false, true)) rt.execute(this::drainInbound);
    }

    private void drainInbound() {
        inboundDrainScheduled.set(false);
        Message m;
        while ((m = inbound.poll()) != null) {
            inboundSize.decrementAndGet();
            if (stopped) continue;
            try {
                node.step(m);
            } catch (IllegalArgumentException e) {
                LOG.warn("dropped malformed peer message from={} error=\"{}\"", Long.toHexString(m.from()), e.getMessage());
            } catch (RuntimeException e) {
                // A Raft invariant broken by a peer's message (an append conflicting with committed
                // entries, ...): Raft's state can no longer be trusted. etcd panics; this member stops.
                LOG.error("raft failed on a peer message; stopping member from={} message=\"{}\" error=\"{}\"",
                        Long.toHexString(m.from()), m.type(), e.toString());
                stopped = true;
                failAll(EtcdError.STOPPED);
                return;
            }
        }
        processReady();
    }

    /** The last log index in the local WAL (member loop only): entries up to it are durable here. */
    private long walLastIndex;

    private void processReady() {
        if (stopped) return;
        while (node.hasReady()) {
            Ready rd = node.ready();
            if (rd.hardState() != null) {
                term = rd.hardState().term();
                // Before any message of this Ready (which may carry the new commit index to followers) goes out.
                if (rd.hardState().commit() > raftCommitIndex) raftCommitIndex = rd.hardState().commit();
            }
            if (rd.softState() != null) onSoftState(rd.softState().lead(), rd.softState().role());
            boolean leader = role == StateRole.LEADER;
            if (leader) sendAll(rd.messages());
            List<Entry> committed = rd.committedEntries();
            int early = 0;
            if (!committed.isEmpty()) {
                metrics.committed(committed.size());
                committedIndex = committed.get(committed.size() - 1).index();
                if (rd.snapshot() == null) {
                    // Committed entries already in the local WAL (not replaced by this Ready's entries) go to
                    // the apply loop now, so that applying them overlaps this Ready's fsync: under load a
                    // leader's Ready carries new entries and older committed ones, and their answers need
                    // not wait for the new entries' fdatasync. (etcd hands committed entries to its applier
                    // before saving, too.)
                    long durable = rd.entries().isEmpty() ? walLastIndex : Math.min(walLastIndex, rd.entries().get(0).index() - 1);
                    while (early < committed.size() && committed.get(early).index() <= durable) early++;
                    if (early > 0) {
                        List<Entry> first = committed.subList(0, early);
                        rt.executeApply(() -> applyEntries(first));
                    }
                }
            }
            if (rd.snapshot() != null) {
                persistIncomingSnapshot(rd.snapshot());
                walLastIndex = rd.snapshot().index(); // the log restarts after the snapshot
            }
            persist(rd);
            if (!rd.entries().isEmpty()) walLastIndex = rd.entries().get(rd.entries().size() - 1).index();
            if (!leader) sendAll(rd.messages());
            for (ReadState rs : rd.readStates()) onReadState(rs);
            if (early < committed.size()) {
                List<Entry> rest = early == 0 ? committed : committed.subList(early, committed.size());
                rt.executeApply(() -> applyEntries(rest));
            }
            if (rd.hardState() != null) term = rd.hardState().term();
            node.advance(rd);
        }
    }

    private void persist(Ready rd) {
        if (rd.entries().isEmpty() && rd.hardState() == null) return;
        List<WalEntry> wes = new ArrayList<>(rd.entries().size());
        for (Entry e : rd.entries()) wes.add(toWal(e));
        io.quorumlab.raft.HardState hs = rd.hardState();
        try {
            // Blocks this loop in fdatasync when rd.mustSync(): the heart of the cascade model.
            wal.save(wes, hs == null ? null : new HardState(hs.term(), hs.vote(), hs.commit()));
        } catch (IOException | RuntimeException e) {
            // etcd panics here: the on-disk state is unknown, and continuing could break Raft's promises.
            LOG.error("wal save failed; stopping member error=\"{}\"", e.toString());
            stopped = true;
            failAll(EtcdError.STOPPED);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        raftStorage.append(rd.entries());
        if (hs != null) raftStorage.setHardState(hs);
    }

    private void persistIncomingSnapshot(Snapshot snap) {
        // The backend copy travels in the snapshot's data; Raft's own file keeps only the membership.
        // The copy is made durable first (etcd's <index>.snap.db): once the marker is in the WAL, a restart
        // starts Raft after the snapshot, and a crash before the apply loop restored it must find the copy.
        try {
            snapshotter.saveDb(snap.index(), snap.data());
            snapshotter.save(snap.term(), snap.index(), encodeConfState(snap.confState()));
            wal.saveSnapshot(new SnapshotMarker(snap.index(), snap.term()));
        } catch (IOException e) {
            LOG.error("saving a received snapshot failed; stopping member error=\"{}\"", e.toString());
            stopped = true;
            failAll(EtcdError.STOPPED);
            throw new UncheckedIOException(e);
        }
        raftStorage.applySnapshot(new Snapshot(snap.index(), snap.term(), snap.confState(), new byte[0]));
        lastSnapshotIndex = snap.index();
        byte[] data = snap.data();
        rt.executeApply(() -> {
            try {
                store.restore(new ByteArrayInputStream(data));
            } catch (IOException | RuntimeException | Error e) {
                // etcd panics here: Raft now starts after the snapshot, so applying later entries over the
                // old key space would silently diverge.
                stopAfterApplyFailure(e);
                return;
            }
            removeSnapshotDbs(snap.index()); // restored and committed: the copy is no longer needed
            // The snapshot carries the member table: a member that joined (or caught up) by snapshot
            // knows every member the compacted log had added, their names and URLs (MemberList,
            // MemberRemove and its peer connections depend on it).
            loadMembership();
            Map<Long, String> urls = peerUrlsOf(membership, union(snap.confState()));
            appliedIndex = snap.index();
            releaseAppliedWaiters();
            rt.execute(() -> {
                peerUrls.putAll(urls);
                updateMembershipFrom(snap.confState());
            });
        });
        LOG.info("installed snapshot index={} term={} bytes={}", snap.index(), snap.term(), data.length);
    }

    /**
     * Startup: the WAL starts after a received snapshot whose restore never finished (a crash between
     * the marker and the apply loop's restore). Restore from its saved copy, or refuse to start: Raft
     * would otherwise never apply the entries the snapshot covered (etcd panics alike).
     */
    private void restoreFromSnapshotDb(long index) throws IOException {
        byte[] data = snapshotter.loadDb(index).orElseThrow(() -> new IllegalStateException(
                "the backend's consistent index " + store.consistentIndex() + " is behind the snapshot at index " + index
                        + " and its backend copy " + Snapshotter.dbFileName(index) + " is missing: refusing to start"));
        store.restore(new ByteArrayInputStream(data));
        LOG.info("backend restored from the received snapshot copy file={} consistentIndex={}", Snapshotter.dbFileName(index),
                store.consistentIndex());
        loadMembership();
        peerUrls.putAll(peerUrlsOf(membership, null));
    }

    /** Drops received backend copies the backend has caught up with. */
    private void removeSnapshotDbs(long upTo) {
        try {
            snapshotter.removeDbs(upTo);
        } catch (IOException e) {
            LOG.warn("could not remove received snapshot copies error=\"{}\"", e.toString());
        }
    }

    private void sendAll(List<Message> msgs) {
        for (Message m : msgs) {
            if (m.type() == MessageType.SNAP) {
                sendSnapshot(m);
            } else {
                if (m.type() == MessageType.HEARTBEAT) heartbeatOnTime(m.to());
                long bytes = transport.send(m);
                if (bytes >= 0) metrics.peerSent(m.to(), bytes);
                else if (m.type() == MessageType.HEARTBEAT) metrics.heartbeatSendFailed();
            }
        }
        transport.flush(); // one flush per peer per Ready, before the leader's fsync
        metrics.messagesSent(msgs.size());
    }

    /** A leader's snapshot message carries a consistent copy of the backend, taken on the apply loop. */
    private void sendSnapshot(Message m) {
        Snapshot meta = m.snapshot();
        rt.executeApply(() -> {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try {
                store.snapshot(bos);
                Snapshot full = new Snapshot(meta.index(), meta.term(), meta.confState(), bos.toByteArray());
                transport.send(m.toBuilder().snapshot(full).build());
            } catch (IOException | RuntimeException | Error e) {
                // Reported as failed, or the leader's progress for that follower stays in snapshot state.
                LOG.warn("snapshot send failed to={} error=\"{}\"", Long.toHexString(m.to()), e.toString());
                rt.execute(() -> node.reportSnapshot(m.to(), true));
                return;
            }
            // The transport sends asynchronously; report success optimistically (etcd reports on stream end).
            rt.execute(() -> node.reportSnapshot(m.to(), false));
        });
    }

    /** When this leader last sent each follower a heartbeat (member loop); cleared on a role change. */
    private final Map<Long, Long> lastHeartbeatSent = new HashMap<>();

    /**
     * etcd's heartbeat timeout detector: a heartbeat sent more than two heartbeat intervals after the
     * previous one to the same follower counts as a send failure and is logged — the leader's loop was
     * held up (typically by a slow fdatasync), which is how a slow disk turns into elections.
     */
    private void heartbeatOnTime(long to) {
        long now = rt.nanoTime();
        Long last = lastHeartbeatSent.put(to, now);
        if (last == null) return;
        long expected = 2 * cfg.heartbeatMillis() * 1_000_000L;
        long took = now - last;
        if (took > expected) {
            metrics.heartbeatSendFailed();
            LOG.warn("leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk"
                    + " to={} heartbeat-interval={}ms expected-duration={}ms exceeded-duration={}ms", Long.toHexString(to),
                    cfg.heartbeatMillis(), expected / 1_000_000, (took - expected) / 1_000_000);
        }
    }

    private void onSoftState(long lead, StateRole newRole) {
        if (lead != leaderId) {
            if (lead != 0) metrics.leaderChanged();
            LOG.info("leader changed member={} leader={} term={}", Long.toHexString(memberId), Long.toHexString(lead), term);
        }
        StateRole old = role;
        role = newRole;
        leaderId = lead;
        if (old != newRole) lastHeartbeatSent.clear();
        metrics.setLeader(lead != 0, newRole == StateRole.LEADER);
        if (old != StateRole.LEADER && newRole == StateRole.LEADER) {
            leaderLoopAliveNanos = rt.nanoTime();
            leaderTermStartIndex = node.status().lastIndex();
            long extend = cfg.electionMillis() * 1_000_000L;
            rt.executeApply(() -> store.promoteLessor(extend));
        } else if (old == StateRole.LEADER && newRole != StateRole.LEADER) {
            rt.executeApply(store::demoteLessor);
        }
        if (lead == 0 && inflightReadCtx >= 0) {
            // The read round can no longer complete: fail fast, the client retries.
            for (CompletableFuture<Void> f : inflightReads) f.completeExceptionally(EtcdError.LEADER_CHANGED.exception());
            inflightReads = new ArrayList<>();
            inflightReadCtx = -1;
        }
    }

    /**
     * Twice a second on the member loop (etcd's lessor runs its own loop, not the apply path): time out
     * forwarded lease requests, and on the leader revoke expired leases.
     */
    private void scheduleLeaseCheck() {
        rt.schedule(LEASE_CHECK_NANOS, () -> {
            if (stopped) return;
            expireForwardedLeaseRequests();
            if (role == StateRole.LEADER) revokeExpiredLeases();
            scheduleLeaseCheck();
        });
    }

    /** Set while a revoke round waits for its leadership check (any thread clears it). */
    private final AtomicBoolean leaseRevokeRound = new AtomicBoolean();

    /**
     * Claims the expired leases (each then skipped for {@link #LEASE_REVOKE_RETRY_NANOS}), confirms
     * leadership with a ReadIndex round (etcd issue 15247: a leader whose loops were stalled may have
     * been deposed without knowing), then, still leader in the same term, proposes a revoke for each
     * lease that is still past its current deadline. One round at a time, so a stall longer than the
     * retry delay does not stack rounds.
     */
    private void revokeExpiredLeases() {
        if (leaseRevokeRound.get()) return;
        List<Long> due = store.claimExpiredLeases(MAX_LEASE_REVOKES_PER_CHECK, LEASE_REVOKE_RETRY_NANOS);
        if (due.isEmpty()) return;
        leaseRevokeRound.set(true);
        long claimTerm = term;
        readBarrier().whenComplete((v, err) -> {
            leaseRevokeRound.set(false);
            if (err != null) return; // the claims lapse after the retry delay
            rt.execute(() -> {
                if (stopped || role != StateRole.LEADER || term != claimTerm) return;
                for (long id : due) {
                    if (store.confirmLeaseRevoke(id)) propose(new LeaseRevokeRequest(id)).exceptionally(t -> null);
                }
            });
        });
    }

    // ---- proposals

    @Override
    public CompletableFuture<Response> propose(Request request) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        if (stopped) return failed(f, EtcdError.STOPPED);
        if (committedIndex - appliedIndex > MemberConfig.MAX_GAP_BETWEEN_APPLY_AND_COMMIT) {
            return failed(f, EtcdError.TOO_MANY_REQUESTS);
        }
        long id = requestIdSeq.incrementAndGet();
        if (request instanceof io.quorumlab.mvcc.api.LeaseGrantRequest g && g.id() == 0) {
            // Like etcd, the member names the lease before proposing, so every member applies the same id.
            request = new io.quorumlab.mvcc.api.LeaseGrantRequest(g.ttlSeconds(), requestIdSeq.incrementAndGet() & Long.MAX_VALUE);
        }
        byte[] data = RequestCodec.encode(id, request);
        if (data.length > cfg.maxRequestBytes()) return failed(f, EtcdError.REQUEST_TOO_LARGE);
        long cost = MvccStore.quotaCost(request);
        // Requests that add nothing (deletes, compactions, revokes) must pass: they are how space is freed.
        if (cost > 0 && !quotaAvailable(cost)) {
            // etcd's quota gate (the one place every write passes, gRPC or not): refuse, and raise the
            // NOSPACE alarm cluster-wide unless it is already raised.
            if (!store.noSpaceAlarmed()) {
                propose(new AlarmRequest(AlarmRequest.Action.ACTIVATE, memberId, AlarmRequest.AlarmType.NOSPACE))
                        .whenComplete((r, err) -> {
                            if (err != null) LOG.warn("failed to raise NOSPACE alarm error=\"{}\"", err.toString());
                        });
            }
            f.completeExceptionally(new MvccException(ErrorCode.NO_SPACE));
            return f;
        }
        if (pending.size() >= cfg.maxInflightProposals()) return failed(f, EtcdError.TOO_MANY_REQUESTS);
        if (proposalQueueSize.incrementAndGet() > cfg.maxInflightProposals()) {
            proposalQueueSize.decrementAndGet();
            return failed(f, EtcdError.TOO_MANY_REQUESTS);
        }
        pending.put(id, f);
        metrics.proposalsPending(pending.size());
        proposalQueue.add(new Proposal(id, data, f));
        if (proposalDrainScheduled.compareAndSet(false, true)) rt.execute(this::drainProposals);
        return f;
    }

    /**
     * etcd's quota gate reads bbolt's size (an atomic load); LMDB's size is two native calls that
     * allocate (4 % of a member's allocation under put load, on the gRPC thread). The size changes
     * only when the backend commits (every --backend-batch-interval, 100 ms by default), so it is
     * re-read at most once per {@link #DB_SIZE_REREAD_NANOS}: no staler than etcd's own check.
     */
    private boolean quotaAvailable(long cost) {
        if (store.noSpaceAlarmed()) return false;
        long now = rt.nanoTime();
        long size = dbSizeBytes;
        if (now - dbSizeReadNanos >= DB_SIZE_REREAD_NANOS || size < 0) {
            size = store.dbSizeBytes();
            dbSizeBytes = size;
            dbSizeReadNanos = now;
        }
        return size + cost <= quotaBytes;
    }

    private static final long DB_SIZE_REREAD_NANOS = 10_000_000L;
    /** The backend's size as last read (-1: never) and when; written by any proposing thread (a stale pair is harmless). */
    private volatile long dbSizeBytes = -1;
    private volatile long dbSizeReadNanos;

    private static <T> CompletableFuture<T> failed(CompletableFuture<T> f, EtcdError e) {
        f.completeExceptionally(e.exception());
        return f;
    }

    private void drainProposals() {
        proposalDrainScheduled.set(false);
        while (true) {
            List<Proposal> batch = new ArrayList<>();
            Proposal p;
            while (batch.size() < MAX_PROPOSALS_PER_BATCH && (p = proposalQueue.poll()) != null) {
                proposalQueueSize.decrementAndGet();
                batch.add(p);
            }
            if (batch.isEmpty()) break;
            if (stopped) {
                for (Proposal q : batch) failPending(q.id(), EtcdError.STOPPED);
                continue;
            }
            List<byte[]> datas = new ArrayList<>(batch.size());
            for (Proposal q : batch) datas.add(q.data());
            ProposalResult r = node.proposeBatch(datas);
            if (r.dropped()) {
                EtcdError err = switch (r) {
                    case DROPPED_NO_LEADER -> EtcdError.NO_LEADER;
                    case DROPPED_LEADERSHIP_TRANSFER -> EtcdError.LEADER_CHANGED;
                    case DROPPED_UNCOMMITTED_LIMIT -> EtcdError.TOO_MANY_REQUESTS;
                    default -> EtcdError.STOPPED;
                };
                metrics.proposalsFailed(batch.size());
                for (Proposal q : batch) failPending(q.id(), err);
            } else {
                long deadline = rt.nanoTime() + cfg.requestTimeoutMillis() * 1_000_000L;
                for (Proposal q : batch) proposalDeadlines.add(new Deadline(q.id(), null, deadline));
            }
        }
        processReady();
    }

    private boolean failPending(long id, EtcdError e) {
        CompletableFuture<Response> f = pending.remove(id);
        if (f == null) return false;
        metrics.proposalsPending(pending.size());
        return f.completeExceptionally(e.exception());
    }

    private void failAll(EtcdError e) {
        for (Long id : List.copyOf(pending.keySet())) failPending(id, e);
        CompletableFuture<Void> r;
        while ((r = readQueue.poll()) != null) r.completeExceptionally(e.exception());
        for (CompletableFuture<Void> f : inflightReads) f.completeExceptionally(e.exception());
        for (Long req : List.copyOf(forwardedKeepAlives.keySet())) {
            ForwardedKeepAlive w = takeForwarded(req);
            if (w != null) w.future().completeExceptionally(e.exception());
        }
    }

    // ---- linearizable reads

    @Override
    public CompletableFuture<Void> readBarrier() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (stopped) {
            f.completeExceptionally(EtcdError.STOPPED.exception());
            return f;
        }
        if (readQueueSize.incrementAndGet() > MAX_PENDING_READS) {
            readQueueSize.decrementAndGet();
            f.completeExceptionally(EtcdError.TOO_MANY_REQUESTS.exception());
            return f;
        }
        readQueue.add(f);
        if (readDrainScheduled.compareAndSet(false, true)) rt.execute(this::drainReads);
        return f;
    }

    private void drainReads() {
        readDrainScheduled.set(false);
        if (stopped) return;
        long now = rt.nanoTime();
        if (inflightReadCtx >= 0 && now - inflightReadSentNanos < READ_INDEX_RETRY_NANOS) {
            // One ReadIndex round at a time serves every read that queued meanwhile (etcd batches the same way).
            rt.schedule(READ_INDEX_RETRY_NANOS, () -> {
                if (readDrainScheduled.compareAndSet(false, true)) drainReads();
            });
            return;
        }
        if (inflightReadCtx >= 0) {
            // The last round got no answer (lost message, leader change): retry it with everyone queued since.
            LOG.debug("read index retry ctx={}", inflightReadCtx);
        }
        List<CompletableFuture<Void>> batch = new ArrayList<>(inflightReads);
        CompletableFuture<Void> f;
        long deadline = now + cfg.requestTimeoutMillis() * 1_000_000L;
        while ((f = readQueue.poll()) != null) {
            readQueueSize.decrementAndGet();
            if (!f.isDone()) {
                batch.add(f);
                readDeadlines.add(new Deadline(0, f, deadline));
            }
        }
        if (batch.isEmpty()) {
            inflightReadCtx = -1;
            inflightReads = new ArrayList<>();
            return;
        }
        if (leaderId == 0) {
            for (CompletableFuture<Void> r : batch) r.completeExceptionally(EtcdError.NO_LEADER.exception());
            inflightReadCtx = -1;
            inflightReads = new ArrayList<>();
            return;
        }
        inflightReadCtx = ++readCtxSeq;
        inflightReadSentNanos = now;
        inflightReads = batch;
        // The context names this member too: the leader tells apart reads forwarded by different followers.
        node.readIndex(ByteBuffer.allocate(16).putLong(memberId).putLong(inflightReadCtx).array());
        processReady();
        // Re-check later so that a lost round is retried.
        rt.schedule(READ_INDEX_RETRY_NANOS, () -> {
            if (inflightReadCtx >= 0 && readDrainScheduled.compareAndSet(false, true)) drainReads();
        });
    }

    private void onReadState(ReadState rs) {
        if (rs.context().length != 16) return;
        ByteBuffer b = ByteBuffer.wrap(rs.context());
        if (b.getLong() != memberId) return;
        long ctx = b.getLong();
        if (ctx != inflightReadCtx) return; // a stale round's answer
        List<CompletableFuture<Void>> batch = inflightReads;
        inflightReads = new ArrayList<>();
        inflightReadCtx = -1;
        long index = rs.index();
        rt.executeApply(() -> {
            for (CompletableFuture<Void> f : batch) {
                if (appliedIndex >= index) f.complete(null);
                else appliedWaiters.add(new IndexWaiter(index, f));
            }
        });
        if (!readQueue.isEmpty() && readDrainScheduled.compareAndSet(false, true)) rt.execute(this::drainReads);
    }

    // =========================================================================================
    // Apply loop
    // =========================================================================================

    private void applyEntries(List<Entry> entries) {
        try {
            for (Entry e : entries) {
                if (e.index() <= appliedIndex) continue; // covered by an installed snapshot
                switch (e.type()) {
                    case CONF_CHANGE -> applyConfChange(e);
                    case NORMAL -> applyNormal(e);
                }
                appliedIndex = e.index();
            }
        } catch (RuntimeException | Error ex) {
            // The store fail-stopped (a torn apply or a failed backend commit): stop like a failed WAL.
            stopAfterApplyFailure(ex);
            throw ex;
        }
        metrics.applied(entries.size());
        releaseAppliedWaiters();
        if (appliedIndex - lastSnapshotIndex >= cfg.snapshotCount() && snapshotInProgress.compareAndSet(false, true)) {
            long at = appliedIndex;
            try {
                store.commit(); // the snapshot must not claim what the backend has not made durable
            } catch (RuntimeException | Error ex) {
                snapshotInProgress.set(false);
                stopAfterApplyFailure(ex);
                throw ex;
            }
            rt.execute(() -> {
                try {
                    takeSnapshot(at);
                } finally {
                    snapshotInProgress.set(false);
                }
            });
        }
    }

    /**
     * etcd panics when applying fails: the key space may be half changed, or applied entries may never
     * become durable. This member stops (on its own loop, as after a failed WAL save): no proposals,
     * no linearizable reads; its pending requests fail with "etcdserver: server stopped".
     */
    private void stopAfterApplyFailure(Throwable e) {
        rt.execute(() -> {
            if (stopped) return;
            LOG.error("apply failed; stopping member error=\"{}\"", e.toString());
            stopped = true;
            failAll(EtcdError.STOPPED);
        });
    }

    private void applyNormal(Entry e) {
        if (e.data().length == 0) {
            store.applyNoop(e.index()); // a new leader's empty entry
            return;
        }
        if (e.data()[0] == ATTRIBUTES_VERSION && e.data().length >= 9) {
            applyAttributes(e);
            return;
        }
        RequestCodec.Envelope env;
        try {
            env = RequestCodec.decode(e.data(), rt.sharesEntryArrays());
        } catch (IllegalArgumentException ex) {
            LOG.error("undecodable entry index={} error=\"{}\"", e.index(), ex.getMessage());
            store.applyNoop(e.index());
            return;
        }
        CompletableFuture<Response> waiter = pending.remove(env.requestId());
        try {
            Response r = store.apply(e.index(), env.request());
            if (waiter != null) {
                // An installed snapshot's data already held this entry: its own answer is unknown here. etcd
                // leaves such a proposal to time out; answer that error now rather than a foreign response.
                if (r instanceof io.quorumlab.mvcc.api.AlreadyApplied) waiter.completeExceptionally(EtcdError.TIMEOUT.exception());
                else waiter.complete(r);
            }
        } catch (MvccException ex) {
            if (waiter != null) waiter.completeExceptionally(ex);
        } catch (RuntimeException ex) {
            LOG.error("apply failed index={} error=\"{}\"", e.index(), ex.toString());
            if (waiter != null) waiter.completeExceptionally(ex);
            throw ex;
        }
        if (waiter != null) metrics.proposalsPending(pending.size());
    }

    private void applyConfChange(Entry e) {
        ConfChange cc = ConfChange.decode(e.data());
        MemberContext ctx = decodeMemberContext(cc.context());
        boolean replay = e.index() <= store.consistentIndex();
        if (!replay) recordMembership(cc, ctx);
        store.applyNoop(e.index());
        CompletableFuture<List<MemberInfo>> waiter = ctx == null ? null : pendingConfChanges.remove(ctx.requestId());
        if (waiter != null) waiter.complete(members());
        rt.execute(() -> {
            ConfState cs = node.applyConfChange(cc);
            if (cc.type() == ConfChangeType.ADD_NODE || cc.type() == ConfChangeType.ADD_LEARNER_NODE
                    || cc.type() == ConfChangeType.UPDATE_NODE) {
                if (ctx != null && !ctx.peerUrls().isEmpty() && cc.nodeId() != memberId) peerUrls.put(cc.nodeId(), ctx.peerUrls());
            }
            if (cc.type() == ConfChangeType.REMOVE_NODE) {
                String url = peerUrls.remove(cc.nodeId());
                if (url != null && removedPeerUrls.size() < 1024) removedPeerUrls.put(cc.nodeId(), url);
                if (cc.nodeId() == memberId) {
                    LOG.warn("this member was removed from the cluster; stopping member={}", Long.toHexString(memberId));
                    stopped = true;
                    failAll(EtcdError.STOPPED);
                }
            }
            updateMembershipFrom(cs);
        });
    }

    /** Applies a membership change to the member table and the backend (apply loop, same batch as the index). */
    private void recordMembership(ConfChange cc, MemberContext ctx) {
        java.util.TreeMap<Long, MemberInfo> next = new java.util.TreeMap<>(membership);
        MemberInfo cur = next.get(cc.nodeId());
        List<String> peers = ctx == null ? List.of() : MemberInfo.split(ctx.peerUrls());
        String name = ctx == null ? "" : ctx.name();
        switch (cc.type()) {
            case ADD_NODE -> next.put(cc.nodeId(), cur != null ? cur.promoted()
                    : new MemberInfo(cc.nodeId(), name, peers, List.of(), false));
            case ADD_LEARNER_NODE -> {
                if (cur == null) next.put(cc.nodeId(), new MemberInfo(cc.nodeId(), name, peers, List.of(), true));
            }
            case UPDATE_NODE -> {
                if (cur != null) next.put(cc.nodeId(), cur.withPeers(peers));
            }
            case REMOVE_NODE -> {
                next.remove(cc.nodeId());
                removedMembers.add(cc.nodeId());
                store.backend().put(io.quorumlab.mvcc.backend.Bucket.META, idKey(REMOVED_KEY_PREFIX, cc.nodeId()), new byte[0]);
            }
        }
        persistMember(cc.nodeId(), next.get(cc.nodeId()));
        membership = java.util.Collections.unmodifiableSortedMap(next);
    }

    private void persistMember(long id, MemberInfo m) {
        byte[] key = memberKey(id);
        if (m == null) store.backend().delete(io.quorumlab.mvcc.backend.Bucket.META, key);
        else store.backend().put(io.quorumlab.mvcc.backend.Bucket.META, key, m.encode());
    }

    private static byte[] memberKey(long id) {
        return idKey(MEMBER_KEY_PREFIX, id);
    }

    private static byte[] idKey(byte[] prefix, long id) {
        return ByteBuffer.allocate(prefix.length + 8).put(prefix).putLong(id).array();
    }

    private void loadMembership() {
        java.util.TreeMap<Long, MemberInfo> m = new java.util.TreeMap<>();
        byte[] end = MEMBER_KEY_PREFIX.clone();
        end[end.length - 1]++;
        store.backend().scan(io.quorumlab.mvcc.backend.Bucket.META, MEMBER_KEY_PREFIX, end, (k, v) -> {
            long id = ByteBuffer.wrap(k, MEMBER_KEY_PREFIX.length, 8).getLong();
            m.put(id, MemberInfo.decode(id, v));
            return true;
        });
        membership = java.util.Collections.unmodifiableSortedMap(m);
        byte[] rend = REMOVED_KEY_PREFIX.clone();
        rend[rend.length - 1]++;
        store.backend().scan(io.quorumlab.mvcc.backend.Bucket.META, REMOVED_KEY_PREFIX, rend, (k, v) -> {
            removedMembers.add(ByteBuffer.wrap(k, REMOVED_KEY_PREFIX.length, 8).getLong());
            return true;
        });
    }

    /**
     * Peer URLs of the members in {@code table} other than this one and not removed, restricted to
     * {@code members} when given (a snapshot's configuration).
     */
    private Map<Long, String> peerUrlsOf(java.util.SortedMap<Long, MemberInfo> table, java.util.Set<Long> members) {
        Map<Long, String> urls = new TreeMap<>();
        for (MemberInfo m : table.values()) {
            if (m.id() == memberId || m.peerUrls().isEmpty() || removedMembers.contains(m.id())) continue;
            if (members != null && !members.contains(m.id())) continue;
            urls.put(m.id(), String.join(",", m.peerUrls()));
        }
        return urls;
    }

    /** A member's published name and client URLs (etcd's "attributes"), applied from the log. */
    private void applyAttributes(Entry e) {
        if (e.index() > store.consistentIndex()) {
            String[] p = new String(e.data(), 9, e.data().length - 9, StandardCharsets.UTF_8).split("\n", -1);
            long id = ByteBuffer.wrap(e.data(), 1, 8).getLong();
            MemberInfo cur = membership.get(id);
            if (cur != null && p.length == 2) {
                java.util.TreeMap<Long, MemberInfo> next = new java.util.TreeMap<>(membership);
                next.put(id, cur.withClient(p[0], MemberInfo.split(p[1])));
                persistMember(id, next.get(id));
                membership = java.util.Collections.unmodifiableSortedMap(next);
            }
        }
        store.applyNoop(e.index());
        MemberInfo me = membership.get(memberId);
        if (me != null && me.name().equals(cfg.name()) && me.clientUrls().equals(cfg.clientUrls())) published = true;
    }

    /** Publishes this member's name and client URLs through Raft until they are applied (etcd does the same). */
    private void schedulePublish() {
        schedulePublish(PUBLISH_POLL_NANOS);
    }

    private void schedulePublish(long delayNanos) {
        rt.schedule(delayNanos, () -> {
            if (stopped || published) return;
            if (leaderId == 0) {
                schedulePublish(PUBLISH_POLL_NANOS);
                return;
            }
            byte[] n = (cfg.name() + "\n" + String.join(",", cfg.clientUrls())).getBytes(StandardCharsets.UTF_8);
            byte[] data = ByteBuffer.allocate(9 + n.length).put(ATTRIBUTES_VERSION).putLong(memberId).put(n).array();
            node.propose(data);
            processReady();
            // An attempt is in flight: a slow apply (or a lost proposal) is given etcd's request timeout
            // before the next one, instead of a duplicate every poll.
            schedulePublish(publishRetryNanos());
        });
    }

    /** etcd's publish timeout: its request timeout. */
    private long publishRetryNanos() {
        return cfg.requestTimeoutMillis() * 1_000_000L;
    }

    private void updateMembershipFrom(ConfState cs) {
        learner = cs.learners().contains(memberId);
        java.util.Set<Long> members = union(cs);
        for (Long id : List.copyOf(peerUrls.keySet())) {
            if (!members.contains(id)) removedPeerUrls.putIfAbsent(id, peerUrls.remove(id));
        }
        // Removed members stay reachable for one purpose: telling them they were removed.
        Map<Long, String> all = new TreeMap<>(removedPeerUrls);
        all.putAll(peerUrls);
        transport.updatePeers(all);
    }

    /** Peer URLs of members removed while this member ran (member loop); bounded. */
    private final Map<Long, String> removedPeerUrls = new TreeMap<>();

    private static java.util.Set<Long> union(ConfState cs) {
        java.util.Set<Long> s = new java.util.HashSet<>(cs.voters());
        s.addAll(cs.learners());
        return s;
    }

    private void releaseAppliedWaiters() {
        while (!appliedWaiters.isEmpty() && appliedWaiters.peek().index() <= appliedIndex) {
            appliedWaiters.poll().future().complete(null);
        }
    }

    // ---- snapshots

    private void takeSnapshot(long index) {
        if (stopped || index <= lastSnapshotIndex) return;
        ConfState cs = node.status().confState();
        try {
            Snapshot snap = raftStorage.createSnapshot(index, cs, new byte[0]);
            snapshotter.save(snap.term(), snap.index(), encodeConfState(cs));
            wal.saveSnapshot(new SnapshotMarker(snap.index(), snap.term()));
            lastSnapshotIndex = index;
            // Keep some entries so that slow followers catch up from the log rather than a snapshot.
            long compactTo = index - cfg.snapshotCatchUpEntries();
            if (compactTo > raftStorage.firstIndex()) {
                raftStorage.compact(compactTo);
                wal.releaseTo(compactTo);
            }
            snapshotter.purge(cfg.maxSnapshots());
            LOG.info("snapshot taken index={} term={} compacted-to={}", snap.index(), snap.term(), compactTo);
        } catch (IOException e) {
            LOG.error("snapshot failed index={} error=\"{}\"", index, e.getMessage());
        }
    }

    // =========================================================================================
    // MemberApi
    // =========================================================================================

    @Override
    public long clusterId() {
        return clusterId;
    }

    @Override
    public long memberId() {
        return memberId;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public long leaderId() {
        return leaderId;
    }

    @Override
    public MvccStore store() {
        return store;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    @Override
    public CompletableFuture<LeaseKeepAliveResponse> leaseKeepAlive(long leaseId) {
        CompletableFuture<LeaseKeepAliveResponse> f = new CompletableFuture<>();
        if (stopped) return failed(f, EtcdError.STOPPED);
        long leader = leaderId;
        if (leader == 0) return failed(f, EtcdError.NO_LEADER);
        // Only the leader's lessor keeps time: forward, as etcd forwards keep-alives to the leader.
        if (leader != memberId) return forwardLeaseRequest(leader, CTRL_KEEPALIVE, leaseId, f);
        // A leader whose loop has not ticked for an election timeout may have been replaced: the client should
        // renew elsewhere (etcd's ensureLeadership).
        if (!leaderLoopFresh()) return failed(f, EtcdError.NOT_LEADER);
        // Under the lessor's lock (etcd's Renew), once caught up with what was committed: never queued behind
        // an apply that started later.
        return whenLeaseCaughtUp(() -> store.leaseKeepAlive(leaseId), f);
    }

    /** Whether this leader's loop ticked as leader within the last election timeout. */
    private boolean leaderLoopFresh() {
        return rt.nanoTime() - leaderLoopAliveNanos <= cfg.electionMillis() * 1_000_000L;
    }

    /** etcd's wait for the applied index on the leader's lease path (waitAppliedIndex; its applyTimeout, 1 s). */
    private static final long LEASE_APPLY_WAIT_NANOS = 1_000_000_000L;

    /**
     * Runs a leader's lease answer (keep-alive, remaining TTL). When this member has applied everything it
     * had committed when the request arrived (and everything before its own term's first entry: a new
     * leader's commit index can lag its predecessor's) and its lessor is primary, at once. When it has not:
     * a lease the lessor knows is still answered at once, so that a renewal never waits behind an apply stall
     * while other writes commit (the holder would lose a lease it keeps alive: etcd issue 15247); only a lease
     * it does not know (its grant committed, not yet applied here: review r9l) waits for those entries, on the
     * apply loop, at most 1 s (etcd's applyTimeout), then "etcdserver: request timed out". Known gap, as etcd
     * 3.4's local Renew: a keep-alive reaching the leader between a revoke's commit and its apply there is
     * still answered with the lease's TTL.
     */
    private <T> CompletableFuture<T> whenLeaseCaughtUp(java.util.function.Supplier<T> answer, CompletableFuture<T> f) {
        long target = Math.max(Math.max(committedIndex, raftCommitIndex), leaderTermStartIndex);
        if (store.leasePrimary()) {
            if (appliedIndex >= target) {
                completeWith(answer, f);
                return f;
            }
            try {
                f.complete(answer.get());
                return f;
            } catch (MvccException e) {
                if (e.code() != ErrorCode.LEASE_NOT_FOUND) {
                    f.completeExceptionally(e);
                    return f;
                }
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
                return f;
            }
        }
        rt.schedule(LEASE_APPLY_WAIT_NANOS, () -> f.completeExceptionally(EtcdError.TIMEOUT.exception()));
        awaitLeaseCaughtUp(target, answer, f);
        return f;
    }

    private <T> void awaitLeaseCaughtUp(long target, java.util.function.Supplier<T> answer, CompletableFuture<T> f) {
        rt.executeApply(() -> {
            if (f.isDone()) return; // timed out
            if (appliedIndex >= target && store.leasePrimary()) {
                completeWith(answer, f);
            } else if (stopped) {
                f.completeExceptionally(EtcdError.STOPPED.exception());
            } else if (leaderId != memberId) {
                f.completeExceptionally(EtcdError.NOT_LEADER.exception());
            } else {
                // The entries are not queued here yet (the member loop is in their fdatasync): look again.
                rt.schedule(1_000_000L, () -> awaitLeaseCaughtUp(target, answer, f));
            }
        });
    }

    private static <T> void completeWith(java.util.function.Supplier<T> answer, CompletableFuture<T> f) {
        try {
            f.complete(answer.get());
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
    }

    @Override
    public CompletableFuture<io.quorumlab.mvcc.api.LeaseTimeToLiveResponse> leaseTimeToLive(long leaseId, boolean keys) {
        long leader = leaderId;
        if (leader == 0 || leader == memberId) return MemberApi.super.leaseTimeToLive(leaseId, keys);
        // A follower's lessor does not keep time: ask the leader for the remaining TTL.
        CompletableFuture<LeaseKeepAliveResponse> remaining = forwardLeaseRequest(leader, CTRL_TTL, leaseId, new CompletableFuture<>());
        if (remaining.isCompletedExceptionally()) return remaining.thenApply(r -> (io.quorumlab.mvcc.api.LeaseTimeToLiveResponse) null);
        return readBarrier().thenCombine(remaining, (v, ttl) -> {
            io.quorumlab.mvcc.api.LeaseTimeToLiveResponse local = store.leaseTimeToLive(leaseId, keys);
            return new io.quorumlab.mvcc.api.LeaseTimeToLiveResponse(local.header(), local.id(), ttl.ttl(), local.grantedTtl(),
                    local.keys());
        });
    }

    private static final byte CTRL_TTL = 8;

    private static final byte CTRL_KEEPALIVE = 1, CTRL_KEEPALIVE_OK = 2, CTRL_KEEPALIVE_NOT_FOUND = 3, CTRL_KEEPALIVE_NOT_LEADER = 4;
    /**
     * Keep-alives and TimeToLives a follower has forwarded to the leader and not yet had answered,
     * together: one more is refused with "etcdserver: too many requests".
     */
    static final int MAX_FORWARDED_LEASE_REQUESTS = 10_000;
    private record ForwardedKeepAlive(long leaseId, CompletableFuture<LeaseKeepAliveResponse> future, long deadlineNanos) {}

    private final ConcurrentHashMap<Long, ForwardedKeepAlive> forwardedKeepAlives = new ConcurrentHashMap<>();
    /** Entries of {@link #forwardedKeepAlives}, reserved before the put: the bound holds under concurrent callers. */
    private final AtomicInteger forwardedInFlight = new AtomicInteger();

    /** Sends a keep-alive or TimeToLive to the leader; {@code f} completes with its answer, a timeout or a refusal. */
    private CompletableFuture<LeaseKeepAliveResponse> forwardLeaseRequest(long leader, byte kind, long leaseId,
                                                                          CompletableFuture<LeaseKeepAliveResponse> f) {
        if (stopped) return failed(f, EtcdError.STOPPED); // nothing sweeps a stopped member's requests
        if (forwardedInFlight.incrementAndGet() > MAX_FORWARDED_LEASE_REQUESTS) {
            forwardedInFlight.decrementAndGet();
            return failed(f, EtcdError.TOO_MANY_REQUESTS);
        }
        long req = requestIdSeq.incrementAndGet();
        forwardedKeepAlives.put(req, new ForwardedKeepAlive(leaseId, f, rt.nanoTime() + cfg.requestTimeoutMillis() * 1_000_000L));
        if (stopped) {
            // Stopped after the check above: failAll may have run before the put, and nothing sweeps any more.
            ForwardedKeepAlive w = takeForwarded(req);
            if (w != null) w.future().completeExceptionally(EtcdError.STOPPED.exception());
            return f;
        }
        transport.sendControl(leader, control(kind, req, leaseId));
        return f;
    }

    /** The forwarded request {@code req}, if still waiting; whoever takes it frees its slot. */
    private ForwardedKeepAlive takeForwarded(long req) {
        ForwardedKeepAlive w = forwardedKeepAlives.remove(req);
        if (w != null) forwardedInFlight.decrementAndGet();
        return w;
    }

    /** Member loop, with the lease check: forwarded requests past their deadline fail (no timer per request). */
    private void expireForwardedLeaseRequests() {
        if (forwardedKeepAlives.isEmpty()) return;
        long now = rt.nanoTime();
        for (Map.Entry<Long, ForwardedKeepAlive> e : forwardedKeepAlives.entrySet()) {
            if (now - e.getValue().deadlineNanos() < 0) continue;
            ForwardedKeepAlive w = takeForwarded(e.getKey());
            if (w != null) w.future().completeExceptionally(EtcdError.TIMEOUT.exception());
        }
    }

    /** Answers a follower's forwarded keep-alive or TimeToLive with the leader's TTL or why not (no answer on a timeout: the follower's sweep fails it). */
    private void answerForwardedLease(long from, long req, CompletableFuture<Long> ttl) {
        ttl.whenComplete((t, e) -> {
            Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (c == null) {
                transport.sendControl(from, control(CTRL_KEEPALIVE_OK, req, t));
            } else if (c instanceof MvccException) {
                transport.sendControl(from, control(CTRL_KEEPALIVE_NOT_FOUND, req, 0));
            } else if (c instanceof EtcdException ee && ee.error() == EtcdError.NOT_LEADER) {
                transport.sendControl(from, control(CTRL_KEEPALIVE_NOT_LEADER, req, 0));
            }
        });
    }

    /** A control payload: {@code [kind][a][b]}, the shape every control message but the hash answer has. */
    private static byte[] control(byte kind, long a, long b) {
        return ByteBuffer.allocate(17).put(kind).putLong(a).putLong(b).array();
    }

    /** Control messages from other members: forwarded keep-alives and their answers. */
    private void onControl(long from, byte[] payload) {
        if (payload.length < 17) return;
        ByteBuffer b = ByteBuffer.wrap(payload);
        byte kind = b.get();
        long req = b.getLong();
        long arg = b.getLong();
        switch (kind) {
            case CTRL_TTL -> {
                if (leaderId != memberId) {
                    transport.sendControl(from, control(CTRL_KEEPALIVE_NOT_LEADER, req, 0));
                    return;
                }
                // The lessor's lock, once caught up with the committed index (as a local TimeToLive).
                answerForwardedLease(from, req, whenLeaseCaughtUp(() -> store.leaseRemainingTtl(arg), new CompletableFuture<>()));
            }
            case CTRL_KEEPALIVE -> {
                if (leaderId != memberId) {
                    transport.sendControl(from, control(CTRL_KEEPALIVE_NOT_LEADER, req, 0));
                    return;
                }
                if (!leaderLoopFresh()) {
                    transport.sendControl(from, control(CTRL_KEEPALIVE_NOT_LEADER, req, 0));
                    return;
                }
                // As a local keep-alive: under the lessor's lock, once caught up with the committed index.
                answerForwardedLease(from, req, whenLeaseCaughtUp(() -> store.leaseKeepAlive(arg).ttl(), new CompletableFuture<>()));
            }
            case CTRL_KEEPALIVE_OK, CTRL_KEEPALIVE_NOT_FOUND, CTRL_KEEPALIVE_NOT_LEADER -> {
                ForwardedKeepAlive w = takeForwarded(req);
                if (w == null) return;
                if (kind == CTRL_KEEPALIVE_OK) {
                    w.future().complete(new LeaseKeepAliveResponse(
                            io.quorumlab.mvcc.api.ResponseHeader.ofRevision(store.currentRevision()), w.leaseId(), arg));
                } else if (kind == CTRL_KEEPALIVE_NOT_FOUND) {
                    w.future().completeExceptionally(new MvccException(ErrorCode.LEASE_NOT_FOUND));
                } else {
                    w.future().completeExceptionally(EtcdError.NOT_LEADER.exception());
                }
            }
            case CTRL_HASH -> answerHash(from, req);
            case CTRL_HASH_OK -> {
                if (payload.length >= 25) checkPeerHash(from, req, arg, b.getLong());
            }
            case CTRL_PING -> transport.sendControl(from, control(CTRL_PONG, req, 0));
            case CTRL_PONG -> metrics.peerRoundTrip(from, rt.nanoTime() - req);
            case CTRL_REMOVED -> {
                if (membership.containsKey(from) && !removedMembers.contains(from)) {
                    rt.execute(() -> {
                        if (stopped) return;
                        LOG.warn("member {} says this member was removed from the cluster; stopping member={}",
                                Long.toHexString(from), Long.toHexString(memberId));
                        stopped = true;
                        failAll(EtcdError.STOPPED);
                    });
                }
            }
            default -> LOG.warn("unknown control message kind={} from={}", kind, Long.toHexString(from));
        }
    }

    @Override
    public List<MemberInfo> members() {
        return List.copyOf(membership.values());
    }

    @Override
    public CompletableFuture<MembershipChange> addMember(List<String> urls, boolean asLearner) {
        CompletableFuture<MembershipChange> f = new CompletableFuture<>();
        if (urls.isEmpty()) return failed(f, EtcdError.MEMBER_NOT_FOUND);
        for (MemberInfo m : membership.values()) {
            for (String u : urls) if (m.peerUrls().contains(u)) return failed(f, EtcdError.PEER_URL_EXISTS);
        }
        // From the peer URLs and the cluster token, so that the new member, started with
        // --initial-cluster-state existing, derives the same id (etcd also mixes in the time and has the
        // joiner look itself up from its peers; a removed member cannot rejoin under the same URLs here).
        long id = MemberIds.memberId(String.join(",", urls), cfg.initialClusterToken());
        if (membership.containsKey(id)) return failed(f, EtcdError.PEER_URL_EXISTS);
        ConfChange cc = new ConfChange(asLearner ? ConfChangeType.ADD_LEARNER_NODE : ConfChangeType.ADD_NODE, id,
                null);
        return proposeMembership(cc, String.join(",", urls), () -> {
            if (!asLearner && !enoughStartedMembersToAdd()) return EtcdError.NOT_ENOUGH_STARTED_MEMBERS;
            return null;
        }, id);
    }

    @Override
    public CompletableFuture<MembershipChange> removeMember(long id) {
        CompletableFuture<MembershipChange> f = new CompletableFuture<>();
        MemberInfo m = membership.get(id);
        if (m == null) return failed(f, EtcdError.MEMBER_NOT_FOUND);
        return proposeMembership(new ConfChange(ConfChangeType.REMOVE_NODE, id, null), "", () -> {
            if (!m.learner() && !healthyAfterRemoving(id)) return EtcdError.UNHEALTHY_CLUSTER;
            return null;
        }, id);
    }

    @Override
    public CompletableFuture<MembershipChange> updateMember(long id, List<String> urls) {
        CompletableFuture<MembershipChange> f = new CompletableFuture<>();
        if (!membership.containsKey(id)) return failed(f, EtcdError.MEMBER_NOT_FOUND);
        for (MemberInfo m : membership.values()) {
            if (m.id() == id) continue;
            for (String u : urls) if (m.peerUrls().contains(u)) return failed(f, EtcdError.PEER_URL_EXISTS);
        }
        return proposeMembership(new ConfChange(ConfChangeType.UPDATE_NODE, id, null), String.join(",", urls), () -> null, id);
    }

    @Override
    public CompletableFuture<MembershipChange> promoteMember(long id) {
        CompletableFuture<MembershipChange> f = new CompletableFuture<>();
        MemberInfo m = membership.get(id);
        if (m == null) return failed(f, EtcdError.MEMBER_NOT_FOUND);
        if (!m.learner()) return failed(f, EtcdError.MEMBER_NOT_LEARNER);
        return proposeMembership(new ConfChange(ConfChangeType.ADD_NODE, id, null), String.join(",", m.peerUrls()),
                () -> learnerInSync(id) ? null : EtcdError.LEARNER_NOT_READY, id);
    }

    /**
     * Proposes a membership change from the member loop after {@code check} (run there, where Raft's
     * progress can be read) passes; completes when the change is applied here.
     */
    private CompletableFuture<MembershipChange> proposeMembership(ConfChange cc, String peers,
                                                                  java.util.function.Supplier<EtcdError> check, long subject) {
        CompletableFuture<MembershipChange> out = new CompletableFuture<>();
        long req = requestIdSeq.incrementAndGet();
        ConfChange withCtx = new ConfChange(cc.type(), cc.nodeId(), encodeMemberContext(req, "", peers));
        CompletableFuture<List<MemberInfo>> applied = new CompletableFuture<>();
        applied.whenComplete((ms, err) -> {
            if (err != null) {
                out.completeExceptionally(err);
                return;
            }
            MemberInfo m = null;
            for (MemberInfo x : ms) if (x.id() == subject) m = x;
            if (m == null) m = new MemberInfo(subject, "", MemberInfo.split(peers), List.of(), false);
            out.complete(new MembershipChange(m, ms));
        });
        rt.execute(() -> {
            if (stopped) {
                applied.completeExceptionally(EtcdError.STOPPED.exception());
                return;
            }
            if (leaderId == 0) {
                applied.completeExceptionally(EtcdError.NO_LEADER.exception());
                return;
            }
            EtcdError problem = check.get();
            if (problem != null) {
                applied.completeExceptionally(problem.exception());
                return;
            }
            pendingConfChanges.put(req, applied);
            ProposalResult r = node.proposeConfChange(withCtx);
            if (r.dropped()) {
                pendingConfChanges.remove(req);
                // Another change is still pending (Raft allows one at a time): etcd times such a request out.
                applied.completeExceptionally((r == ProposalResult.DROPPED_NO_LEADER ? EtcdError.NO_LEADER : EtcdError.TIMEOUT)
                        .exception());
                return;
            }
            processReady();
            rt.schedule(cfg.requestTimeoutMillis() * 1_000_000L, () -> {
                CompletableFuture<List<MemberInfo>> w = pendingConfChanges.remove(req);
                if (w != null) w.completeExceptionally(EtcdError.TIMEOUT.exception());
            });
        });
        return out;
    }

    /** --strict-reconfig-check for adding a voter: a quorum of the new cluster must be up now (leader's view). */
    private boolean enoughStartedMembersToAdd() {
        var st = node.status();
        if (st.progress().isEmpty()) return true; // not the leader: it will not know better; etcd checks locally too
        int voters = st.confState().voters().size();
        int active = 0;
        for (var e : st.progress().entrySet()) {
            if (!e.getValue().learner() && (e.getKey() == memberId || e.getValue().recentActive())) active++;
        }
        return active >= (voters + 1) / 2 + 1;
    }

    /** --strict-reconfig-check for removing a voter: the rest must still have an active quorum. */
    private boolean healthyAfterRemoving(long id) {
        var st = node.status();
        if (st.progress().isEmpty()) return true;
        int remaining = 0, active = 0;
        for (var e : st.progress().entrySet()) {
            if (e.getValue().learner() || e.getKey() == id) continue;
            remaining++;
            if (e.getKey() == memberId || e.getValue().recentActive()) active++;
        }
        return remaining > 0 && active >= remaining / 2 + 1;
    }

    /** etcd promotes a learner only when its log is within 90% of the leader's. */
    private boolean learnerInSync(long id) {
        var st = node.status();
        if (st.progress().isEmpty()) return true;
        var p = st.progress().get(id);
        var self = st.progress().get(memberId);
        return p != null && self != null && p.match() >= self.match() * 0.9;
    }

    @Override
    public CompletableFuture<Void> moveLeader(long target) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (leaderId != memberId) return failed(f, EtcdError.NOT_LEADER);
        MemberInfo t = membership.get(target);
        if (t == null || t.learner()) return failed(f, EtcdError.BAD_LEADER_TRANSFEREE);
        if (target == memberId) {
            f.complete(null);
            return f;
        }
        rt.execute(() -> {
            node.transferLeadership(target);
            processReady();
        });
        long deadline = rt.nanoTime() + cfg.electionMillis() * 3_000_000L;
        pollTransfer(f, target, deadline);
        return f;
    }

    private void pollTransfer(CompletableFuture<Void> f, long target, long deadline) {
        rt.schedule(cfg.heartbeatMillis() * 1_000_000L, () -> {
            if (leaderId == target) f.complete(null);
            else if (rt.nanoTime() >= deadline || stopped) f.completeExceptionally(EtcdError.LEADER_TRANSFER_TIMEOUT.exception());
            else pollTransfer(f, target, deadline);
        });
    }

    @Override
    public CompletableFuture<io.quorumlab.mvcc.backend.Backend.Snapshot> openSnapshot() {
        CompletableFuture<io.quorumlab.mvcc.backend.Backend.Snapshot> f = new CompletableFuture<>();
        rt.executeApply(() -> {
            try {
                f.complete(store.openSnapshot());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /**
     * Rewrites a restored backend for a new cluster (snapshot restore): forgets the old membership and
     * the old log position. Call on a store nobody else uses yet.
     */
    public static void prepareRestoredStore(MvccStore store) {
        store.transferApplyOwnership();
        for (byte[] prefix : new byte[][] {MEMBER_KEY_PREFIX, REMOVED_KEY_PREFIX}) {
            byte[] end = prefix.clone();
            end[end.length - 1]++;
            List<byte[]> keys = new ArrayList<>();
            store.backend().scan(io.quorumlab.mvcc.backend.Bucket.META, prefix, end, (k, v) -> keys.add(k) || true);
            for (byte[] k : keys) store.backend().delete(io.quorumlab.mvcc.backend.Bucket.META, k);
        }
        store.resetConsistentIndex();
    }

    @Override
    public CompletableFuture<Void> defragment() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        rt.executeApply(() -> {
            try {
                store.defragment();
                f.complete(null);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    @Override
    public MemberStatus status() {
        return new MemberStatus(memberId, leaderId, term, committedIndex, appliedIndex, store.dbSizeBytes(),
                store.dbSizeInUseBytes(), learner, "3.4.23");
    }

    public String name() {
        return cfg.name();
    }

    /**
     * Power loss (the simulator): stop at once, keep nothing in memory. What the WAL and backend made
     * durable is what a restarted member finds.
     */
    public void crash() {
        stopped = true;
        transport.close();
        failAll(EtcdError.STOPPED);
    }

    public MemberMetrics metrics() {
        return metrics;
    }

    public boolean isStopped() {
        return stopped;
    }

    /** The member's role as Raft sees it (for metrics and the simulator). */
    public StateRole role() {
        return role;
    }

    @Override
    public void close() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        rt.execute(() -> {
            stopped = true;
            failAll(EtcdError.STOPPED);
            try {
                wal.close();
            } catch (IOException e) {
                LOG.warn("wal close failed error=\"{}\"", e.getMessage());
            }
            rt.executeApply(() -> {
                try {
                    store.close();
                } finally {
                    done.complete(null);
                }
            });
        });
        transport.close();
        try {
            done.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("member close did not finish cleanly error=\"{}\"", e.toString());
        }
        closed.complete(null);
    }

    // =========================================================================================
    // encodings
    // =========================================================================================

    static WalEntry toWal(Entry e) {
        return new WalEntry(e.term(), e.index(), e.type().ordinal(), e.data());
    }

    static Entry fromWal(WalEntry we) {
        return new Entry(we.term(), we.index(), EntryType.values()[we.type()], we.data());
    }

    /** A conf change's context: who proposed it (request id, to answer the client) and the member's identity. */
    record MemberContext(long requestId, String name, String peerUrls) {}

    private static final byte CONTEXT_MAGIC = 0x51;

    static byte[] encodeMemberContext(long requestId, String name, String peerUrls) {
        byte[] text = (name + "\n" + peerUrls).getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(9 + text.length).put(CONTEXT_MAGIC).putLong(requestId).put(text).array();
    }

    static MemberContext decodeMemberContext(byte[] ctx) {
        if (ctx.length < 9 || ctx[0] != CONTEXT_MAGIC) return null;
        long id = ByteBuffer.wrap(ctx, 1, 8).getLong();
        String[] parts = new String(ctx, 9, ctx.length - 9, StandardCharsets.UTF_8).split("\n", 2);
        return new MemberContext(id, parts[0], parts.length == 2 ? parts[1] : "");
    }

    static byte[] encodeConfState(ConfState cs) {
        ByteBuffer b = ByteBuffer.allocate(8 + 8 * (cs.voters().size() + cs.learners().size()));
        b.putInt(cs.voters().size()).putInt(cs.learners().size());
        for (long v : cs.voters()) b.putLong(v);
        for (long l : cs.learners()) b.putLong(l);
        return b.array();
    }

    static ConfState decodeConfState(byte[] data) {
        if (data.length < 8) return ConfState.EMPTY;
        ByteBuffer b = ByteBuffer.wrap(data);
        int nv = b.getInt(), nl = b.getInt();
        java.util.Set<Long> v = new java.util.TreeSet<>(), l = new java.util.TreeSet<>();
        for (int i = 0; i < nv; i++) v.add(b.getLong());
        for (int i = 0; i < nl; i++) l.add(b.getLong());
        return new ConfState(v, l);
    }

}
