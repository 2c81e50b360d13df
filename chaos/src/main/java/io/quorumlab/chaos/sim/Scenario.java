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
 * duration: 30m                 # s, m, h, d
 * seed: 7
 * workload: {apiRequestsPerSecond: 250, burstsPerDay: 0}
 * faults:
 *   - {at: 1m, burst: true}                  # a deployment burst
 *   - {at: 5m, kill: cp1, downFor: 30s}       # power loss, restart from what was durable
 *   - {at: 10m, isolate: cp2, for: 20s}       # symmetric partition of one member
 *   - {at: 15m, diskStall: cp1, for: 3s}      # the device answers nothing
 *   - {at: 20m, diskLatency: cp1, add: 20ms, for: 2m}
 * </pre>
 */
public record Scenario(ClusterSimulation.Params params, List<Fault> faults) {
    /** One fault at a virtual time. */
    public sealed interface Fault permits Burst, Kill, Isolate, DiskStall, DiskLatency {
        long atNanos();
    }

    public record Burst(long atNanos) implements Fault {}

    public record Kill(long atNanos, String member, long downNanos) implements Fault {}

    public record Isolate(long atNanos, String member, long forNanos) implements Fault {}

    public record DiskStall(long atNanos, String node, long forNanos) implements Fault {}

    public record DiskLatency(long atNanos, String node, long addNanos, long forNanos) implements Fault {}

    public static Scenario load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), file.toString());
        }
    }

    @SuppressWarnings("unchecked")
    public static Scenario parse(String yaml, String source) {
        Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        if (!(doc instanceof Map<?, ?> m)) throw new IllegalArgumentException(source + ": a scenario is a YAML mapping");
        Map<String, Object> root = (Map<String, Object>) m;
        String placement = str(root, "placement", "stacked");
        long duration = duration(str(root, "duration", "10m"));
        long seed = ((Number) root.getOrDefault("seed", 1)).longValue();
        ClusterSimulation.Params p = switch (placement) {
            case "stacked" -> ClusterSimulation.Params.stacked(duration, seed);
            case "external", "dedicated", "dedicated-nvme" -> ClusterSimulation.Params.dedicatedNvme(duration, seed);
            default -> throw new IllegalArgumentException(source + ": placement must be stacked or external, not " + placement);
        };
        if (root.containsKey("etcdDisk")) p = p.withEtcdDisk(str(root, "etcdDisk", "ssd"));
        Workload w = p.workload();
        if (root.get("workload") instanceof Map<?, ?> wm) w = workload(w, (Map<String, Object>) wm);
        p = p.withWorkload(w);
        String name = str(root, "name", source);
        p = new ClusterSimulation.Params(name, p.placement(), ((Number) root.getOrDefault("members", 3)).intValue(),
                p.etcdDisk(), p.apiNodeDisk(), p.workload(), p.durationNanos(), p.seed(), p.heartbeatMillis(),
                p.electionMillis(), p.entanglement(), p.externalExtraRttNanos(), p.linkLatencyNanos());
        List<Fault> faults = new ArrayList<>();
        if (root.get("faults") instanceof List<?> fl) {
            for (Object o : fl) {
                if (!(o instanceof Map<?, ?> fm)) throw new IllegalArgumentException(source + ": each fault is a mapping");
                faults.add(fault((Map<String, Object>) fm, source));
            }
        }
        return new Scenario(p, List.copyOf(faults));
    }

    private static Fault fault(Map<String, Object> f, String source) {
        long at = duration(str(f, "at", "0s"));
        if (f.containsKey("burst")) return new Burst(at);
        if (f.containsKey("kill")) return new Kill(at, str(f, "kill", ""), duration(str(f, "downFor", "30s")));
        if (f.containsKey("isolate")) return new Isolate(at, str(f, "isolate", ""), duration(str(f, "for", "10s")));
        if (f.containsKey("diskStall")) return new DiskStall(at, str(f, "diskStall", ""), duration(str(f, "for", "1s")));
        if (f.containsKey("diskLatency")) {
            return new DiskLatency(at, str(f, "diskLatency", ""), duration(str(f, "add", "10ms")), duration(str(f, "for", "1m")));
        }
        throw new IllegalArgumentException(source + ": unknown fault " + f + " (burst, kill, isolate, diskStall, diskLatency)");
    }

    private static Workload workload(Workload w, Map<String, Object> m) {
        return new Workload(num(m, "apiRequestsPerSecond", w.apiRequestsPerSecond()),
                num(m, "etcdCallsPerApiRequest", w.etcdCallsPerApiRequest()), num(m, "writeFraction", w.writeFraction()),
                (int) num(m, "auditBytesPerRequest", w.auditBytesPerRequest()), (int) num(m, "valueBytes", w.valueBytes()),
                num(m, "dailyAmplitude", w.dailyAmplitude()), num(m, "burstsPerDay", w.burstsPerDay()),
                num(m, "burstMinutes", w.burstMinutes()), num(m, "burstMultiplier", w.burstMultiplier()),
                (long) num(m, "burstImageBytes", w.burstImageBytes()), num(m, "burstImageMBps", w.burstImageMBps()));
    }

    private static double num(Map<String, Object> m, String k, double dflt) {
        Object v = m.get(k);
        return v instanceof Number n ? n.doubleValue() : dflt;
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
