package io.quorumlab.chaos.sim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A simulation scenario from YAML: the cluster, its workload, and faults on a timeline.
 *
 * <pre>
 * name: friday-deploy-cascade
 * placement: stacked            # or external
 * members: 3
 * etcdDisk: ssd                 # nvme | ssd | hdd | measured:FILE
 * externalRtt: 0.3ms            # extra API server <-> etcd round trip with external placement (default 0.3ms)
 * duration: 30m                 # s, m, h, d
 * seed: 7
 * workload: {apiRequestsPerSecond: 250, burstsPerDay: 0, requestWeight: 1}   # any Workload field; requestWeight: real requests per simulated one
 * loss: 0.01                    # network loss on every member link for the whole run (also a timed fault)
 * faults:
 *   - {at: 1m, burst: true}                  # a deployment burst
 *   - {at: 5m, kill: cp1, downFor: 30s}       # power loss, restart from what was durable
 *   - {at: 6m, kill: cp2, torn: true}         # power loss tearing the last WAL write (a prefix of it survives)
 *   - {at: 7m, loss: 0.05, for: 1m}           # 5% of messages between members dropped
 *   - {at: 10m, isolate: cp2, for: 20s}       # symmetric partition of one member
 *   - {at: 15m, diskStall: cp1, for: 3s}      # the device answers nothing
 *   - {at: 20m, diskLatency: cp1, add: 20ms, for: 2m}
 *   - {at: 22m, linkLatency: cp1, add: 50ms, for: 1m}              # every peer link of cp1, both ways
 *   - {at: 23m, linkLatency: cp1, to: cp2, add: 5ms, for: 1m}      # cp1 <-> cp2 only (oneWay: true for cp1 -> cp2)
 *   - {at: 25m, restart: cp2, downFor: 10s}   # process restart: the page cache survives
 *   - {at: 26m, partition: cp1, to: cp3, for: 30s}               # both directions between two members
 *   - {at: 27m, partition: cp1, to: cp3, oneWay: true, for: 30s} # only cp1 -> cp3 is dropped
 *   - {at: 28m, transferLeader: cp2}          # or "any": etcdctl move-leader from the current leader
 *   - {at: 30m, addMember: etcd1, as: learner, disk: nvme}   # MemberAdd, then the member starts
 *   - {at: 32m, promoteMember: etcd1}         # retried while the learner is not in sync
 *   - {at: 35m, removeMember: cp1}            # MemberRemove; the process is stopped
 * </pre>
 * A member added by {@code addMember} runs on a node of its own with its own device and starts with
 * {@code --initial-cluster-state existing}; later faults may name it.
 */
public record Scenario(ClusterSimulation.Params params, List<Fault> faults) {
    /** One fault at a virtual time. */
    public sealed interface Fault permits Burst, Kill, Loss, Isolate, DiskStall, DiskLatency, LinkLatency, Restart, Partition,
            TransferLeader, AddMember, PromoteMember, RemoveMember {
        long atNanos();

        /** How the fault reads in a report ({@code kill cp1 for 30s}). */
        String describe();
    }

    public record Burst(long atNanos) implements Fault {
        public String describe() {
            return "deployment burst";
        }
    }

    /** Power loss: unsynced WAL bytes are lost, or with {@code torn} the last write is torn (a prefix of it survives). */
    public record Kill(long atNanos, String member, long downNanos, boolean torn) implements Fault {
        public Kill(long atNanos, String member, long downNanos) {
            this(atNanos, member, downNanos, false);
        }

        public String describe() {
            return "kill " + member + (torn ? " (power loss, last write torn)" : " (power loss)") + " for " + span(downNanos);
        }
    }

    /**
     * Network loss: each message between etcd members is dropped with probability {@code probability}
     * (overlapping losses combine as independent drops), for {@code forNanos}; 0 means to the end of the run.
     */
    public record Loss(long atNanos, double probability, long forNanos) implements Fault {
        public String describe() {
            return String.format(Locale.ROOT, "network loss %.3g%%", probability * 100)
                    + (forNanos == 0 ? " on every link" : " on every link for " + span(forNanos));
        }
    }

