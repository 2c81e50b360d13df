package io.quorumlab.chaos.sim;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * Profiling harness for the simulator's own speed (not a test, never run in CI): runs the stacked
 * placement for a fixed virtual duration and seed and prints events executed, simulated seconds per
 * wall second and per CPU second of the simulating thread (the steadier number on a shared machine),
 * bytes allocated per event, and the heap the run holds at its end.
 *
 * <pre>java -cp cli/target/quorumlab.jar io.quorumlab.chaos.sim.SimSpeed [minutes=10] [seed=1] [warmupMinutes=2] [load=flat] [compactMinutes=0] [requestWeight=1] [placement=stacked] [fromMinute=0]</pre>
 *
 * {@code load=flat} flattens the daily curve so that the measured minutes carry the week's average
 * rate (about 160 etcd writes/s with the default workload); {@code load=daily} keeps the curve, whose
 * first minutes after midnight are its trough (about 0.48x). A warm-up run of {@code warmupMinutes}
 * (its own cluster, same seed) lets the JIT compile first; it is not counted. {@code json-hash}
 * identifies the run's result: a change that keeps it keeps the seed's numbers. {@code compactMinutes > 0}
 * is a what-if, not the model: every that many simulated minutes the leader is asked to compact to the
 * revision current one interval earlier, as kube-apiserver does every 5 minutes (the simulated API
 * server does not compact yet, so without it the MVCC history, and the heap, grow with every write). Add
 * {@code -XX:StartFlightRecording=filename=sim.jfr} to profile. {@code fromMinute > 0} counts only the simulated
 * time after that minute (the rates then describe a long run's sparse-checker steady state, past the
 * checkers' dense first 15 minutes).
 */
public final class SimSpeed {
    private SimSpeed() {}

    public static void main(String[] args) {
        double minutes = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
        double warmup = args.length > 2 ? Double.parseDouble(args[2]) : 2;
        String load = args.length > 3 ? args[3] : "flat";
        if (!load.equals("flat") && !load.equals("daily")) throw new IllegalArgumentException("load must be flat or daily");
        double compact = args.length > 4 ? Double.parseDouble(args[4]) : 0;
        int weight = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        String placement = args.length > 6 ? args[6] : "stacked";
        double from = args.length > 7 ? Double.parseDouble(args[7]) : 0;
        if (from < 0 || from >= minutes) throw new IllegalArgumentException("fromMinute must be in [0, minutes)");
        if (warmup > 0) measure(params(warmup, seed, load, weight, placement), load, compact, "warm-up", 0);
        measure(params(minutes, seed, load, weight, placement), load, compact, "measured", (long) (from * 60e9));
    }

    static ClusterSimulation.Params params(double minutes, long seed, String load, int weight, String placement) {
        long nanos = (long) (minutes * 60e9);
        ClusterSimulation.Params p = switch (placement) {
            case "stacked" -> ClusterSimulation.Params.stacked(nanos, seed);
            case "dedicated-nvme" -> ClusterSimulation.Params.dedicatedNvme(nanos, seed);
            default -> throw new IllegalArgumentException("placement must be stacked or dedicated-nvme");
        };
        Workload w = p.workload().withRequestWeight(weight);
        return p.withWorkload(load.equals("flat") ? w.flat() : w);
    }

    /** kube-apiserver's compaction loop, as a what-if: compact to the revision seen one interval ago. */
    private static void compactEvery(ClusterSimulation c, long intervalNanos, long previousRevision) {
        c.sim().after(intervalNanos, () -> {
            long seen = previousRevision;
            for (io.quorumlab.server.member.Member m : c.members().values()) {
                if (m.isStopped() || m.role() != io.quorumlab.raft.StateRole.LEADER) continue;
                if (previousRevision > 0) {
                    m.propose(new io.quorumlab.mvcc.api.CompactionRequest(previousRevision, false)).exceptionally(t -> null);
                }
                seen = m.store().currentRevision();
                break;
            }
            compactEvery(c, intervalNanos, seen);
        });
    }

    private static void measure(ClusterSimulation.Params p, String load, double compactMinutes, String label, long fromNanos) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        ClusterSimulation c = new ClusterSimulation(p);
        long[] start = new long[7]; // wall, thread cpu, process cpu, allocated, gc, events, taken
        Runnable mark = () -> {
            start[0] = System.nanoTime();
            start[1] = threads.getCurrentThreadCpuTime();
            start[2] = processCpuNanos();
            start[3] = allocatedBytes();
            start[4] = gcMillis();
            start[5] = c.sim().executedEvents();
            start[6] = 1;
        };
        mark.run();
        c.build();
        if (compactMinutes > 0) compactEvery(c, (long) (compactMinutes * 60e9), 0);
        if (fromNanos > 0) start[6] = 0;
        SimResult r = c.run(until -> {
            if (start[6] == 0 && until >= fromNanos) mark.run();
        });
        long wall = System.nanoTime() - start[0];
        long cpu = threads.getCurrentThreadCpuTime() - start[1];
        long proc = processCpuNanos() - start[2];
        long alloc = allocatedBytes() - start[3];
        long gc = gcMillis() - start[4];
        long events = c.sim().executedEvents() - start[5];
        double simSeconds = (p.durationNanos() - fromNanos) / 1e9;
        System.gc();
        long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        System.out.printf(Locale.ROOT,
                "%s: %s seed=%d weight=%d load=%s compact=%s simulated=%.0f s, %.0f etcd calls/s, %.0f writes/s nominal | events=%d"
                        + " (%.0f/simulated s) | wall=%.2f s, thread cpu=%.2f s (process %.2f s, gc %.2f s)"
                        + " | %.1f simulated s per wall s, %.1f per CPU s | %.0f ns CPU and %.0f B allocated per event"
                        + " | heap after run %.0f MB | leaderChanges=%d json-hash=%08x%n",
                label, p.name(), p.seed(), p.workload().requestWeight(), load, compactMinutes > 0 ? compactMinutes + "min" : "off", simSeconds, r.etcdCalls() / simSeconds,
                p.workload().etcdWritesPerSecond(p.members()) * (load.equals("flat") ? 1 : p.workload().daily(0)), events,
                events / simSeconds, wall / 1e9, cpu / 1e9, proc / 1e9, gc / 1e3, simSeconds / (wall / 1e9),
                simSeconds / (cpu / 1e9), (double) cpu / events, (double) alloc / events, heap / 1e6, r.leaderElections(),
                r.toJson().hashCode());
    }

    private static long processCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean s ? s.getProcessCpuTime() : 0;
    }

    private static long allocatedBytes() {
        var t = ManagementFactory.getThreadMXBean();
        return t instanceof com.sun.management.ThreadMXBean s ? s.getThreadAllocatedBytes(Thread.currentThread().getId()) : 0;
    }

    private static long gcMillis() {
        long t = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) t += Math.max(0, gc.getCollectionTime());
        return t;
    }
}
