package io.quorumlab.chaos.check;

import io.quorumlab.chaos.check.KvOp.Cond;
import io.quorumlab.chaos.check.KvOp.Kv;
import io.quorumlab.chaos.check.KvOp.Observed;
import io.quorumlab.chaos.check.KvOp.Relation;
import io.quorumlab.chaos.check.KvOp.Result;
import io.quorumlab.chaos.check.KvOp.Step;
import io.quorumlab.chaos.check.KvOp.StepKind;
import io.quorumlab.chaos.check.KvOp.Target;
import io.quorumlab.chaos.sim.Sim;
import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.WatchStream;
import io.quorumlab.mvcc.api.Bytes;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.DeleteRangeResponse;
import io.quorumlab.mvcc.api.KeyValue;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.PutResponse;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RangeResponse;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.Response;
import io.quorumlab.mvcc.api.ResponseOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import io.quorumlab.mvcc.api.WatchCreateRequest;
import io.quorumlab.mvcc.api.WatchResponse;
import io.quorumlab.server.member.Member;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Checked clients inside the simulator: a few closed-loop clients issue put, get, delete and txns
 * (compare-and-swap on mod_revision, compare on value and version, a two-key txn) on a handful of
 * keys, each against a random member, so that histories contend and forwarding and follower
 * ReadIndex are exercised; watchers on random members follow the same keys and resume from their
 * last revision on another (or the restarted) member when theirs crashes. Everything runs on the
 * simulator's queue with its seeded randomness.
 *
 * <p>The work comes in windows, each with fresh keys ({@code /check/w<N>/...}), so a long run's
 * history stays bounded: a window is checked ({@link LinearizabilityChecker}, {@link WatchChecker})
 * and dropped once its last answers could have arrived. The verdicts add up in {@link #report()}.
 */
public final class CheckedWorkload {
    /**
     * @param clients closed-loop KV clients (one request outstanding each)
     * @param singleKeys keys that single-key operations contend on (plus a two-key pair for multi-key txns)
     * @param watchers watchers per window
     * @param firstWindowAtNanos when the first window opens (after the cluster has elected a leader)
     * @param windowNanos how long clients issue requests in a window
     * @param periodNanos from one window's opening to the next's, once the dense phase is over
     * @param denseUntilNanos until then windows follow each other without a gap (short scenarios
     *        are checked throughout, faults included; long runs then sample every period)
     * @param thinkMeanNanos mean pause of a client between an answer and its next request
     * @param searchBudget linearizability search steps per partition before "unknown"
     */
    public record Config(int clients, int singleKeys, int watchers, long firstWindowAtNanos, long windowNanos, long periodNanos,
                         long denseUntilNanos,
                         long thinkMeanNanos, long searchBudget) {
        public Config {
            if (clients < 1 || clients > 16) throw new IllegalArgumentException("clients must be 1..16");
            if (singleKeys < 1 || singleKeys > 16) throw new IllegalArgumentException("singleKeys must be 1..16");
            if (watchers < 0 || watchers > 8) throw new IllegalArgumentException("watchers must be 0..8");
            if (windowNanos <= 0 || periodNanos < windowNanos) throw new IllegalArgumentException("period must cover the window");
        }

        /** 4 clients on 3 keys and a pair, 2 watchers; 20 s windows back to back for 15 simulated minutes, then one every 10. */
        public static Config defaults() {
            return new Config(4, 3, 2, 3_500_000_000L, 20_000_000_000L, 600_000_000_000L, 900_000_000_000L, 40_000_000L,
                    LinearizabilityChecker.DEFAULT_BUDGET);
        }

        public Config withWindow(long windowNanos, long periodNanos, long denseUntilNanos) {
            return new Config(clients, singleKeys, watchers, firstWindowAtNanos, windowNanos, periodNanos, denseUntilNanos,
                    thinkMeanNanos, searchBudget);
        }
    }

    /** After a window closes, answers may still arrive for this long (request timeout 7 s, plus margin). */
    static final long GRACE_NANOS = 10_000_000_000L;
    /** A client gives up on a request after this long; it stays "may or may not have happened". */
    static final long CLIENT_TIMEOUT_NANOS = 9_000_000_000L;
    /** Safety bound on one window's history (a window at the default pace holds a few thousand). */
    static final int MAX_OPS_PER_WINDOW = 100_000;
    static final long WATCH_TICK_NANOS = 5_000_000L;
    static final long PROGRESS_EVERY_NANOS = 100_000_000L;

    private final Sim sim;
    private final Map<String, Member> members;
    private final Config cfg;
    private final SplittableRandom random;
    private final CheckReport.Builder report = new CheckReport.Builder();
    private final List<Window> open = new ArrayList<>();
    /** Window checks submitted to {@link #CHECKER}, in window order: each yields the fold of its verdict. */
    private final java.util.ArrayDeque<java.util.concurrent.Future<Runnable>> checking = new java.util.ArrayDeque<>();
    private static final int MAX_CHECKS_IN_FLIGHT = 4;
    /**
     * One daemon thread for every simulation in this JVM: checking a window is CPU work that needs no
     * simulated state, so the simulating thread does not wait for it.
     */
    private static final java.util.concurrent.ExecutorService CHECKER = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "sim-checker");
        t.setDaemon(true);
        return t;
    });
    private final String keyPrefix;
    private int windowSeq;
    private boolean finished;
    /** Test seam: sees each window's history and watch sessions just before they are checked. */
    java.util.function.BiConsumer<List<KvOp>, List<WatchChecker.Session>> windowObserver;

    /** @param members the simulation's live member map (a restarted member replaces its entry) */
    public CheckedWorkload(Sim sim, Map<String, Member> members, Config cfg) {
        this(sim, members, cfg, "/check/");
    }

    /** @param keyPrefix where this workload's keys live (distinct per workload sharing a cluster) */
    public CheckedWorkload(Sim sim, Map<String, Member> members, Config cfg, String keyPrefix) {
        this.sim = sim;
        this.members = members;
        this.cfg = cfg;
        this.keyPrefix = keyPrefix;
        this.random = sim.split();
    }

    public void start() {
        sim.at(cfg.firstWindowAtNanos(), this::openWindow);
    }

    /** Checks every window not yet checked (answers still missing count as lost) and returns the verdict. */
    public CheckReport report() {
        if (!finished) {
            finished = true;
            for (Window w : List.copyOf(open)) w.check();
        }
        foldChecked(true);
        return report.build();
    }

    /**
     * Folds finished window checks into the report, oldest first; waits for the oldest when more than
     * {@link #MAX_CHECKS_IN_FLIGHT} are queued (or for all with {@code all}), so the queue stays bounded.
     */
    private void foldChecked(boolean all) {
        while (!checking.isEmpty()) {
            java.util.concurrent.Future<Runnable> head = checking.peekFirst();
            if (!all && !head.isDone() && checking.size() <= MAX_CHECKS_IN_FLIGHT) return;
            try {
                head.get().run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a window's check", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("a window's check failed: " + e.getCause(), e.getCause());
            }
            checking.pollFirst();
        }
    }

    private void openWindow() {
        if (finished) return;
        Window w = new Window(windowSeq++, sim.now());
        open.add(w);
        w.begin();
        sim.after(sim.now() + cfg.windowNanos() < cfg.denseUntilNanos() ? cfg.windowNanos() : cfg.periodNanos(), this::openWindow);
    }

    private String memberName() {
        List<String> names = new ArrayList<>(members.keySet());
        return names.get(random.nextInt(names.size()));
    }

    private long oneWayNanos() {
        return 50_000 + (long) (random.nextDouble() * 200_000);
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
        return t;
    }

    /** One window: its keys, clients, watchers and history. */
    private final class Window {
        final int n;
        final long openedAt;
        final long closesAt;
        final String prefix;
        final List<String> keys = new ArrayList<>();
        final String pairA;
        final String pairB;
        final List<KvOp> history = new ArrayList<>();
        final List<Client> clients = new ArrayList<>();
        final List<Watcher> watchers = new ArrayList<>();
        int opSeq;
        long rejected;
        boolean checked;

        Window(int n, long openedAt) {
            this.n = n;
            this.openedAt = openedAt;
            this.closesAt = openedAt + cfg.windowNanos();
            this.prefix = keyPrefix + "w" + n + "/";
            for (int i = 0; i < cfg.singleKeys(); i++) keys.add(prefix + "k" + i);
            pairA = prefix + "pa";
            pairB = prefix + "pb";
        }

        void begin() {
            for (int i = 0; i < cfg.watchers(); i++) {
                Watcher w = new Watcher(this, i);
                watchers.add(w);
                w.tick();
            }
            // Watchers first, so that they cover the window's first write.
            for (int i = 0; i < cfg.clients(); i++) {
                Client c = new Client(this, i);
                clients.add(c);
                sim.after(20_000_000L + (long) (random.nextDouble() * cfg.thinkMeanNanos()), c::issue);
            }
            sim.at(closesAt + GRACE_NANOS, this::check);
        }

        boolean accepting() {
            return !checked && !finished && sim.now() < closesAt && history.size() < MAX_OPS_PER_WINDOW;
        }

        void check() {
            if (checked) return;
            checked = true;
            open.remove(this);
            List<KvOp> ops = new ArrayList<>(history);
            for (Client c : clients) if (c.pending != null && c.pending.write) ops.add(c.pending.lost("no answer by the check"));
            List<WatchChecker.Session> sessions = new ArrayList<>();
            for (Watcher w : watchers) {
                w.endSession();
                sessions.addAll(w.sessions);
            }
            ops.sort((a, b) -> Integer.compare(a.id(), b.id()));
            if (windowObserver != null) windowObserver.accept(ops, sessions);
            // The verdict is a pure function of the recorded history: computed on the checker thread
            // while the simulation goes on, folded into the report in window order (same report).
            long windowRejected = rejected;
            String where = "window " + n + " (t=" + openedAt / 1_000_000_000L + "s): ";
            String ownPrefix = prefix;
            long budget = cfg.searchBudget();
            checking.add(CHECKER.submit(() -> {
                LinearizabilityChecker.Outcome lin = LinearizabilityChecker.check(ops, budget);
                WatchChecker.Outcome watch = WatchChecker.check(sessions, ops, k -> k.startsWith(ownPrefix));
                return () -> {
                    report.windows++;
                    report.ops += lin.ops();
                    report.ambiguous += lin.ambiguous();
                    report.rejected += windowRejected;
                    report.partitions += lin.partitions().size();
                    for (LinearizabilityChecker.PartitionResult p : lin.partitions()) report.steps += p.steps();
                    report.sessions += watch.sessions();
                    report.events += watch.events();
                    for (String v : lin.violations()) report.violation(where + "linearizability: " + v);
                    for (String v : watch.violations()) report.violation(where + "watch: " + v);
                    for (String u : lin.unknowns()) report.unknown(where + u);
                };
            }));
            foldChecked(false);
            history.clear();
            watchers.clear();
        }
    }

    /** A request in flight; turned into a {@link KvOp} when it ends. */
    private static final class Pending {
        final int id;
        final int client;
        final String member;
        final long invoke;
        final KvOp.Form form;
        final List<Cond> compare;
        final List<Step> then;
        final List<Step> otherwise;
        final Request request;
        final boolean write;

        Pending(int id, int client, String member, long invoke, KvOp.Form form, List<Cond> compare, List<Step> then,
                List<Step> otherwise, Request request, boolean write) {
            this.id = id;
            this.client = client;
            this.member = member;
            this.invoke = invoke;
            this.form = form;
            this.compare = compare;
            this.then = then;
            this.otherwise = otherwise;
            this.request = request;
            this.write = write;
        }

        KvOp done(long at, Result r) {
            return new KvOp(id, client, member, invoke, at, form, compare, then, otherwise, r, null);
        }

        KvOp lost(String error) {
            return new KvOp(id, client, member, invoke, Long.MAX_VALUE, form, compare, then, otherwise, null, error);
        }
    }

    private final class Client {
        final Window w;
        final int id;
        /** What this client last saw of each key (its compares are built from it, as GuaranteedUpdate does). */
        final java.util.HashMap<String, Kv> known = new java.util.HashMap<>();
        Pending pending;
        int seq;

        Client(Window w, int id) {
            this.w = w;
            this.id = id;
        }

        String newValue() {
            return "w" + w.n + "c" + id + "-" + (seq++);
        }

        void issue() {
            if (!w.accepting()) return;
            Pending p = next();
            pending = p;
            long oneWay = oneWayNanos();
            sim.after(oneWay, () -> send(p, oneWay));
            sim.after(CLIENT_TIMEOUT_NANOS, () -> {
                if (pending != p) return;
                // Gave up waiting: the request may still take effect.
                if (p.write && !w.checked) w.history.add(p.lost("client timeout"));
                pending = null;
                issue();
            });
        }

        void send(Pending p, long oneWay) {
            if (pending != p) return;
            Member m = members.get(p.member);
            CompletableFuture<Response> f;
            if (p.write) {
                f = m.propose(p.request);
            } else {
                f = m.readBarrier().thenApply(v -> read(m.store(), p.request));
            }
            if (f.isDone() && f.isCompletedExceptionally()) {
                // Refused before it was proposed (stopped member, full queue): it did not happen.
                w.rejected++;
                sim.after(oneWay, () -> finish(p, null));
                return;
            }
            f.whenComplete((resp, err) -> sim.at(sim.clock() + oneWay, () -> {
                if (err != null) {
                    // A failed read changed nothing; a failed write may or may not have been applied.
                    if (p.write && pending == p && !w.checked) w.history.add(p.lost(unwrap(err).getMessage()));
                    finish(p, null);
                } else {
                    finish(p, resp);
                }
            }));
        }

        void finish(Pending p, Response resp) {
            if (pending != p) return; // the client gave up on it already
            pending = null;
            if (resp != null && !w.checked) {
                Result r = normalise(p, resp);
                w.history.add(p.done(sim.now(), r));
                learn(p, r);
            }
            long think = (long) (-Math.log(1 - random.nextDouble()) * cfg.thinkMeanNanos());
            sim.after(Math.max(1000, think), this::issue);
        }

        /** Picks the next request: the mix favours contention on few keys and every compare target. */
        Pending next() {
            int id = w.opSeq++;
            String member = memberName();
            long now = sim.now();
            String k = w.keys.get(random.nextInt(w.keys.size()));
            byte[] kb = Bytes.of(k);
            Kv seen = known.get(k);
            double r = random.nextDouble();
            if (r < 0.28) {
                return new Pending(id, this.id, member, now, KvOp.Form.GET, List.of(), List.of(Step.get(k)), List.of(),
                        RangeRequest.key(kb), false);
            }
            if (r < 0.48) {
                String v = newValue();
                boolean prev = random.nextBoolean();
                return new Pending(id, this.id, member, now, KvOp.Form.PUT, List.of(), List.of(new Step(StepKind.PUT, k, v, prev)),
                        List.of(), new PutRequest(kb, Bytes.of(v), 0, prev, false, false), true);
            }
            if (r < 0.53) {
                return new Pending(id, this.id, member, now, KvOp.Form.DELETE, List.of(), List.of(Step.delete(k)), List.of(),
                        DeleteRangeRequest.key(kb), true);
            }
            if (r < 0.73) {
                // GuaranteedUpdate: compare mod_revision with what we last saw (0: create), else read.
                long mod = seen == null ? 0 : seen.modRevision();
                String v = newValue();
                return txn(id, member, List.of(new Cond(k, Target.MOD, Relation.EQUAL, null, mod)), List.of(Step.put(k, v)),
                        List.of(Step.get(k)));
            }
            if (r < 0.78) {
                String val = seen == null ? "none" : seen.value();
                return txn(id, member, List.of(new Cond(k, Target.VALUE, Relation.EQUAL, val, 0)), List.of(Step.delete(k)),
                        List.of(Step.get(k)));
            }
            if (r < 0.85) {
                long version = seen == null ? 0 : seen.version();
                Relation rel = random.nextBoolean() ? Relation.EQUAL : Relation.GREATER;
                String v = newValue();
                return txn(id, member, List.of(new Cond(k, Target.VERSION, rel, null, version)),
                        List.of(new Step(StepKind.PUT, k, v, true)), List.of(Step.get(k)));
            }
            if (r < 0.93) {
                String v = newValue();
                return txn(id, member, List.of(), List.of(Step.put(w.pairA, v), Step.put(w.pairB, v)), List.of());
            }
            return txn(id, member, List.of(), List.of(Step.get(w.pairA), Step.get(w.pairB)), List.of());
        }

        Pending txn(int id, String member, List<Cond> compare, List<Step> then, List<Step> otherwise) {
            List<Compare> cs = new ArrayList<>();
            for (Cond c : compare) cs.add(toCompare(c));
            TxnRequest t = new TxnRequest(cs, toOps(then), toOps(otherwise));
            return new Pending(id, this.id, member, sim.now(), KvOp.Form.TXN, compare, then, otherwise, t, !MvccStore.isReadOnly(t));
        }

        void learn(Pending p, Result r) {
            List<Step> branch = r.succeeded() ? p.then : p.otherwise;
            for (int i = 0; i < branch.size(); i++) {
                Step s = branch.get(i);
                Observed o = r.observed().get(i);
                if (s.kind() == StepKind.GET) {
                    if (o.kv() == null) known.remove(s.key());
                    else known.put(s.key(), o.kv());
                } else if (s.kind() == StepKind.PUT) {
                    Kv before = known.get(s.key());
                    long version = s.prevKv() ? (o.kv() == null ? 1 : o.kv().version() + 1) : (before == null ? 1 : before.version() + 1);
                    known.put(s.key(), new Kv(s.value(), r.revision(), version));
                } else {
                    known.remove(s.key());
                }
            }
        }
    }

    private static Compare toCompare(Cond c) {
        byte[] k = Bytes.of(c.key());
        Compare.Result rel = switch (c.relation()) {
            case EQUAL -> Compare.Result.EQUAL;
            case NOT_EQUAL -> Compare.Result.NOT_EQUAL;
            case GREATER -> Compare.Result.GREATER;
            case LESS -> Compare.Result.LESS;
        };
        return switch (c.target()) {
            case VALUE -> Compare.value(k, rel, Bytes.of(c.value()));
            case MOD -> Compare.number(k, Compare.Target.MOD, rel, c.number());
            case VERSION -> Compare.number(k, Compare.Target.VERSION, rel, c.number());
        };
    }

    private static List<RequestOp> toOps(List<Step> steps) {
        List<RequestOp> out = new ArrayList<>();
        for (Step s : steps) {
            byte[] k = Bytes.of(s.key());
            out.add(switch (s.kind()) {
                case PUT -> new PutRequest(k, Bytes.of(s.value()), 0, s.prevKv(), false, false);
                case GET -> RangeRequest.key(k);
                case DELETE -> DeleteRangeRequest.key(k);
            });
        }
        return out;
    }

    /** A linearizable read as the KV service serves it: after the read barrier, from the local store. */
    private static Response read(MvccStore store, Request r) {
        if (r instanceof RangeRequest rr) return store.range(rr);
        return store.readOnlyTxn((TxnRequest) r);
    }

    /** The answer in the checker's terms; an answer of the wrong shape is kept as an impossible observation. */
    private static Result normalise(Pending p, Response resp) {
        if (resp instanceof TxnResponse t) {
            List<Step> branch = t.succeeded() ? p.then : p.otherwise;
            List<Observed> obs = new ArrayList<>();
            for (int i = 0; i < t.responses().size(); i++) {
                obs.add(observe(i < branch.size() ? branch.get(i) : null, t.responses().get(i)));
            }
            return new Result(t.header().revision(), t.succeeded(), obs);
        }
        return new Result(resp.header().revision(), true, List.of(observe(p.then.get(0), (ResponseOp) resp)));
    }

    private static Observed observe(Step s, ResponseOp r) {
        if (r instanceof RangeResponse rr) return new Observed(rr.kvs().isEmpty() ? null : kv(rr.kvs().get(0)), 0);
        if (r instanceof PutResponse pr) return new Observed(s != null && s.prevKv() && pr.prevKv() != null ? kv(pr.prevKv()) : null, 0);
        if (r instanceof DeleteRangeResponse dr) return new Observed(null, dr.deleted());
        return Observed.NONE;
    }

    private static Kv kv(KeyValue kv) {
        return new Kv(str(kv.value()), kv.modRevision(), kv.version());
    }

    /** A watcher of the window's keys; one session per member it watched on. */
    private final class Watcher {
        final Window w;
        final int id;
        final List<WatchChecker.Session> sessions = new ArrayList<>();
        String memberName;
        Member member;
        WatchStream stream;
        long start;
        List<WatchChecker.Delivery> deliveries;
        /** The next revision this watcher needs (0: none seen yet, start from "now"). */
        long next;
        long lastProgressAsk;

        Watcher(Window w, int id) {
            this.w = w;
            this.id = id;
        }

        void tick() {
            if (w.checked || finished) return;
            if (stream != null && (members.get(memberName) != member || member.isStopped())) endSession(); // crashed: the connection is gone
            if (stream == null) startSession();
            if (stream != null) {
                member.store().watchHub().syncOnce(); // the simulator has no watch sync thread: drive catch-up here
                if (sim.now() - lastProgressAsk >= PROGRESS_EVERY_NANOS) {
                    stream.requestProgress();
                    lastProgressAsk = sim.now();
                }
                for (WatchResponse r : stream.drain()) receive(r);
            }
            sim.after(WATCH_TICK_NANOS + (long) (random.nextDouble() * 1_000_000), this::tick);
        }

        void startSession() {
            String name = memberName();
            Member m = members.get(name);
            if (m == null || m.isStopped()) return; // try another next tick
            memberName = name;
            member = m;
            start = next;
            stream = m.store().watchHub().newStream();
            deliveries = new ArrayList<>();
            byte[] p = Bytes.of(w.prefix);
            stream.watch(WatchCreateRequest.of(p, Bytes.prefixEnd(p), start));
        }

        void receive(WatchResponse r) {
            long at = sim.now();
            if (r.created()) {
                deliveries.add(WatchChecker.Delivery.created(at, r.revision()));
                if (next == 0) next = r.revision() + 1; // a resumed watch must not skip what this one was due to see
                if (r.canceled()) endSession();
                return;
            }
            if (r.canceled()) {
                deliveries.add(new WatchChecker.Delivery(at, r.revision(), false, true, r.compactRevision(), List.of()));
                if (r.compactRevision() > 0) next = r.compactRevision(); // compacted away: resume at the oldest kept revision
                endSession();
                return;
            }
            if (r.events().isEmpty()) {
                deliveries.add(WatchChecker.Delivery.progress(at, r.revision()));
                return;
            }
            List<WatchChecker.Event> evs = new ArrayList<>();
            for (io.quorumlab.mvcc.api.Event e : r.events()) {
                KeyValue kv = e.kv();
                evs.add(e.type() == io.quorumlab.mvcc.api.Event.Type.DELETE
                        ? WatchChecker.Event.delete(str(kv.key()), kv.modRevision())
                        : WatchChecker.Event.put(str(kv.key()), str(kv.value()), kv.modRevision(), kv.version()));
                next = Math.max(next, kv.modRevision() + 1);
            }
            deliveries.add(WatchChecker.Delivery.events(at, r.revision(), evs));
        }

        void endSession() {
            if (stream == null) return;
            if (!member.isStopped() && members.get(memberName) == member) {
                for (WatchResponse r : stream.drain()) {
                    if (stream == null) break;
                    receive(r);
                }
            }
            if (stream != null) {
                stream.close();
                sessions.add(new WatchChecker.Session(id, sessions.size(), memberName, start, deliveries));
            }
            stream = null;
            member = null;
        }
    }
}