    public record Isolate(long atNanos, String member, long forNanos) implements Fault {
        public String describe() {
            return "isolate " + member + " for " + span(forNanos);
        }
    }

    public record DiskStall(long atNanos, String node, long forNanos) implements Fault {
        public String describe() {
            return "disk stall on " + node + " for " + span(forNanos);
        }
    }

    public record DiskLatency(long atNanos, String node, long addNanos, long forNanos) implements Fault {
        public String describe() {
            return "disk latency +" + span(addNanos) + " on " + node + " for " + span(forNanos);
        }
    }

    /**
     * A latency step on the network: messages between etcd members take {@code addNanos} longer one way
     * for {@code forNanos}; on every peer link of {@code member} ({@code to} null), or only between
     * {@code member} and {@code to} (only {@code member -> to} if one-way).
     */
    public record LinkLatency(long atNanos, String member, String to, boolean oneWay, long addNanos, long forNanos)
            implements Fault {
        public String describe() {
            String where = to == null ? "all links of " + member : oneWay ? member + " -> " + to : member + " <-> " + to;
            return "link latency +" + span(addNanos) + " on " + where + " for " + span(forNanos);
        }
    }

    /** A process restart (crash of the process, not the node): every written byte survives. */
    public record Restart(long atNanos, String member, long downNanos) implements Fault {
        public String describe() {
            return "restart " + member + " (down " + span(downNanos) + ")";
        }
    }

    /** Messages from {@code member} to {@code to} are dropped (and back, unless one-way). */
    public record Partition(long atNanos, String member, String to, boolean oneWay, long forNanos) implements Fault {
        public String describe() {
            return (oneWay ? "one-way partition " + member + " -> " + to : "partition " + member + " <-> " + to) + " for "
                    + span(forNanos);
        }
    }

    /** etcdctl move-leader from the current leader to {@code target} ({@link #ANY}: another voter that is up). */
    public record TransferLeader(long atNanos, String target) implements Fault {
        public static final String ANY = "any";

        public String describe() {
            return "transfer leadership to " + target;
        }
    }

    /** MemberAdd (learner or voter) on the leader, then the new member starts on its own node and device. */
    public record AddMember(long atNanos, String member, boolean learner, String disk) implements Fault {
        public String describe() {
            return "add " + member + (learner ? " as learner" : " as voter") + " (" + disk + ")";
        }
    }

    /** MemberPromote of a learner, retried (as operators do) while etcd answers that it is not in sync. */
    public record PromoteMember(long atNanos, String member) implements Fault {
        public String describe() {
            return "promote " + member;
        }
    }

    /** MemberRemove on the leader; the removed member's process is then stopped. */
    public record RemoveMember(long atNanos, String member) implements Fault {
        public String describe() {
            return "remove " + member;
        }
    }

    static String span(long nanos) {
        if (nanos % 60_000_000_000L == 0 && nanos > 0) return nanos / 60_000_000_000L + "m";
        if (nanos % 1_000_000_000L == 0) return nanos / 1_000_000_000L + "s";
        return String.format(Locale.ROOT, "%.0fms", nanos / 1e6);
    }

    private static final List<String> KINDS = List.of("burst", "kill", "loss", "restart", "isolate", "partition", "diskStall",
            "diskLatency", "linkLatency", "transferLeader", "addMember", "promoteMember", "removeMember");

