package io.quorumlab.chaos.sim;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.chaos.report.TimeSeries;
import io.quorumlab.raft.StateRole;
import io.quorumlab.server.EtcdError;
import io.quorumlab.server.EtcdException;
import io.quorumlab.server.member.MemberApi;
import io.quorumlab.server.member.MemberInfo;
import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberConfig;
import io.quorumlab.server.member.MemberMetrics;
import io.quorumlab.wal.storage.CrashMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.LongConsumer;
import org.HdrHistogram.Histogram;

/**
 * A control plane in virtual time: etcd members (the real {@link Member} code over
 * {@link SimRuntime}), one kube-apiserver model per control-plane node, each node's disk, and the
 * network between them. {@code STACKED} puts an API server and an etcd member on each node, sharing
 * its disk; {@code EXTERNAL} gives etcd dedicated nodes and disks. Elections, freezes and latencies
 * are read off the simulated members and clients; no parameter sets them.
 */
public final class ClusterSimulation {
    public enum Placement { STACKED, EXTERNAL }

    /**
     * @param etcdDisk profile of the device holding etcd's WAL (the shared node disk when stacked)
     * @param apiNodeDisk profile of an API-server node's disk in external placement
     * @param entanglement share of other tenants' dirty data an fsync must also write (ext4 data=ordered)
     */
    public record Params(String name, Placement placement, int members, String etcdDisk, String apiNodeDisk,
                         Workload workload, long durationNanos, long seed, long heartbeatMillis, long electionMillis,
                         double entanglement, long externalExtraRttNanos, long linkLatencyNanos, double etcdFsyncP99Ms) {
        public Params {
            if (members < 1 || members > 7) throw new IllegalArgumentException("members must be 1..7");
            if (durationNanos <= 0) throw new IllegalArgumentException("duration must be positive");
            if (etcdFsyncP99Ms < 0 || Double.isNaN(etcdFsyncP99Ms)) throw new IllegalArgumentException("fsync p99 must be positive");
        }

        /** With the etcd device's own profile (no fsync p99 override). */
        public Params(String name, Placement placement, int members, String etcdDisk, String apiNodeDisk, Workload workload,
                      long durationNanos, long seed, long heartbeatMillis, long electionMillis, double entanglement,
                      long externalExtraRttNanos, long linkLatencyNanos) {
            this(name, placement, members, etcdDisk, apiNodeDisk, workload, durationNanos, seed, heartbeatMillis, electionMillis,
                    entanglement, externalExtraRttNanos, linkLatencyNanos, 0);
        }

        public static Params stacked(long durationNanos, long seed) {
            return new Params("stacked", Placement.STACKED, 3, "cloud-ssd", "cloud-ssd", Workload.defaults(), durationNanos, seed, 100,
                    1000, 0.0, 0, 150_000);
        }

        public static Params dedicatedNvme(long durationNanos, long seed) {
            return new Params("dedicated-nvme", Placement.EXTERNAL, 3, "nvme", "ssd", Workload.defaults(), durationNanos,
                    seed, 100, 1000, 0.0, 300_000, 150_000);
        }

        public Params withDuration(long nanos) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, workload, nanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, etcdFsyncP99Ms);
        }

        public Params withSeed(long s) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, workload, durationNanos, s, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, etcdFsyncP99Ms);
        }

        public Params withWorkload(Workload w) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, w, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, etcdFsyncP99Ms);
        }

        public Params withEtcdDisk(String profile) {
            return new Params(name, placement, members, profile, apiNodeDisk, workload, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, etcdFsyncP99Ms);
        }

        /**
         * Scales the etcd device's fsync distribution (median and p99 by the same factor) so that its
         * p99 is {@code ms}; 0 keeps the profile's own.
         */
        public Params withEtcdFsyncP99Ms(double ms) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, workload, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, ms);
        }

        public Params withName(String n) {
            return new Params(n, placement, members, etcdDisk, apiNodeDisk, workload, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos, etcdFsyncP99Ms);
        }

        /** The etcd device's profile, with the fsync p99 override applied. */
        public DiskProfile etcdProfile() {
            DiskProfile base = DiskProfile.named(etcdDisk);
            if (etcdFsyncP99Ms <= 0) return base;
            double f = etcdFsyncP99Ms / base.fsyncP99Ms();
            return base.withFsync(base.name() + String.format(Locale.ROOT, " (fsync p99 %.3g ms)", etcdFsyncP99Ms),
                    base.fsyncMedianMs() * f, etcdFsyncP99Ms);
        }
    }

    /** One leader change as the members saw it, with what preceded it on the old leader and what followed. */
    public record LeaderChange(long atNanos, long term, String leader, String previousLeader, String cause) {}

    private static final long SAMPLE_NANOS = 50_000_000L;
    /** The time series' sampling interval (rows merge beyond {@link TimeSeries#MAX_POINTS}). */
    static final long SERIES_INTERVAL_NANOS = 10_000_000_000L;
    /** Scenario membership operations and leader transfers retry this often, once a second, before giving up. */
    static final int OPERATION_ATTEMPTS = 120;
    private static final long OPERATION_RETRY_NANOS = 1_000_000_000L;
    /** A fault this recent on the old leader is named as the cause of a leader change. */
    private static final long CAUSE_WINDOW_NANOS = 15_000_000_000L;

    private final Params p;
    private final Sim sim;
    private final SimNetwork net;
    private final List<String> names = new ArrayList<>();
    private final Map<String, SimRuntime> runtimes = new LinkedHashMap<>();
    private final Map<String, Member> members = new LinkedHashMap<>();
    private final Map<String, Disk> disks = new LinkedHashMap<>();
    private final List<ApiServerModel> apiServers = new ArrayList<>();
    private final Histogram apiLatency = new Histogram(3_600_000_000_000L, 3);
    private final Histogram apiInterval = new Histogram(3_600_000_000_000L, 3);
    private final Histogram fsyncAll = new Histogram(3_600_000_000_000L, 3);
    private final Histogram fsyncPeak = new Histogram(3_600_000_000_000L, 3);
    private final Histogram fsyncInterval = new Histogram(3_600_000_000_000L, 3);
    private final List<ChangeDraft> leaderChanges = new ArrayList<>();
    /** Peer URL, start configuration and Raft id of every member that ever ran (initial and added). */
    private final Map<String, String> peerUrls = new LinkedHashMap<>();
    private final Map<String, MemberConfig> configs = new LinkedHashMap<>();
    private final Map<Long, String> nameOfId = new TreeMap<>();
    /** Members removed from the cluster by MemberRemove. */
    private final Set<String> removed = new LinkedHashSet<>();
    /** Members that faults may name, and from when: the initial ones (0) and those an addMember will add. */
    private final Map<String, Long> known = new LinkedHashMap<>();
    /** Links cut by faults, counted (two overlapping partitions of one link heal one at a time). */
    private final Map<Long, Integer> cuts = new HashMap<>();
    /** The etcd member each API server talks to now, and whether it may talk only to its own node's member. */
    private String[] apiEndpoint;
    private boolean[] apiLocalOnly;
    /** The most recent fault that touched a member: its time and description (cause chains name it). */
    private final Map<String, Long> noteAt = new HashMap<>();
    private final Map<String, String> noteText = new HashMap<>();
    private final List<FaultDraft> faultLog = new ArrayList<>();
    /** Active network-loss faults' probabilities. */
    private final List<Double> losses = new ArrayList<>();
    private final TimeSeries series = new TimeSeries(SERIES_INTERVAL_NANOS, List.of(
            new TimeSeries.Column("walFsyncP99Ms", "ms", TimeSeries.Merge.MAX),
            new TimeSeries.Column("walFsyncMaxMs", "ms", TimeSeries.Merge.MAX),
            new TimeSeries.Column("leaderTerm", "term", TimeSeries.Merge.MAX),
            new TimeSeries.Column("apiServerP99Ms", "ms", TimeSeries.Merge.MAX),
            new TimeSeries.Column("deviceQueueMs", "ms", TimeSeries.Merge.MAX),
            new TimeSeries.Column("etcdRequests", "requests", TimeSeries.Merge.SUM),
            new TimeSeries.Column("etcdAttempts", "attempts", TimeSeries.Merge.SUM),
            new TimeSeries.Column("faultTolerance", "members", TimeSeries.Merge.MIN),
            // etcd's own metrics as the simulated members export them (MemberMetrics), under etcd's names.
            new TimeSeries.Column(HAS_LEADER, "0/1", TimeSeries.Merge.MIN),
            new TimeSeries.Column(PROPOSALS_PENDING, "proposals", TimeSeries.Merge.MAX),
            new TimeSeries.Column(APPLY_LAG, "entries", TimeSeries.Merge.MAX),
            new TimeSeries.Column(HEARTBEAT_FAILURES, "failures", TimeSeries.Merge.SUM),
            new TimeSeries.Column(PROPOSALS_FAILED, "proposals", TimeSeries.Merge.SUM),
            new TimeSeries.Column(LEADER_CHANGES, "changes", TimeSeries.Merge.SUM)));
    private final double[] row = new double[14];

    /** Lowest over the running members and over the interval's 50 ms samples (an etcd NoLeader alert's view). */
    public static final String HAS_LEADER = "etcd_server_has_leader";
    /** Highest over the running members, sampled every {@value #METRICS_SAMPLE_EVERY} x 50 ms. */
    public static final String PROPOSALS_PENDING = "etcd_server_proposals_pending";
    /**
     * Committed minus applied index, highest over the running members and samples: what etcd exports as
     * {@code etcd_server_proposals_committed_total - etcd_server_proposals_applied_total}.
     */
    public static final String APPLY_LAG = "etcd_server_proposals_committed_total-etcd_server_proposals_applied_total";
    /** Counters: their increase over the interval, summed over members (restarts reset a member's counters, as a rate() handles). */
    public static final String HEARTBEAT_FAILURES = "etcd_server_heartbeat_send_failures_total";
    public static final String PROPOSALS_FAILED = "etcd_server_proposals_failed_total";
    /** The increase over the interval, highest over members (each member sees each change). */
    public static final String LEADER_CHANGES = "etcd_server_leader_changes_seen_total";
    /** Registry-read metrics (pending proposals, apply lag) are sampled every this many 50 ms samples. */
    static final int METRICS_SAMPLE_EVERY = 5;
    /** etcd's bucket bounds for etcd_disk_wal_fsync_duration_seconds: 1 ms x 2^k, k = 0..13. */
    static final double[] WAL_FSYNC_BUCKETS = new double[14];

    static {
        for (int k = 0; k < WAL_FSYNC_BUCKETS.length; k++) WAL_FSYNC_BUCKETS[k] = 0.001 * (1L << k);
    }

    private int intervalHasLeader = 1;
    private double intervalPending;
    private double intervalApplyLag;
    private int observations;
    /** Per member and counter, the value at the end of the last interval (for increases across restarts). */
    private final Map<String, double[]> lastCounters = new HashMap<>();
    private double fsyncSumSeconds;
    private double burstFactor = 1;
    private SplittableRandom burstRandom;
    private long lastLeaderTerm;
    private long lastApplied;
    private String lastLeader = "";
    private long freezeNanos;
    private long freezeStart = -1;
    private long waitingSince = -1;
    private long lastProgressAt;
    private final List<long[]> freezeIntervals = new ArrayList<>();
    private long freezeCount;
    private long longestFreezeNanos;
    private int bursts;
    private io.quorumlab.chaos.check.CheckedWorkload checked; // checked clients and watchers (chaos.check)
    private int addedNodes;
    /** Over the current series interval: the longest device queue ahead of an fsync, the lowest fault tolerance. */
    private long intervalQueueNanos;
    private int intervalMinTolerance = Integer.MAX_VALUE;
    private long seriesRequests;
    private long seriesAttempts;
    private int minTolerance = Integer.MAX_VALUE;
    private long quorumLostNanos;

    public ClusterSimulation(Params params) {
        this.p = params;
        this.sim = new Sim(params.seed());
        this.net = new SimNetwork(sim, params.linkLatencyNanos(), params.linkLatencyNanos() / 3);
    }

    public Sim sim() {
        return sim;
    }

    public Map<String, Member> members() {
        return members;
    }

    public SimNetwork network() {
        return net;
    }

    public SimRuntime runtime(String member) {
        return runtimes.get(member);
    }

    /** Builds the cluster and its clients; {@link #run(LongConsumer)} then advances time. */
    public void build() {
        DiskProfile etcdProfile = p.etcdProfile();
        DiskProfile apiProfile = DiskProfile.named(p.apiNodeDisk());
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= p.members(); i++) {
            String name = (p.placement() == Placement.STACKED ? "cp" : "etcd") + i;
            names.add(name);
            cluster.put(name, "http://10.0.0." + i + ":2380");
        }
        peerUrls.putAll(cluster);
        for (String n : names) known.put(n, 0L);
        for (String name : names) {
            Disk d = newDisk(name, etcdProfile);
            disks.put(name, d);
            runtimes.put(name, new SimRuntime(sim, name, d, p.workload().requestWeight(), Math.max(1, p.workload().valueBytes())));
        }
        for (String name : names) {
            configs.put(name, memberConfig(name, cluster));
            startMember(name);
        }
        apiEndpoint = new String[p.members()];
        apiLocalOnly = new boolean[p.members()];
        for (int i = 0; i < p.members(); i++) {
            String etcdName = names.get(i);
            Disk apiDisk;
            long rtt;
            String apiNode;
            if (p.placement() == Placement.STACKED) {
                apiNode = etcdName;
                apiDisk = disks.get(etcdName); // same device as the etcd WAL
                rtt = 0;
                apiLocalOnly[i] = true; // kubeadm's stacked API server: --etcd-servers=https://127.0.0.1:2379
            } else {
                apiNode = "cp" + (i + 1);
                apiDisk = newDisk(apiNode, apiProfile);
                disks.put(apiNode, apiDisk);
                rtt = p.externalExtraRttNanos();
            }
            apiEndpoint[i] = etcdName;
            int index = i;
            ApiServerModel api = new ApiServerModel(sim, apiNode, apiDisk, () -> etcdFor(index), rtt, net,
                    p.workload(), () -> burstFactor, apiLatency, apiInterval, () -> endpointFailed(index));
            apiServers.add(api);
        }
        // Let the cluster elect its first leader before clients arrive (as a real control plane boots).
        sim.after(3_000_000_000L, () -> apiServers.forEach(ApiServerModel::start));
        burstRandom = sim.split();
        scheduleBursts(0);
        sample();
        checked = new io.quorumlab.chaos.check.CheckedWorkload(sim, members, checkerConfig);
        checked.start();
    }

    private io.quorumlab.chaos.check.CheckedWorkload.Config checkerConfig = io.quorumlab.chaos.check.CheckedWorkload.Config.defaults();

    /**
     * The checked clients' configuration (call before {@link #build}); e.g. a larger linearizability
     * search budget for runs whose faults leave many writes ambiguous.
     */
    public void checkerConfig(io.quorumlab.chaos.check.CheckedWorkload.Config cfg) {
        if (checked != null) throw new IllegalStateException("the checked workload is already built");
        checkerConfig = cfg;
    }

    /** The linearizability and watch checkers' verdict on this run (call after {@link #run}). */
    public io.quorumlab.chaos.check.CheckReport checkReport() {
        return checked.report().withReplay(p.name(), p.seed(), p.durationNanos());
    }

    private Disk newDisk(String node, DiskProfile profile) {
        // Linux defaults: dirty_expire/writeback every 5 s, background writeback above ~10% of RAM.
        return new Disk(sim, node, profile, p.entanglement(), 5_000_000_000L, 1600L << 20);
    }

    private MemberConfig memberConfig(String name, Map<String, String> cluster) {
        return MemberConfig.defaults(name, Path.of("/sim", name), cluster)
                .withTimeouts(p.heartbeatMillis(), p.electionMillis())
                // Per simulated entry standing for requestWeight real ones: a snapshot every 10,000 real
                // writes, and the Raft log in memory holds the same bytes at any weight.
                .withSnapshotCount(Math.max(100, 10_000 / p.workload().requestWeight()),
                        Math.max(50, 5000 / p.workload().requestWeight()))
                .withWalSegmentBytes(4L << 20);
    }

    /** Starts (or restarts, from what its runtime kept) a member with its configuration. */
    private void startMember(String name) {
        MemberConfig cfg = configs.get(name);
        SimRuntime rt = runtimes.get(name);
        try {
            Member m = new Member(cfg, rt, net.endpoint(cfg.memberId()), new MemberMetrics(new CollectorRegistry()));
            m.start();
            members.put(name, m);
            nameOfId.put(cfg.memberId(), name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The member API server {@code i} sends its next call to (clients of removed members move to live ones). */
    private Member etcdFor(int i) {
        String n = apiEndpoint[i];
        if (removed.contains(n)) {
            apiLocalOnly[i] = false; // the operator repointed --etcd-servers at the remaining members
            n = nextEndpoint(i, n);
            apiEndpoint[i] = n;
        }
        return members.get(n);
    }

    /** Connection refused: clientv3 tries the next endpoint it knows; a stacked API server knows only its own. */
    private void endpointFailed(int i) {
        if (!apiLocalOnly[i]) apiEndpoint[i] = nextEndpoint(i, apiEndpoint[i]);
    }

    /** The first running member after {@code current} in the live membership (wrapping around), else any live one. */
    private String nextEndpoint(int i, String current) {
        // Added members first: when stacked members are removed, their clients go to the new nodes
        // (the operator sets --etcd-servers to them), not to the next stacked member to go.
        List<String> live = new ArrayList<>();
        for (String n : members.keySet()) if (!removed.contains(n) && !names.contains(n)) live.add(n);
        for (String n : members.keySet()) if (!removed.contains(n) && names.contains(n)) live.add(n);
        if (live.isEmpty()) return current;
        int at = live.indexOf(current);
        int from = at >= 0 ? at + 1 : i;
        for (int k = 0; k < live.size(); k++) {
            String n = live.get((from + k) % live.size());
            if (!members.get(n).isStopped()) return n;
        }
        return live.get(Math.floorMod(from, live.size()));
    }

    /** Puts a scenario's fault on the timeline; unknown member or node names are an error now, not later. */
    public void schedule(Scenario.Fault f) {
        if (f instanceof Scenario.Burst b) {
            burstAt(b.atNanos());
        } else if (f instanceof Scenario.Kill k) {
            requireMember(k.member(), k.atNanos());
            sim.at(k.atNanos(), () -> {
                if (!present(k.member(), k.atNanos(), k.describe())) return;
                crashMember(k.member(), k.downNanos(), k.torn() ? CrashMode.TEAR_LAST_WRITE : CrashMode.LOSE_UNSYNCED);
                logFault(k.atNanos(), k.describe(), k.torn() ? "power lost; unsynced WAL bytes dropped, the last write torn"
                        : "power lost; unsynced WAL bytes dropped");
            });
        } else if (f instanceof Scenario.Loss l) {
            sim.at(l.atNanos(), () -> {
                losses.add(l.probability());
                net.setLoss(combinedLoss());
                logFault(l.atNanos(), l.describe(), String.format(Locale.ROOT, "%.3g%% of member messages dropped", combinedLoss() * 100));
            });
            if (l.forNanos() > 0) {
                sim.at(l.atNanos() + l.forNanos(), () -> {
                    losses.remove(l.probability());
                    net.setLoss(combinedLoss());
                    logFault(sim.now(), "end of " + l.describe(), String.format(Locale.ROOT, "%.3g%% loss left", combinedLoss() * 100));
                });
            }
        } else if (f instanceof Scenario.Restart r) {
            requireMember(r.member(), r.atNanos());
            sim.at(r.atNanos(), () -> {
                if (!present(r.member(), r.atNanos(), r.describe())) return;
                crashMember(r.member(), r.downNanos(), CrashMode.KEEP_ALL);
                logFault(r.atNanos(), r.describe(), "process stopped; every written byte kept");
            });
        } else if (f instanceof Scenario.Isolate i) {
            requireMember(i.member(), i.atNanos());
            List<long[]> links = new ArrayList<>();
            sim.at(i.atNanos(), () -> {
                if (!present(i.member(), i.atNanos(), i.describe())) return;
                long id = idOf(i.member());
                for (long other : nameOfId.keySet()) {
                    if (other == id) continue;
                    links.add(new long[] {id, other});
                    links.add(new long[] {other, id});
                }
                for (long[] l : links) cut(l[0], l[1]);
                note(i.member(), i.describe());
                logFault(i.atNanos(), i.describe(), "all links of " + i.member() + " cut");
            });
            sim.at(i.atNanos() + i.forNanos(), () -> {
                if (links.isEmpty()) return;
                for (long[] l : links) restore(l[0], l[1]);
                logFault(sim.now(), "end of isolation of " + i.member(), "links restored");
            });
        } else if (f instanceof Scenario.Partition pt) {
            requireMember(pt.member(), pt.atNanos());
            requireMember(pt.to(), pt.atNanos());
            boolean[] applied = {false};
            sim.at(pt.atNanos(), () -> {
                if (!present(pt.member(), pt.atNanos(), pt.describe()) || !present(pt.to(), pt.atNanos(), pt.describe())) return;
                applied[0] = true;
                cut(idOf(pt.member()), idOf(pt.to()));
                if (!pt.oneWay()) cut(idOf(pt.to()), idOf(pt.member()));
                note(pt.member(), pt.describe());
                note(pt.to(), pt.describe());
                logFault(pt.atNanos(), pt.describe(), pt.oneWay() ? "messages " + pt.member() + " -> " + pt.to() + " dropped"
                        : "links between " + pt.member() + " and " + pt.to() + " cut");
            });
            sim.at(pt.atNanos() + pt.forNanos(), () -> {
                if (!applied[0]) return;
                restore(idOf(pt.member()), idOf(pt.to()));
                if (!pt.oneWay()) restore(idOf(pt.to()), idOf(pt.member()));
                logFault(sim.now(), "end of " + pt.describe(), "links restored");
            });
        } else if (f instanceof Scenario.DiskStall d) {
            requireNode(d.node(), d.atNanos());
            sim.at(d.atNanos(), () -> {
                if (!disks.containsKey(d.node())) {
                    logFault(d.atNanos(), d.describe(), "skipped: no node " + d.node() + " now");
                    return;
                }
                disks.get(d.node()).stallUntil(d.atNanos() + d.forNanos());
                logFault(d.atNanos(), d.describe(), "device stalled");
            });
        } else if (f instanceof Scenario.DiskLatency d) {
            requireNode(d.node(), d.atNanos());
            Disk[] slowed = {null};
            sim.at(d.atNanos(), () -> {
                if (!disks.containsKey(d.node())) {
                    logFault(d.atNanos(), d.describe(), "skipped: no node " + d.node() + " now");
                    return;
                }
                slowed[0] = disks.get(d.node());
                slowed[0].addExtraLatency(d.addNanos());
                note(d.node(), d.describe());
                logFault(d.atNanos(), d.describe(), String.format(Locale.ROOT, "device slowed (+%.0f ms in all)",
                        slowed[0].extraLatencyNanos() / 1e6));
            });
            sim.at(d.atNanos() + d.forNanos(), () -> {
                if (slowed[0] == null) return;
                slowed[0].addExtraLatency(-d.addNanos());
                logFault(sim.now(), "end of " + d.describe(), String.format(Locale.ROOT, "latency step removed (+%.0f ms left)",
                        slowed[0].extraLatencyNanos() / 1e6));
            });
        } else if (f instanceof Scenario.LinkLatency l) {
            requireMember(l.member(), l.atNanos());
            if (l.to() != null) requireMember(l.to(), l.atNanos());
            List<long[]> slowed = new ArrayList<>();
            sim.at(l.atNanos(), () -> {
                if (!present(l.member(), l.atNanos(), l.describe())) return;
                if (l.to() != null && !present(l.to(), l.atNanos(), l.describe())) return;
                long id = idOf(l.member());
                for (long other : nameOfId.keySet()) {
                    if (other == id || (l.to() != null && other != idOf(l.to()))) continue;
                    slowed.add(new long[] {id, other});
                    if (!l.oneWay()) slowed.add(new long[] {other, id});
                }
                for (long[] k : slowed) net.addLatency(k[0], k[1], l.addNanos());
                note(l.member(), l.describe());
                if (l.to() != null) note(l.to(), l.describe());
                logFault(l.atNanos(), l.describe(), slowed.size() + " one-way links slowed");
            });
            sim.at(l.atNanos() + l.forNanos(), () -> {
                if (slowed.isEmpty()) return;
                for (long[] k : slowed) net.addLatency(k[0], k[1], -l.addNanos());
                logFault(sim.now(), "end of " + l.describe(), "latency restored");
            });
        } else if (f instanceof Scenario.TransferLeader t) {
            if (!t.target().equals(Scenario.TransferLeader.ANY)) requireMember(t.target(), t.atNanos());
            sim.at(t.atNanos(), () -> transferLeader(t));
        } else if (f instanceof Scenario.AddMember a) {
            if (known.containsKey(a.member()) || disks.containsKey(a.member())) {
                throw new IllegalArgumentException("member " + a.member() + " already exists");
            }
            known.put(a.member(), a.atNanos());
            addedNodes++;
            String url = "http://10.0.1." + addedNodes + ":2380";
            sim.at(a.atNanos(), () -> addMember(a, url));
        } else if (f instanceof Scenario.PromoteMember pm) {
            requireMember(pm.member(), pm.atNanos());
            sim.at(pm.atNanos(), () -> {
                if (present(pm.member(), pm.atNanos(), pm.describe())) onLeader(pm.atNanos(), pm.describe(), OPERATION_ATTEMPTS, 1,
                        leader -> leader.promoteMember(idOf(pm.member())), v -> "promoted to voter; " + catchUp(pm.member()));
            });
        } else if (f instanceof Scenario.RemoveMember rm) {
            requireMember(rm.member(), rm.atNanos());
            sim.at(rm.atNanos(), () -> {
                if (!present(rm.member(), rm.atNanos(), rm.describe())) return;
                note(rm.member(), rm.describe());
                onLeader(rm.atNanos(), rm.describe(), OPERATION_ATTEMPTS, 1, leader -> leader.removeMember(idOf(rm.member())),
                        v -> removed(rm.member()));
            });
        } else {
            throw new IllegalArgumentException("unsupported fault " + f);
        }
    }

    /** Independent drops: a message survives every active loss fault. */
    private double combinedLoss() {
        double survive = 1;
        for (double p : losses) survive *= 1 - p;
        return losses.isEmpty() ? 0 : 1 - survive;
    }

    private void requireMember(String name, long at) {
        Long from = known.get(name);
        if (from == null) throw new IllegalArgumentException("no member " + name + " (members: " + known.keySet() + ")");
        if (at < from) {
            throw new IllegalArgumentException("member " + name + " is added at " + clock(from) + ", after the fault at " + clock(at));
        }
    }

    private void requireNode(String node, long at) {
        if (disks.containsKey(node)) return;
        if (!known.containsKey(node)) {
            Set<String> nodes = new LinkedHashSet<>(disks.keySet());
            nodes.addAll(known.keySet());
            throw new IllegalArgumentException("no node " + node + " (nodes: " + nodes + ")");
        }
        requireMember(node, at);
    }

    /** Whether the member named by a fault runs in the cluster now; if not (its addMember failed, it was removed) the fault is logged as skipped. */
    private boolean present(String member, long at, String what) {
        if (configs.containsKey(member) && !removed.contains(member)) return true;
        logFault(at, what, "skipped: " + member + (removed.contains(member) ? " was removed" : " is not a member"));
        return false;
    }

    private long idOf(String member) {
        MemberConfig c = configs.get(member);
        if (c == null) throw new IllegalStateException("member " + member + " has not been added (yet) at " + clock(sim.now()));
        return c.memberId();
    }

    private void cut(long from, long to) {
        long key = from * 1_000_003L + to;
        if (cuts.merge(key, 1, Integer::sum) == 1) net.cut(from, to);
    }

    private void restore(long from, long to) {
        long key = from * 1_000_003L + to;
        Integer n = cuts.get(key);
        if (n == null) return;
        if (n == 1) {
            cuts.remove(key);
            net.restore(from, to);
        } else {
            cuts.put(key, n - 1);
        }
    }

    private boolean linked(long a, long b) {
        return !cuts.containsKey(a * 1_000_003L + b) && !cuts.containsKey(b * 1_000_003L + a);
    }

    private void note(String member, String text) {
        noteAt.put(member, sim.now());
        noteText.put(member, text + " at " + clock(sim.now()));
    }

    /** Starts a deployment burst now (scenarios use it to place one at a known time). */
    public void burstAt(long atNanos) {
        sim.at(atNanos, this::startBurst);
    }

    /** Fault: power loss on a member's node; it restarts after {@code downNanos} from what was durable. */
    public void crashMember(String name, long downNanos) {
        crashMember(name, downNanos, CrashMode.LOSE_UNSYNCED);
    }

    private void crashMember(String name, long downNanos, CrashMode mode) {
        Member m = members.get(name);
        if (m == null || removed.contains(name)) return;
        boolean powerLoss = mode != CrashMode.KEEP_ALL;
        if (powerLoss && p.placement() == Placement.STACKED) {
            // A stacked node takes its API server down with its etcd member.
            int i = names.indexOf(name);
            if (i >= 0 && i < apiServers.size()) apiServers.get(i).downUntil(sim.now() + downNanos);
        }
        note(name, (powerLoss ? "power loss on " : "restart of ") + name);
        m.crash();
        runtimes.get(name).crash(mode);
        sim.after(downNanos, () -> {
            if (removed.contains(name) || !members.get(name).isStopped()) return;
            startMember(name);
            logFault(sim.now(), name + " back up", "restarted from its data dir");
        });
    }

    /** etcdctl move-leader on the current leader, retried while there is none or the transfer times out. */
    private void transferLeader(Scenario.TransferLeader t) {
        onLeader(t.atNanos(), t.describe(), OPERATION_ATTEMPTS, 1, leader -> {
            String target = t.target();
            if (target.equals(Scenario.TransferLeader.ANY)) {
                target = null;
                for (MemberInfo mi : leader.members()) {
                    String n = nameOfId.get(mi.id());
                    if (n != null && !mi.learner() && mi.id() != leader.memberId() && !members.get(n).isStopped()) {
                        target = n;
                        break;
                    }
                }
                if (target == null) return CompletableFuture.failedFuture(new EtcdException(EtcdError.BAD_LEADER_TRANSFEREE));
            }
            note(leader.name(), "leader transfer " + leader.name() + " -> " + target);
            String to = target;
            return leader.moveLeader(idOf(target)).thenApply(v -> to);
        }, v -> "leadership moved to " + v);
    }

    /** MemberAdd on the leader; once it is applied the new member starts on its own node, joining the cluster. */
    private void addMember(Scenario.AddMember a, String url) {
        onLeader(a.atNanos(), a.describe(), OPERATION_ATTEMPTS, 1, leader -> leader.addMember(List.of(url), a.learner()), v -> {
            MemberApi.MembershipChange mc = (MemberApi.MembershipChange) v;
            Map<String, String> cluster = new TreeMap<>();
            for (MemberInfo mi : mc.members()) {
                String n = nameOfId.get(mi.id());
                if (n != null) cluster.put(n, peerUrls.get(n));
            }
            cluster.put(a.member(), url);
            peerUrls.put(a.member(), url);
            MemberConfig cfg = memberConfig(a.member(), cluster).withNewCluster(false);
            if (cfg.memberId() != mc.member().id()) {
                throw new IllegalStateException("joiner " + a.member() + " derives id " + Long.toHexString(cfg.memberId())
                        + ", MemberAdd gave " + Long.toHexString(mc.member().id()));
            }
            configs.put(a.member(), cfg);
            Disk d = newDisk(a.member(), DiskProfile.named(a.disk()));
            disks.put(a.member(), d);
            runtimes.put(a.member(), new SimRuntime(sim, a.member(), d, p.workload().requestWeight(), Math.max(1, p.workload().valueBytes())));
            startMember(a.member());
            return (a.learner() ? "learner" : "voter") + " added, started with --initial-cluster-state existing";
        });
    }

    /**
     * How a joined member got its state, from its own counters: entries it applied one by one versus
     * its applied index (the difference came in a snapshot, because the leader had compacted its log).
     */
    private String catchUp(String name) {
        Member m = members.get(name);
        long applied = m.appliedIndex();
        long entries = (long) value(m, "etcd_server_proposals_applied_total");
        long fromSnapshot = applied - entries;
        return fromSnapshot > 0
                ? "caught up by a snapshot at index " + fromSnapshot + " and " + entries + " log entries"
                : "caught up from the log (" + entries + " entries)";
    }

    private String removed(String name) {
        removed.add(name);
        Member m = members.get(name);
        if (!m.isStopped()) m.crash(); // the operator stops the removed member's process
        List<String> moved = new ArrayList<>();
        for (int i = 0; i < apiServers.size(); i++) {
            if (!apiEndpoint[i].equals(name)) continue;
            etcdFor(i);
            moved.add(apiServers.get(i).node() + " -> " + apiEndpoint[i]);
        }
        return "removed" + (moved.isEmpty() ? "" : "; API servers now use " + String.join(", ", moved));
    }

    /**
     * Runs {@code op} on the current leader; a transient refusal (no leader, timeout, learner not in sync,
     * unhealthy cluster) is retried after a second, up to {@code attemptsLeft} times, as an operator's
     * script would. The outcome goes to the fault log with the fault tolerance after it.
     */
    private void onLeader(long at, String what, int attemptsLeft, int attempt,
                          Function<Member, CompletableFuture<?>> op, Function<Object, String> onDone) {
        Member leader = leaderMember();
        CompletableFuture<?> f = leader == null ? CompletableFuture.failedFuture(new EtcdException(EtcdError.NO_LEADER)) : op.apply(leader);
        f.whenComplete((v, err) -> sim.at(sim.clock(), () -> {
            if (err == null) {
                String outcome = onDone.apply(v);
                logFault(at, what, outcome + (attempt > 1 ? " (attempt " + attempt + ")" : ""));
                return;
            }
            Throwable e = err;
            while (e instanceof java.util.concurrent.CompletionException && e.getCause() != null) e = e.getCause();
            if (transientError(e) && attemptsLeft > 1) {
                sim.after(OPERATION_RETRY_NANOS, () -> onLeader(at, what, attemptsLeft - 1, attempt + 1, op, onDone));
            } else {
                logFault(at, what, "failed after " + attempt + " attempt(s): " + e.getMessage());
            }
        }));
    }

    private static boolean transientError(Throwable e) {
        if (!(e instanceof EtcdException ee)) return false;
        EtcdError x = ee.error();
        return x == EtcdError.NO_LEADER || x == EtcdError.TIMEOUT || x == EtcdError.LEARNER_NOT_READY
                || x == EtcdError.UNHEALTHY_CLUSTER || x == EtcdError.NOT_ENOUGH_STARTED_MEMBERS || x == EtcdError.NOT_LEADER
                || x == EtcdError.LEADER_TRANSFER_TIMEOUT || x == EtcdError.STOPPED;
    }

    private Member leaderMember() {
        String n = leaderName();
        return n == null ? null : members.get(n);
    }

    private String leaderName() {
        String leader = null;
        long term = 0;
        for (var e : members.entrySet()) {
            Member m = e.getValue();
            if (!m.isStopped() && m.role() == StateRole.LEADER && m.term() >= term) {
                leader = e.getKey();
                term = m.term();
            }
        }
        return leader;
    }

    /**
     * Fault tolerance from the simulated Raft state: the voters in the membership as the leader applied
     * it (else the most advanced running member); {@code up}, the largest group of running voters that
     * could commit together, i.e. some voter of it (a would-be leader) is linked both ways to every other
     * (Raft needs leader-follower links only, followers need not reach each other); and how many of
     * those may fail before fewer than a majority remain (negative: quorum lost). An isolated leader
     * does not lose quorum while the others form a majority around one of them.
     * Returns {voters, up, tolerance}.
     */
    private int[] tolerance() {
        Member ref = leaderMember();
        if (ref == null) {
            for (Member m : members.values()) {
                if (!m.isStopped() && (ref == null || m.appliedIndex() > ref.appliedIndex())) ref = m;
            }
        }
        if (ref == null) return new int[] {p.members(), 0, -(p.members() / 2 + 1)};
        int voters = 0;
        long[] running = new long[8];
        int n = 0;
        for (MemberInfo mi : ref.members()) {
            if (mi.learner()) continue;
            voters++;
            String name = nameOfId.get(mi.id());
            Member m = name == null ? null : members.get(name);
            if (m == null || m.isStopped() || removed.contains(name)) continue;
            if (n == running.length) running = java.util.Arrays.copyOf(running, n * 2);
            running[n++] = mi.id();
        }
        int up = 0;
        for (int c = 0; c < n; c++) {
            int group = 1;
            for (int o = 0; o < n; o++) if (o != c && linked(running[c], running[o])) group++;
            up = Math.max(up, group);
        }
        return new int[] {voters, up, up - (voters / 2 + 1)};
    }

    private void logFault(long at, String what, String outcome) {
        int[] t = tolerance();
        faultLog.add(new FaultDraft(at, sim.now(), what, outcome, t[0], t[1], t[2]));
    }

    private void scheduleBursts(long dayStart) {
        SplittableRandom r = sim.split();
        // Poisson count of bursts in this day's working hours (08:00-20:00).
        double lambda = p.workload().burstsPerDay();
        int n = 0;
        double acc = Math.exp(-lambda), prob = acc, u = r.nextDouble();
        while (u > acc && n < 50) {
            n++;
            prob *= lambda / n;
            acc += prob;
        }
        for (int i = 0; i < n; i++) {
            long at = dayStart + 8 * Workload.HOUR + (long) (r.nextDouble() * 12 * Workload.HOUR);
            sim.at(at, this::startBurst);
        }
        sim.at(dayStart + Workload.DAY, () -> scheduleBursts(dayStart + Workload.DAY));
    }

    private void startBurst() {
        bursts++;
        burstFactor = p.workload().burstMultiplier();
        long length = (long) (p.workload().burstMinutes() * 60e9);
        long perChunk = (long) (p.workload().burstImageMBps() * 1_000_000);
        long chunks = p.workload().burstImageBytes() / Math.max(1, perChunk);
        // Image pulls and container start-up logs on the nodes that run the rollout's pods: in a
        // stacked control plane that includes the etcd device, in external placement it does not.
        // Nodes do not pull in lock-step: each joins with some probability, at its own offset.
        SplittableRandom r = burstRandom;
        for (ApiServerModel a : apiServers) {
            if (r.nextDouble() > 0.7) continue;
            long offset = (long) (r.nextDouble() * 120e9);
            long n = (long) (chunks * (0.5 + r.nextDouble()));
            Disk d = a.nodeDisk();
            for (long c = 0; c < n; c++) sim.after(offset + c * 1_000_000_000L, () -> d.write("kubelet", perChunk));
        }
        sim.after(length, () -> burstFactor = 1);
    }

    private void sample() {
        sim.after(SAMPLE_NANOS, () -> {
            observe();
            sample();
        });
    }

    private void observe() {
        long now = sim.now();
        String leader = leaderName();
        if (leader != null) {
            long term = members.get(leader).term();
            if (term > lastLeaderTerm) {
                if (lastLeaderTerm > 0) leaderChange(now, term, leader);
                lastLeaderTerm = term;
                lastLeader = leader;
            }
        }
        // A write freeze: an API write has waited longer than the grace with no apply anywhere in that
        // time. Writes outstanding without a break since waitingSince and no apply since lastProgressAt mean
        // the write outstanding at max(both) is still waiting (a write ends only after its entry applies,
        // or fails); the freeze starts when that write's wait passes the grace. It does not depend on how
        // dense the writes are (the request weight): a sparse write's own commit latency is not a freeze
        // unless it exceeds the grace, and then only the excess counts, as for dense writes.
        long applied = 0;
        for (Member m : members.values()) if (!m.isStopped()) applied = Math.max(applied, m.appliedIndex());
        boolean waiting = false;
        for (ApiServerModel a : apiServers) waiting |= a.inflightWrites > 0;
        if (applied != lastApplied) lastProgressAt = now;
        if (!waiting) waitingSince = -1;
        else if (waitingSince < 0) waitingSince = now;
        long stalledSince = Math.max(waitingSince, lastProgressAt);
        if (waiting && lastLeaderTerm > 0 && now - stalledSince >= FREEZE_GRACE_NANOS) {
            if (freezeStart < 0) freezeStart = stalledSince + FREEZE_GRACE_NANOS;
        } else if (freezeStart >= 0) {
            endFreeze(now);
        }
        lastApplied = applied;
        // The etcd devices' queues and the cluster's fault tolerance, for the time series.
        for (var e : members.entrySet()) {
            if (e.getValue().isStopped()) continue;
            intervalQueueNanos = Math.max(intervalQueueNanos, runtimes.get(e.getKey()).disk().queueDelayNanos());
        }
        sampleMemberMetrics();
        // Before the first election there is no membership to count yet (the members are booting).
        if (lastLeaderTerm > 0) {
            int tol = tolerance()[2];
            intervalMinTolerance = Math.min(intervalMinTolerance, tol);
            minTolerance = Math.min(minTolerance, tol);
            if (tol < 0) quorumLostNanos += SAMPLE_NANOS;
            if (!faultLog.isEmpty()) faultLog.get(faultLog.size() - 1).seen(tol);
        }
    }

    /**
     * Reads etcd's gauges off the running members (read-only: nothing here schedules or draws). Whether
     * a member knows a leader is its own field, read every sample; the registry-backed ones every
     * {@link #METRICS_SAMPLE_EVERY} samples (a registry read walks every collector). Before the first
     * election the members are booting, as before clients arrive.
     */
    private void sampleMemberMetrics() {
        if (lastLeaderTerm == 0) return;
        boolean registry = observations++ % METRICS_SAMPLE_EVERY == 0;
        for (var e : members.entrySet()) {
            Member m = e.getValue();
            if (m.isStopped() || removed.contains(e.getKey())) continue;
            if (m.leaderId() == 0) intervalHasLeader = 0;
            if (registry) {
                intervalPending = Math.max(intervalPending, value(m, PROPOSALS_PENDING));
                var st = m.status();
                intervalApplyLag = Math.max(intervalApplyLag, st.raftIndex() - st.raftAppliedIndex());
            }
        }
    }

    /** The increase of etcd's counters since the last interval: {heartbeat failures, proposals failed} summed, leader changes max. */
    private double[] counterIncreases() {
        String[] names = {HEARTBEAT_FAILURES, PROPOSALS_FAILED, LEADER_CHANGES};
        double[] out = new double[3];
        for (var e : members.entrySet()) {
            double[] last = lastCounters.computeIfAbsent(e.getKey(), k -> new double[3]);
            for (int i = 0; i < 3; i++) {
                double v = value(e.getValue(), names[i]);
                double inc = v >= last[i] ? v - last[i] : v; // a restarted member's registry starts at 0
                last[i] = v;
                if (i < 2) out[i] += inc;
                else out[i] = Math.max(out[i], inc);
            }
        }
        return out;
    }

    private void leaderChange(long now, long term, String leader) {
        ChangeDraft c = new ChangeDraft(now, term, leader, lastLeader, causeOf(lastLeader, now) + " -> " + leader + " won term " + term);
        leaderChanges.add(c);
        // What the clients saw: their attempts per etcd request over the next 30 s.
        long req0 = etcdRequests(), att0 = etcdAttempts();
        sim.after(30_000_000_000L, () -> {
            long req = etcdRequests() - req0, att = etcdAttempts() - att0;
            if (req > 0) c.retries = (double) att / req;
        });
    }

    private long etcdRequests() {
        long n = 0;
        for (ApiServerModel a : apiServers) n += a.etcdRequests;
        return n;
    }

    private long etcdAttempts() {
        long n = 0;
        for (ApiServerModel a : apiServers) n += a.attempts;
        return n;
    }

    /** A write may wait this long with no apply anywhere before the wait counts as a freeze (the excess counts). */
    static final long FREEZE_GRACE_NANOS = 250_000_000L;
    /** Freeze intervals kept in the result (the rest are counted). */
    static final int MAX_FREEZE_INTERVALS = 1000;

    private void endFreeze(long now) {
        long f = now - freezeStart;
        if (f > 0) {
            freezeCount++;
            if (freezeIntervals.size() < MAX_FREEZE_INTERVALS) freezeIntervals.add(new long[] {freezeStart, now});
            freezeNanos += f;
            longestFreezeNanos = Math.max(longestFreezeNanos, f);
            // The freeze around a leader change completes that change's cause chain.
            if (!leaderChanges.isEmpty()) {
                ChangeDraft c = leaderChanges.get(leaderChanges.size() - 1);
                if (c.freezeNanos == 0 && freezeStart <= c.atNanos + 5_000_000_000L && now >= c.atNanos - 60_000_000_000L) {
                    c.freezeNanos = f;
                }
            }
        }
        freezeStart = -1;
    }

    private String causeOf(String oldLeader, long at) {
        SimRuntime rt = runtimes.get(oldLeader);
        long fsyncAt = rt != null && rt.lastSlowFsyncNanos() > 0 && at - rt.lastSlowFsyncAt() < 10_000_000_000L
                ? rt.lastSlowFsyncAt() : -1;
        Long faultAt = noteAt.get(oldLeader);
        boolean fault = faultAt != null && at - faultAt < CAUSE_WINDOW_NANOS;
        if (fault && faultAt >= fsyncAt) return noteText.get(oldLeader) + " (leader " + oldLeader + ")";
        if (fsyncAt >= 0) {
            long d = rt.lastSlowFsyncNanos();
            return String.format(Locale.ROOT, "fsync %.0f ms on leader %s at %s -> heartbeats %.1f s late",
                    d / 1e6, oldLeader, clock(rt.lastSlowFsyncAt()), Math.max(0, d / 1e9 - p.heartbeatMillis() / 1000.0));
        }
        // Nothing on the leader: its followers may have stopped answering it — held in an fsync at
        // least as long as the election timeout less a heartbeat (their loops answered neither
        // heartbeats nor appends: the leader's check-quorum lapses, or a follower wakes up past its
        // election timeout), or hit by a fault. Named when that happened in the window.
        StringBuilder followers = new StringBuilder();
        long stuck = (p.electionMillis() - p.heartbeatMillis()) * 1_000_000L;
        for (Map.Entry<String, SimRuntime> e : runtimes.entrySet()) {
            String m = e.getKey();
            Member member = members.get(m);
            if (m.equals(oldLeader) || member == null) continue;
            SimRuntime f = e.getValue();
            Long noted = noteAt.get(m);
            if (noted != null && at - noted < CAUSE_WINDOW_NANOS) {
                followers.append(followers.length() == 0 ? "" : ", ").append(noteText.get(m)).append(" (member ").append(m).append(')');
            } else if (f.lastSlowFsyncNanos() >= stuck && at - f.lastSlowFsyncAt() < 10_000_000_000L) {
                followers.append(followers.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "fsync %.0f ms on member %s at %s",
                        f.lastSlowFsyncNanos() / 1e6, m, clock(f.lastSlowFsyncAt())));
            }
        }
        if (followers.length() > 0) {
            return "no slow fsync or fault on leader " + oldLeader + "; " + followers + " -> no answers to the leader";
        }
        return "no slow fsync or fault on old leader " + oldLeader + " or on the others (network or election timeout)";
    }

    static String clock(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "d%d %02d:%02d:%02d", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    }

    /** Advances virtual time to the end of the run; {@code progress} gets the virtual time now and then. */
    public SimResult run(LongConsumer progress) {
        long step = SERIES_INTERVAL_NANOS;
        for (long t = step; t < p.durationNanos() + step; t += step) {
            long until = Math.min(t, p.durationNanos());
            sim.runUntil(until);
            endInterval(until);
            if (progress != null) progress.accept(until);
        }
        observe();
        if (freezeStart >= 0) endFreeze(sim.now());
        apiServers.forEach(ApiServerModel::stop);
        series.finish();
        return result();
    }

    /** Folds the interval's fsync samples into the totals and records one row of the time series. */
    private void endInterval(long now) {
        boolean peak = isPeakHour(now - 1);
        for (SimRuntime rt : runtimes.values()) {
            rt.drainFsyncs(v -> {
                fsyncAll.recordValue(v);
                fsyncSumSeconds += v / 1e9;
                fsyncInterval.recordValue(v);
                if (peak) fsyncPeak.recordValue(v);
            });
        }
        long req = etcdRequests(), att = etcdAttempts();
        row[0] = ms(fsyncInterval, 99);
        row[1] = fsyncInterval.getTotalCount() == 0 ? 0 : fsyncInterval.getMaxValue() / 1e6;
        row[2] = lastLeaderTerm;
        row[3] = ms(apiInterval, 99);
        row[4] = intervalQueueNanos / 1e6;
        row[5] = req - seriesRequests;
        row[6] = att - seriesAttempts;
        row[7] = intervalMinTolerance == Integer.MAX_VALUE ? tolerance()[2] : intervalMinTolerance;
        row[8] = intervalHasLeader;
        row[9] = intervalPending;
        row[10] = intervalApplyLag;
        double[] inc = counterIncreases();
        row[11] = inc[0];
        row[12] = inc[1];
        row[13] = inc[2];
        series.record(now, row);
        intervalHasLeader = 1;
        intervalPending = 0;
        intervalApplyLag = 0;
        seriesRequests = req;
        seriesAttempts = att;
        fsyncInterval.reset();
        apiInterval.reset();
        intervalQueueNanos = 0;
        intervalMinTolerance = Integer.MAX_VALUE;
    }

    private static boolean isPeakHour(long nanos) {
        int h = Workload.hourOfDay(nanos);
        return h >= 12 && h < 16;
    }

    private SimResult result() {
        long requests = 0, attempts = 0, failed = 0, calls = 0;
        for (ApiServerModel a : apiServers) {
            requests += a.requests;
            attempts += a.attempts;
            failed += a.failed;
            calls += a.etcdRequests;
        }
        long proposalsFailed = 0;
        for (Member m : members.values()) proposalsFailed += (long) value(m, "etcd_server_proposals_failed_total");
        List<LeaderChange> changes = new ArrayList<>();
        for (ChangeDraft c : leaderChanges) changes.add(c.build());
        List<SimResult.FaultRecord> faults = new ArrayList<>();
        for (FaultDraft f : faultLog) faults.add(f.build());
        List<String> finalMembers = new ArrayList<>();
        Member ref = leaderMember();
        if (ref != null) {
            for (MemberInfo mi : ref.members()) {
                String n = nameOfId.getOrDefault(mi.id(), Long.toHexString(mi.id()));
                finalMembers.add(mi.learner() ? n + " (learner)" : n);
            }
        }
        int[] tol = tolerance();
        return new SimResult(p.name(), p.placement().name().toLowerCase(Locale.ROOT), p.seed(), p.durationNanos(), p.members(),
                p.etcdProfile().name(), p.workload().requestWeight(), p.etcdFsyncP99Ms(), ms(fsyncAll, 50), ms(fsyncAll, 99), ms(fsyncAll, 99.9),
                fsyncAll.getMaxValue() / 1e6, fsyncPeak.getTotalCount() == 0 ? 0 : ms(fsyncPeak, 99), fsyncAll.getTotalCount(),
                ms(apiLatency, 50), ms(apiLatency, 99), requests, calls, attempts, failed, leaderChanges.size(), freezeNanos / 1e9,
                longestFreezeNanos / 1e9, proposalsFailed, bursts, List.copyOf(changes), List.copyOf(faults),
                minTolerance == Integer.MAX_VALUE ? tol[2] : minTolerance, tol[2], quorumLostNanos / 1e9,
                List.copyOf(finalMembers), series.snapshot(), sim.executedEvents(), checkReport(), walFsyncHistogram(),
                List.copyOf(freezeIntervals), freezeCount, List.copyOf(SimResult.DeviceWrites.of(disks.values())));
    }

    /** Every WAL fsync of the run (all members) in etcd's buckets of etcd_disk_wal_fsync_duration_seconds. */
    private SimResult.Histogram walFsyncHistogram() {
        long[] cumulative = new long[WAL_FSYNC_BUCKETS.length];
        for (int k = 0; k < cumulative.length; k++) {
            long bound = Math.round(WAL_FSYNC_BUCKETS[k] * 1e9);
            cumulative[k] = fsyncAll.getTotalCount() == 0 ? 0 : fsyncAll.getCountBetweenValues(0, bound);
        }
        return new SimResult.Histogram(WAL_FSYNC_BUCKETS.clone(), cumulative, fsyncAll.getTotalCount(), fsyncSumSeconds);
    }

    private static double value(Member m, String metric) {
        double direct = m.metrics().value(metric);
        if (!Double.isNaN(direct)) return direct;
        Double v = metricsOf(m).getSampleValue(metric);
        return v == null ? 0 : v;
    }

    private static CollectorRegistry metricsOf(Member m) {
        return m.metrics().registry();
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1e6;
    }

    /** A leader change whose chain is completed by what follows it (the freeze, the clients' retries). */
    private static final class ChangeDraft {
        final long atNanos;
        final long term;
        final String leader;
        final String previous;
        final String cause;
        long freezeNanos;
        double retries;

        ChangeDraft(long atNanos, long term, String leader, String previous, String cause) {
            this.atNanos = atNanos;
            this.term = term;
            this.leader = leader;
            this.previous = previous;
            this.cause = cause;
        }

        LeaderChange build() {
            StringBuilder sb = new StringBuilder(cause);
            if (freezeNanos > 0) sb.append(String.format(Locale.ROOT, " -> %.1f s write freeze", freezeNanos / 1e9));
            if (retries > 1.005) sb.append(String.format(Locale.ROOT, " -> API-server retries x%.2f", retries));
            return new LeaderChange(atNanos, term, leader, previous, sb.toString());
        }
    }

    /** One fault-log entry; the lowest fault tolerance sampled until the next entry is folded in as time runs. */
    private static final class FaultDraft {
        final long atNanos;
        final long doneNanos;
        final String fault;
        final String outcome;
        final int voters;
        final int up;
        final int tolerance;
        int minTolerance;

        FaultDraft(long atNanos, long doneNanos, String fault, String outcome, int voters, int up, int tolerance) {
            this.atNanos = atNanos;
            this.doneNanos = doneNanos;
            this.fault = fault;
            this.outcome = outcome;
            this.voters = voters;
            this.up = up;
            this.tolerance = tolerance;
            this.minTolerance = tolerance;
        }

        void seen(int t) {
            minTolerance = Math.min(minTolerance, t);
        }

        SimResult.FaultRecord build() {
            return new SimResult.FaultRecord(atNanos, doneNanos, fault, outcome, voters, up, tolerance, minTolerance);
        }
    }
}
