package io.quorumlab.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the text scenarios in {@code src/test/resources/scenarios}: lines starting with {@code >} are
 * commands, the lines under each are the expected output, {@code #} lines are comments. A reviewer
 * reads a scenario like a lab notebook. After a deliberate behaviour change, regenerate the expected
 * output with {@code mvn -pl raft test -Dtest=ScenarioTest -Draft.rewrite=true} and review the diff.
 */
class ScenarioTest {
    static final Path DIR = Path.of("src/test/resources/scenarios");

    @TestFactory
    Stream<DynamicTest> scenarios() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
        }
        if (files.isEmpty()) throw new AssertionError("no scenarios in " + DIR.toAbsolutePath());
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> run(f)));
    }

    private void run(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        StringBuilder expected = new StringBuilder();
        StringBuilder actual = new StringBuilder();
        Runner runner = new Runner();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith(">")) {
                expected.append(line).append('\n');
                actual.append(line).append('\n');
                int j = i + 1;
                while (j < lines.size() && !lines.get(j).startsWith(">") && !lines.get(j).startsWith("#")) {
                    expected.append(lines.get(j)).append('\n');
                    j++;
                }
                String out;
                try {
                    out = runner.exec(line.substring(1).trim());
                } catch (RuntimeException | AssertionError e) {
                    out = "error: " + e.getMessage() + "\n";
                }
                actual.append(out);
                i = j - 1;
            } else {
                expected.append(line).append('\n');
                actual.append(line).append('\n');
            }
        }
        if (Boolean.getBoolean("raft.rewrite")) {
            Files.writeString(file, actual.toString(), StandardCharsets.UTF_8);
            return;
        }
        assertEquals(expected.toString(), actual.toString(),
                "scenario " + file + " differs; if intended, rerun with -Draft.rewrite=true and review the diff");
    }

    /** Interprets scenario commands against a {@link RaftCluster}. */
    static final class Runner {
        RaftCluster c;
        int electionTicks = 10;
        int heartbeatTicks = 1;

        String exec(String cmdline) {
            String[] parts = cmdline.split("\\s+");
            String cmd = parts[0];
            Map<String, String> kv = new HashMap<>();
            List<String> args = new ArrayList<>();
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq > 0) kv.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
                else args.add(parts[i]);
            }
            StringBuilder out = new StringBuilder();
            switch (cmd) {
                case "add-nodes" -> {
                    int n = Integer.parseInt(args.get(0));
                    boolean preVote = Boolean.parseBoolean(kv.getOrDefault("prevote", "true"));
                    boolean checkQuorum = Boolean.parseBoolean(kv.getOrDefault("checkquorum", "true"));
                    ReadOnlyOption read = "lease".equals(kv.get("read")) ? ReadOnlyOption.LEASE_BASED : ReadOnlyOption.SAFE;
                    electionTicks = Integer.parseInt(kv.getOrDefault("election", "10"));
                    heartbeatTicks = Integer.parseInt(kv.getOrDefault("heartbeat", "1"));
                    long maxMsg = Long.parseLong(kv.getOrDefault("max-msg-bytes", String.valueOf(1 << 20)));
                    int maxInflight = Integer.parseInt(kv.getOrDefault("max-inflight", "256"));
                    long maxInflightBytes = Long.parseLong(kv.getOrDefault("max-inflight-bytes", "0"));
                    long maxUncommitted = Long.parseLong(kv.getOrDefault("max-uncommitted-bytes", String.valueOf(1L << 30)));
                    int et = electionTicks, ht = heartbeatTicks;
                    c = RaftCluster.ofVoters(n, cfg -> cfg.withElection(et, ht)
                            .withFlags(checkQuorum, preVote, read)
                            .withLimits(maxMsg, maxInflight, maxInflightBytes, maxUncommitted), 1);
                    c.stabilize(); // apply the bootstrap conf changes
                    for (long id : c.nodes.keySet()) out.append(describe(id)).append('\n');
                }
                case "add-spare" -> {
                    long id = Long.parseLong(args.get(0));
                    c.add(id, new MemoryLogStorage(), 1 * 31 + id);
                    out.append(describe(id)).append('\n');
                }
                case "campaign" -> c.node(id(args)).raw.campaign();
                case "tick-heartbeat" -> c.tick(id(args), heartbeatTicks * Integer.parseInt(kv.getOrDefault("n", "1")));
                case "tick-election" -> {
                    // Tick until the node's election timer fires (a campaign) or two timeouts pass.
                    long id = id(args);
                    RaftCluster.Node n = c.node(id);
                    if (n.raw.role() == StateRole.LEADER) {
                        c.tick(id, electionTicks); // a leader's CheckQuorum runs every election timeout
                        break;
                    }
                    for (int i = 0; i < 2 * electionTicks; i++) {
                        StateRole before = n.raw.role();
                        n.raw.tick();
                        if (n.raw.role() != before || !n.raft().msgs.isEmpty()) break;
                    }
                }
                case "propose" -> out.append(c.node(id(args)).raw.propose(args.get(1).getBytes(StandardCharsets.UTF_8))).append('\n');
                case "propose-conf-change" -> {
                    ConfChangeType t = switch (args.get(1)) {
                        case "add" -> ConfChangeType.ADD_NODE;
                        case "add-learner" -> ConfChangeType.ADD_LEARNER_NODE;
                        case "remove" -> ConfChangeType.REMOVE_NODE;
                        default -> throw new IllegalArgumentException("conf change " + args.get(1));
                    };
                    out.append(c.node(id(args)).raw.proposeConfChange(ConfChange.of(t, Long.parseLong(args.get(2))))).append('\n');
                }
                case "read-index" -> c.node(id(args)).raw.readIndex(args.get(1).getBytes(StandardCharsets.UTF_8));
                case "transfer-leadership" -> c.node(id(args)).raw.transferLeadership(Long.parseLong(args.get(1)));
                case "process-ready" -> {
                    Ready rd = c.processReady(id(args));
                    out.append(rd == null ? "<no ready>\n" : describe(id(args), rd));
                }
                case "deliver-msgs" -> {
                    long target = args.isEmpty() ? 0 : id(args);
                    for (Message m : take(target)) {
                        boolean dropped = isDropped(m);
                        out.append(dropped ? "dropped " : "").append(m).append('\n');
                        c.deliver(m);
                    }
                }
                case "drop-msgs" -> {
                    long target = args.isEmpty() ? 0 : id(args);
                    for (Message m : take(target)) {
                        out.append("dropped ").append(m).append('\n');
                        c.drop(m);
                    }
                }
                case "stabilize" -> stabilize(out);
                case "partition" -> {
                    Set<Long> group = new HashSet<>();
                    for (String s : args.get(0).split(",")) group.add(Long.parseLong(s));
                    c.partition(group);
                }
                case "isolate" -> c.isolate(id(args));
                case "heal" -> c.heal();
                case "crash" -> c.crash(id(args));
                case "restart" -> {
                    c.restart(id(args));
                    out.append(describe(id(args))).append('\n');
                }
                case "compact" -> {
                    c.compact(id(args));
                    RaftCluster.Node n = c.node(id(args));
                    out.append("node ").append(n.id).append(" snapshot=").append(n.storage.snapshot().index())
                            .append(" first=").append(n.storage.firstIndex()).append('\n');
                }
                case "report-unreachable" -> c.node(id(args)).raw.reportUnreachable(Long.parseLong(args.get(1)));
                case "status" -> {
                    for (long id : args.isEmpty() ? c.nodes.keySet() : List.of(id(args))) out.append(describe(id)).append('\n');
                }
                case "raft-log" -> {
                    RaftCluster.Node n = c.node(id(args));
                    RaftLog l = n.raft().raftLog;
                    if (l.firstIndex() > l.lastIndex()) out.append("<empty log, snapshot ").append(l.firstIndex() - 1).append(">\n");
                    else for (Entry e : l.slice(l.firstIndex(), l.lastIndex() + 1, Long.MAX_VALUE)) out.append(e).append('\n');
                }
                case "applied" -> {
                    RaftCluster.Node n = c.node(id(args));
                    out.append("node ").append(n.id).append(" applied=").append(n.appliedIndex).append(' ')
                            .append(n.appliedData).append('\n');
                }
                case "read-states" -> {
                    RaftCluster.Node n = c.node(id(args));
                    for (ReadState rs : n.readStates) out.append(rs).append('\n');
                    if (n.readStates.isEmpty()) out.append("<none>\n");
                    n.readStates.clear();
                }
                default -> throw new IllegalArgumentException("unknown command " + cmd);
            }
            return out.toString();
        }

        private boolean isDropped(Message m) {
            RaftCluster.Node to = c.nodes.get(m.to());
            RaftCluster.Node from = c.nodes.get(m.from());
            return to == null || to.down || (from != null && from.down) || c.isCut(m.from(), m.to());
        }

        private List<Message> take(long target) {
            List<Message> batch = new ArrayList<>();
            for (var it = c.pool.iterator(); it.hasNext(); ) {
                Message m = it.next();
                if (target == 0 || m.to() == target) {
                    batch.add(m);
                    it.remove();
                }
            }
            return batch;
        }

        private void stabilize(StringBuilder out) {
            for (int round = 0; round < 1000; round++) {
                boolean moved = false;
                for (long id : c.nodes.keySet()) {
                    Ready rd;
                    while ((rd = c.processReady(id)) != null) {
                        out.append(describe(id, rd));
                        moved = true;
                    }
                }
                for (Message m : take(0)) {
                    moved = true;
                    if (isDropped(m)) out.append("dropped ").append(m).append('\n');
                    c.deliver(m);
                }
                if (!moved) return;
            }
            throw new AssertionError("did not stabilize");
        }

        private static long id(List<String> args) {
            return Long.parseLong(args.get(0));
        }

        String describe(long id) {
            RaftCluster.Node n = c.node(id);
            if (n.down) return "node " + id + ": down";
            Status s = n.raw.status();
            StringBuilder sb = new StringBuilder();
            sb.append("node ").append(id).append(": ").append(s.softState().role()).append(" term=").append(s.hardState().term())
                    .append(" lead=").append(s.softState().lead()).append(" commit=").append(s.hardState().commit())
                    .append(" applied=").append(s.applied()).append(" last=").append(s.lastIndex())
                    .append(' ').append(s.confState());
            for (var e : s.progress().entrySet()) sb.append("\n  ").append(e.getKey()).append(": ").append(e.getValue());
            return sb.toString();
        }

        String describe(long id, Ready rd) {
            StringBuilder sb = new StringBuilder();
            sb.append("node ").append(id).append(" ready:\n");
            if (rd.softState() != null) sb.append("  soft: ").append(rd.softState()).append('\n');
            if (rd.hardState() != null) sb.append("  hard: ").append(rd.hardState()).append('\n');
            if (rd.snapshot() != null) sb.append("  ").append(rd.snapshot()).append('\n');
            if (!rd.entries().isEmpty()) sb.append("  entries: ").append(rd.entries()).append('\n');
            if (!rd.committedEntries().isEmpty()) sb.append("  committed: ").append(rd.committedEntries()).append('\n');
            // Identical consecutive messages (heartbeats piled up while nobody drained the node) print once.
            for (int i = 0; i < rd.messages().size(); ) {
                String m = rd.messages().get(i).toString();
                int j = i + 1;
                while (j < rd.messages().size() && rd.messages().get(j).toString().equals(m)) j++;
                sb.append("  msg: ").append(m).append(j - i > 1 ? " (x" + (j - i) + ")" : "").append('\n');
                i = j;
            }
            for (ReadState r : rd.readStates()) sb.append("  ").append(r).append('\n');
            return sb.toString();
        }
    }
}
