package io.quorumlab.chaos.sim;

import io.prometheus.client.CollectorRegistry;
import io.quorumlab.raft.StateRole;
import io.quorumlab.server.member.Member;
import io.quorumlab.server.member.MemberConfig;
import io.quorumlab.server.member.MemberMetrics;
import io.quorumlab.wal.storage.CrashMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
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
                         double entanglement, long externalExtraRttNanos, long linkLatencyNanos) {
        public Params {
            if (members < 1 || members > 7) throw new IllegalArgumentException("members must be 1..7");
            if (durationNanos <= 0) throw new IllegalArgumentException("duration must be positive");
        }

        public static Params stacked(long durationNanos, long seed) {
            return new Params("stacked", Placement.STACKED, 3, "ssd", "ssd", Workload.defaults(), durationNanos, seed, 100,
                    1000, 0.0, 0, 150_000);
        }

        public static Params dedicatedNvme(long durationNanos, long seed) {
            return new Params("dedicated-nvme", Placement.EXTERNAL, 3, "nvme", "ssd", Workload.defaults(), durationNanos,
                    seed, 100, 1000, 0.0, 300_000, 150_000);
        }

        public Params withDuration(long nanos) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, workload, nanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos);
        }

        public Params withSeed(long s) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, workload, durationNanos, s, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos);
        }

        public Params withWorkload(Workload w) {
            return new Params(name, placement, members, etcdDisk, apiNodeDisk, w, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos);
        }

        public Params withEtcdDisk(String profile) {
            return new Params(name, placement, members, profile, apiNodeDisk, workload, durationNanos, seed, heartbeatMillis,
                    electionMillis, entanglement, externalExtraRttNanos, linkLatencyNanos);
        }
    }

    /** One leader change as the members saw it, with what preceded it on the old leader. */
    public record LeaderChange(long atNanos, long term, String leader, String previousLeader, String cause) {}

    private static final long SAMPLE_NANOS = 50_000_000L;

    private final Params p;
    private final Sim sim;
    private final SimNetwork net;
    private final List<String> names = new ArrayList<>();
    private final Map<String, SimRuntime> runtimes = new LinkedHashMap<>();
    private final Map<String, Member> members = new LinkedHashMap<>();
    private final Map<String, Disk> disks = new LinkedHashMap<>();
    private final List<ApiServerModel> apiServers = new ArrayList<>();
    private final Histogram apiLatency = new Histogram(3_600_000_000_000L, 3);
    private final Histogram fsyncAll = new Histogram(3_600_000_000_000L, 3);
    private final Histogram fsyncPeak = new Histogram(3_600_000_000_000L, 3);
    private final List<LeaderChange> leaderChanges = new ArrayList<>();
    private double burstFactor = 1;
    private SplittableRandom burstRandom;
    private long lastLeaderTerm;
    private long lastApplied;
    private String lastLeader = "";
    private long freezeNanos;
    private long freezeStart = -1;
    private long longestFreezeNanos;
    private int bursts;
    private io.quorumlab.chaos.check.CheckedWorkload checked; // checked clients and watchers (chaos.check)

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
        DiskProfile etcdProfile = DiskProfile.named(p.etcdDisk());
        DiskProfile apiProfile = DiskProfile.named(p.apiNodeDisk());
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= p.members(); i++) {
            String name = (p.placement() == Placement.STACKED ? "cp" : "etcd") + i;
            names.add(name);
            cluster.put(name, "http://10.0.0." + i + ":2380");
        }
        for (String name : names) {
            Disk d = newDisk(name, etcdProfile);
            disks.put(name, d);
            runtimes.put(name, new SimRuntime(sim, name, d));
        }
        for (String name : names) startMember(name, cluster);
        for (int i = 0; i < p.members(); i++) {
            String etcdName = names.get(i);
            Disk apiDisk;
            long rtt;
            String apiNode;
            if (p.placement() == Placement.STACKED) {
                apiNode = etcdName;
                apiDisk = disks.get(etcdName); // same device as the etcd WAL
                rtt = 0;
            } else {
                apiNode = "cp" + (i + 1);
                apiDisk = newDisk(apiNode, apiProfile);
                disks.put(apiNode, apiDisk);
                rtt = p.externalExtraRttNanos();
            }
            ApiServerModel api = new ApiServerModel(sim, apiNode, apiDisk, () -> members.get(etcdName), rtt, net,
                    p.workload(), () -> burstFactor, apiLatency);
            apiServers.add(api);
        }
        // Let the cluster elect its first leader before clients arrive (as a real control plane boots).
        sim.after(3_000_000_000L, () -> apiServers.forEach(ApiServerModel::start));
        burstRandom = sim.split();
        scheduleBursts(0);
        sample();
        checked = new io.quorumlab.chaos.check.CheckedWorkload(sim, members, io.quorumlab.chaos.check.CheckedWorkload.Config.defaults());
        checked.start();
    }

    /** The linearizability and watch checkers' verdict on this run (call after {@link #run}). */
    public io.quorumlab.chaos.check.CheckReport checkReport() {
        return checked.report().withReplay(p.name(), p.seed(), p.durationNanos());
    }

    private Disk newDisk(String node, DiskProfile profile) {
        // Linux defaults: dirty_expire/writeback every 5 s, background writeback above ~10% of RAM.
        return new Disk(sim, node, profile, p.entanglement(), 5_000_000_000L, 1600L << 20);
    }

    private void startMember(String name, Map<String, String> cluster) {
        MemberConfig cfg = MemberConfig.defaults(name, Path.of("/sim", name), cluster)
                .withTimeouts(p.heartbeatMillis(), p.electionMillis())
                .withSnapshotCount(10_000, 5000)
                .withWalSegmentBytes(4L << 20);
        SimRuntime rt = runtimes.get(name);
        try {
            Member m = new Member(cfg, rt, net.endpoint(cfg.memberId()), new MemberMetrics(new CollectorRegistry()));
            m.start();
            members.put(name, m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Puts a scenario's fault on the timeline; unknown member or node names are an error now, not later. */
    public void schedule(Scenario.Fault f) {
        if (f instanceof Scenario.Burst b) {
            burstAt(b.atNanos());
        } else if (f instanceof Scenario.Kill k) {
            requireMember(k.member());
            sim.at(k.atNanos(), () -> crashMember(k.member(), k.downNanos()));
        } else if (f instanceof Scenario.Isolate i) {
            requireMember(i.member());
            sim.at(i.atNanos(), () -> net.isolate(members.get(i.member()).memberId()));
            sim.at(i.atNanos() + i.forNanos(), net::heal);
        } else if (f instanceof Scenario.DiskStall d) {
            Disk disk = requireDisk(d.node());
            sim.at(d.atNanos(), () -> disk.stallUntil(d.atNanos() + d.forNanos()));
        } else if (f instanceof Scenario.DiskLatency d) {
            Disk disk = requireDisk(d.node());
            sim.at(d.atNanos(), () -> disk.setExtraLatency(d.addNanos()));
            sim.at(d.atNanos() + d.forNanos(), () -> disk.setExtraLatency(0));
        }
    }

    private void requireMember(String name) {
        if (!members.containsKey(name)) throw new IllegalArgumentException("no member " + name + " (members: " + members.keySet() + ")");
    }

    private Disk requireDisk(String node) {
        Disk d = disks.get(node);
        if (d == null) throw new IllegalArgumentException("no node " + node + " (nodes: " + disks.keySet() + ")");
        return d;
    }

    /** Starts a deployment burst now (scenarios use it to place one at a known time). */
    public void burstAt(long atNanos) {
        sim.at(atNanos, this::startBurst);
    }

    /** Fault: power loss on a member's node; it restarts after {@code downNanos} from what was durable. */
    public void crashMember(String name, long downNanos) {
        Member m = members.get(name);
        if (m == null) return;
        if (p.placement() == Placement.STACKED) {
            // A stacked node takes its API server down with its etcd member.
            int i = names.indexOf(name);
            if (i >= 0 && i < apiServers.size()) apiServers.get(i).downUntil(sim.now() + downNanos);
        }
        m.crash();
        runtimes.get(name).crash(CrashMode.LOSE_UNSYNCED);
        Map<String, String> cluster = new LinkedHashMap<>();
        for (int i = 1; i <= p.members(); i++) cluster.put(names.get(i - 1), "http://10.0.0." + i + ":2380");
        sim.after(downNanos, () -> startMember(name, cluster));
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
        String leader = null;
        long term = 0;
        for (var e : members.entrySet()) {
            Member m = e.getValue();
            if (!m.isStopped() && m.role() == StateRole.LEADER && m.term() >= term) {
                leader = e.getKey();
                term = m.term();
            }
        }
        if (leader != null) {
            if (term > lastLeaderTerm) {
                if (lastLeaderTerm > 0) leaderChanges.add(new LeaderChange(now, term, leader, lastLeader, causeOf(lastLeader, now)));
                lastLeaderTerm = term;
                lastLeader = leader;
            }
        }
        // A write freeze: writes are outstanding and nothing was applied anywhere for a whole sample.
        long applied = 0;
        for (Member m : members.values()) if (!m.isStopped()) applied = Math.max(applied, m.appliedIndex());
        boolean waiting = false;
        for (ApiServerModel a : apiServers) waiting |= a.inflightWrites > 0;
        if (waiting && applied == lastApplied && lastLeaderTerm > 0) {
            if (freezeStart < 0) freezeStart = now - SAMPLE_NANOS;
        } else if (freezeStart >= 0) {
            endFreeze(now);
        }
        lastApplied = applied;
    }

    /** Pauses shorter than this are ordinary batching and sampling noise, not a freeze. */
    private static final long MIN_FREEZE_NANOS = 250_000_000L;

    private void endFreeze(long now) {
        long f = now - freezeStart;
        if (f >= MIN_FREEZE_NANOS) {
            freezeNanos += f;
            longestFreezeNanos = Math.max(longestFreezeNanos, f);
        }
        freezeStart = -1;
    }

    private String causeOf(String oldLeader, long at) {
        SimRuntime rt = runtimes.get(oldLeader);
        StringBuilder sb = new StringBuilder();
        if (rt != null && rt.lastSlowFsyncNanos() > 0 && at - rt.lastSlowFsyncAt() < 10_000_000_000L) {
            long d = rt.lastSlowFsyncNanos();
            sb.append(String.format(Locale.ROOT, "fsync %.0f ms on leader %s at %s -> heartbeats %.1f s late -> new leader",
                    d / 1e6, oldLeader, clock(rt.lastSlowFsyncAt()), Math.max(0, d / 1e9 - p.heartbeatMillis() / 1000.0)));
        } else {
            sb.append("no slow fsync on old leader ").append(oldLeader).append(" (network, restart or transfer)");
        }
        return sb.toString();
    }

    static String clock(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "d%d %02d:%02d:%02d", s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    }

    /** Advances virtual time to the end of the run; {@code progress} gets the virtual time now and then. */
    public SimResult run(LongConsumer progress) {
        long step = 60_000_000_000L;
        for (long t = step; t < p.durationNanos() + step; t += step) {
            long until = Math.min(t, p.durationNanos());
            sim.runUntil(until);
            collectFsyncs();
            if (progress != null) progress.accept(until);
        }
        observe();
        if (freezeStart >= 0) endFreeze(sim.now());
        apiServers.forEach(ApiServerModel::stop);
        return result();
    }

    /** Folds new fsync samples into the totals (per-minute, so peak hours can be told apart). */
    private void collectFsyncs() {
        boolean peak = isPeakHour(sim.now() - 1);
        for (var e : runtimes.entrySet()) {
            Histogram h = e.getValue().fsyncHistogram();
            Histogram copy = h.copy();
            fsyncAll.add(copy);
            if (peak) fsyncPeak.add(copy);
            h.reset();
        }
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
        long leaderChangesSeen = 0;
        for (Member m : members.values()) {
            proposalsFailed += (long) value(m, "etcd_server_proposals_failed_total");
            leaderChangesSeen = Math.max(leaderChangesSeen, (long) value(m, "etcd_server_leader_changes_seen_total"));
        }
        return new SimResult(p.name(), p.placement().name().toLowerCase(Locale.ROOT), p.seed(), p.durationNanos(), p.members(),
                p.etcdDisk(), ms(fsyncAll, 50), ms(fsyncAll, 99), ms(fsyncAll, 99.9), fsyncAll.getMaxValue() / 1e6,
                fsyncPeak.getTotalCount() == 0 ? 0 : ms(fsyncPeak, 99), fsyncAll.getTotalCount(), ms(apiLatency, 50),
                ms(apiLatency, 99), requests, calls, attempts, failed, leaderChanges.size(), freezeNanos / 1e9,
                longestFreezeNanos / 1e9, proposalsFailed, bursts, List.copyOf(leaderChanges), sim.executedEvents());
    }

    private static double value(Member m, String metric) {
        Double v = metricsOf(m).getSampleValue(metric);
        return v == null ? 0 : v;
    }

    private static CollectorRegistry metricsOf(Member m) {
        return m.metrics().registry();
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1e6;
    }
}