    public static Scenario load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), file.toString());
        }
    }

    /** Top-level keys of a scenario file. */
    static final List<String> TOP_KEYS = List.of("name", "placement", "members", "etcdDisk", "duration", "seed", "workload", "loss",
            "externalRtt", "faults");
    /** Keys of the {@code workload:} mapping, each a field of {@link Workload}. */
    static final List<String> WORKLOAD_KEYS = List.of("apiRequestsPerSecond", "etcdCallsPerApiRequest", "writeFraction",
            "auditBytesPerRequest", "valueBytes", "dailyAmplitude", "burstsPerDay", "burstMinutes", "burstMultiplier",
            "burstImageBytes", "burstImageMBps", "requestWeight");
    /** The keys each fault kind takes besides {@code at} and its own name. */
    private static final Map<String, List<String>> FAULT_KEYS = Map.ofEntries(
            Map.entry("burst", List.of()),
            Map.entry("kill", List.of("downFor", "torn")),
            Map.entry("loss", List.of("for")),
            Map.entry("restart", List.of("downFor")),
            Map.entry("isolate", List.of("for")),
            Map.entry("partition", List.of("to", "oneWay", "for")),
            Map.entry("diskStall", List.of("for")),
            Map.entry("diskLatency", List.of("add", "for")),
            Map.entry("linkLatency", List.of("to", "oneWay", "add", "for")),
            Map.entry("transferLeader", List.of()),
            Map.entry("addMember", List.of("as", "disk")),
            Map.entry("promoteMember", List.of()),
            Map.entry("removeMember", List.of()));

    @SuppressWarnings("unchecked")
    public static Scenario parse(String yaml, String source) {
        Object doc;
        try {
            doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (org.yaml.snakeyaml.error.YAMLException e) {
            throw new IllegalArgumentException(source + ": not valid YAML: " + e.getMessage().strip(), e);
        }
        if (!(doc instanceof Map<?, ?> m)) throw new IllegalArgumentException(source + ": a scenario is a YAML mapping");
        Map<String, Object> root = (Map<String, Object>) m;
        onlyKeys(root, TOP_KEYS, source + ": ", "scenario");
        String placement = str(root, "placement", "stacked");
        long duration = duration(str(root, "duration", "10m"));
        long seed = integer(root, "seed", 1, source);
        ClusterSimulation.Params p = switch (placement) {
            case "stacked" -> ClusterSimulation.Params.stacked(duration, seed);
            case "external", "dedicated", "dedicated-nvme" -> ClusterSimulation.Params.dedicatedNvme(duration, seed);
            default -> throw new IllegalArgumentException(source + ": placement must be stacked or external, not " + placement);
        };
        if (root.containsKey("etcdDisk")) p = p.withEtcdDisk(str(root, "etcdDisk", "ssd"));
        Workload w = p.workload();
        Object wo = root.get("workload");
        if (wo instanceof Map<?, ?> wm) {
            w = workload(w, (Map<String, Object>) wm, source + ": workload: ");
        } else if (wo != null) {
            throw new IllegalArgumentException(source + ": workload must be a mapping ({" + WORKLOAD_KEYS.get(0) + ": ..., ...}), not " + wo);
        }
        p = p.withWorkload(w);
        String name = str(root, "name", source);
        long externalRtt = p.externalExtraRttNanos();
        if (root.containsKey("externalRtt")) {
            externalRtt = nonNegative(source + ": ", "externalRtt", str(root, "externalRtt", "0.3ms"));
            if (externalRtt > 50_000_000L) throw new IllegalArgumentException(source + ": externalRtt must be at most 50ms, not " + root.get("externalRtt"));
        }
        p = new ClusterSimulation.Params(name, p.placement(), (int) integer(root, "members", 3, source),
                p.etcdDisk(), p.apiNodeDisk(), p.workload(), p.durationNanos(), p.seed(), p.heartbeatMillis(),
                p.electionMillis(), p.entanglement(), externalRtt, p.linkLatencyNanos());
        List<Fault> faults = new ArrayList<>();
        if (root.containsKey("loss")) faults.add(new Loss(0, probability(source + ": ", root.get("loss")), 0));
        Object fo = root.get("faults");
        if (fo instanceof List<?> fl) {
            for (Object o : fl) {
                if (!(o instanceof Map<?, ?> fm)) throw new IllegalArgumentException(source + ": each fault is a mapping, not " + o);
                faults.add(fault((Map<String, Object>) fm, source));
            }
        } else if (fo != null) {
            throw new IllegalArgumentException(source + ": faults must be a list (\"- {at: 1m, kill: cp1}\" per line), not " + fo);
        }
        return new Scenario(p, List.copyOf(faults));
    }

    /** Refuses a key outside {@code allowed} (a typo would otherwise fall back to a default silently). */
    private static void onlyKeys(Map<String, Object> m, List<String> allowed, String where, String what) {
        for (Object k : m.keySet()) {
            if (!allowed.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(where + "unknown key \"" + k + "\" in " + what + " (allowed: "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    private static Fault fault(Map<String, Object> f, String source) {
        String kind = null;
        for (String k : KINDS) {
            if (!f.containsKey(k)) continue;
            if (kind != null) throw new IllegalArgumentException(source + ": one fault per entry, not " + kind + " and " + k + " in " + f);
            kind = k;
        }
        if (kind == null) throw new IllegalArgumentException(source + ": unknown fault " + f + " (" + String.join(", ", KINDS) + ")");
        String where = source + ": fault " + f + ": ";
        List<String> allowed = new ArrayList<>(List.of("at", kind));
        allowed.addAll(FAULT_KEYS.get(kind));
        onlyKeys(f, allowed, where, "the " + kind + " fault");
        long at = nonNegative(where, "at", str(f, "at", "0s"));
        switch (kind) {
            case "burst":
                return new Burst(at);
            case "kill": {
                Object torn = f.getOrDefault("torn", false);
                if (!(torn instanceof Boolean)) throw new IllegalArgumentException(where + "torn must be true or false, not " + torn);
                return new Kill(at, name(where, f, kind), positive(where, "downFor", str(f, "downFor", "30s")), (Boolean) torn);
            }
            case "loss":
                return new Loss(at, probability(where, f.get("loss")), positive(where, "for", str(f, "for", "1m")));
            case "restart":
                return new Restart(at, name(where, f, kind), nonNegative(where, "downFor", str(f, "downFor", "5s")));
            case "isolate":
                return new Isolate(at, name(where, f, kind), positive(where, "for", str(f, "for", "10s")));
            case "partition": {
                String to = f.get("to") == null ? null : f.get("to").toString();
                if (to == null || !NAME.matcher(to).matches()) throw new IllegalArgumentException(where + "partition needs to: MEMBER");
                String from = name(where, f, kind);
                if (from.equals(to)) throw new IllegalArgumentException(where + "a partition needs two different members");
                Object ow = f.getOrDefault("oneWay", false);
                if (!(ow instanceof Boolean)) throw new IllegalArgumentException(where + "oneWay must be true or false, not " + ow);
                return new Partition(at, from, to, (Boolean) ow, positive(where, "for", str(f, "for", "10s")));
            }
            case "diskStall":
                return new DiskStall(at, name(where, f, kind), positive(where, "for", str(f, "for", "1s")));
            case "diskLatency":
                return new DiskLatency(at, name(where, f, kind), positive(where, "add", str(f, "add", "10ms")),
                        positive(where, "for", str(f, "for", "1m")));
            case "linkLatency": {
                String from = name(where, f, kind);
                String to = null;
                if (f.get("to") != null) {
                    to = f.get("to").toString();
                    if (!NAME.matcher(to).matches()) throw new IllegalArgumentException(where + "to needs a member name, not \"" + to + "\"");
                    if (from.equals(to)) throw new IllegalArgumentException(where + "a link needs two different members");
                }
                Object ow = f.getOrDefault("oneWay", false);
                if (!(ow instanceof Boolean)) throw new IllegalArgumentException(where + "oneWay must be true or false, not " + ow);
                if ((Boolean) ow && to == null) throw new IllegalArgumentException(where + "oneWay needs to: MEMBER");
                return new LinkLatency(at, from, to, (Boolean) ow, positive(where, "add", str(f, "add", "10ms")),
                        positive(where, "for", str(f, "for", "1m")));
            }
            case "transferLeader":
                return new TransferLeader(at, name(where, f, kind));
            case "addMember": {
                String as = str(f, "as", "learner");
                if (!as.equals("learner") && !as.equals("voter")) {
                    throw new IllegalArgumentException(where + "as must be learner or voter, not " + as);
                }
                String disk = str(f, "disk", "nvme");
                DiskProfile.named(disk); // an unknown profile is refused now
                String name = name(where, f, kind);
                if (name.equals(TransferLeader.ANY)) throw new IllegalArgumentException(where + "\"any\" is not a member name");
                return new AddMember(at, name, as.equals("learner"), disk);
            }
            case "promoteMember":
                return new PromoteMember(at, name(where, f, kind));
            case "removeMember":
                return new RemoveMember(at, name(where, f, kind));
            default:
                throw new IllegalStateException(kind);
        }
    }

    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");

    private static String name(String where, Map<String, Object> f, String kind) {
        Object v = f.get(kind);
        String n = v == null ? "" : v.toString();
        if (!NAME.matcher(n).matches()) {
            throw new IllegalArgumentException(where + kind + " needs a member or node name (lower-case letters, digits, '-'), not \"" + n + "\"");
        }
        return n;
    }

    private static double probability(String where, Object v) {
        if (v instanceof Number n && n.doubleValue() >= 0 && n.doubleValue() < 1) return n.doubleValue();
        throw new IllegalArgumentException(where + "loss is a probability in [0, 1), e.g. 0.01, not " + v);
    }

    private static long positive(String where, String key, String value) {
        long v = duration(value);
        if (v <= 0) throw new IllegalArgumentException(where + key + " must be positive, not " + value);
        return v;
    }

    private static long nonNegative(String where, String key, String value) {
        long v = duration(value);
        if (v < 0) throw new IllegalArgumentException(where + key + " must not be negative, not " + value);
        return v;
    }

    private static Workload workload(Workload w, Map<String, Object> m, String where) {
        onlyKeys(m, WORKLOAD_KEYS, where, "workload");
        return new Workload(num(m, "apiRequestsPerSecond", w.apiRequestsPerSecond(), where),
                num(m, "etcdCallsPerApiRequest", w.etcdCallsPerApiRequest(), where), num(m, "writeFraction", w.writeFraction(), where),
                (int) num(m, "auditBytesPerRequest", w.auditBytesPerRequest(), where), (int) num(m, "valueBytes", w.valueBytes(), where),
                num(m, "dailyAmplitude", w.dailyAmplitude(), where), num(m, "burstsPerDay", w.burstsPerDay(), where),
                num(m, "burstMinutes", w.burstMinutes(), where), num(m, "burstMultiplier", w.burstMultiplier(), where),
                (long) num(m, "burstImageBytes", w.burstImageBytes(), where), num(m, "burstImageMBps", w.burstImageMBps(), where),
                (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, integer(m, "requestWeight", w.requestWeight(), "workload"))));
    }

    private static long integer(Map<String, Object> m, String k, long dflt, String source) {
        Object v = m.get(k);
        if (v == null) return dflt;
        if (v instanceof Integer || v instanceof Long) return ((Number) v).longValue();
        throw new IllegalArgumentException(source + ": " + k + " must be an integer, not " + v);
    }

    private static double num(Map<String, Object> m, String k, double dflt, String where) {
        Object v = m.get(k);
        if (v == null) return dflt;
        if (v instanceof Number n && Double.isFinite(n.doubleValue())) return n.doubleValue();
        throw new IllegalArgumentException(where + k + " must be a number, not " + v);
    }

    private static String str(Map<String, Object> m, String k, String dflt) {
        Object v = m.get(k);
        return v == null ? dflt : v.toString();
    }

    /** {@code 500ms}, {@code 30s}, {@code 10m}, {@code 2h}, {@code 7d}; a bare number is seconds. */
    public static long duration(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        double mult;
        String num;
        if (t.endsWith("ms")) {
            mult = 1e6;
            num = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            mult = 1e9;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            mult = 60e9;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            mult = 3600e9;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("d")) {
            mult = 86400e9;
            num = t.substring(0, t.length() - 1);
        } else {
            mult = 1e9;
            num = t;
        }
        try {
            return (long) (Double.parseDouble(num) * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad duration \"" + s + "\" (use 500ms, 30s, 10m, 2h or 7d)");
        }
    }

    /** Builds the simulation with the faults scheduled on its clock. */
    public ClusterSimulation build() {
        ClusterSimulation s = new ClusterSimulation(params);
        s.build();
        for (Fault f : faults) s.schedule(f);
        return s;
    }
}
