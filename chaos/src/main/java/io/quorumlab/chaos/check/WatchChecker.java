package io.quorumlab.chaos.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Checks what watchers received against each other and against the acknowledged writes.
 *
 * <p>Per session (one watch on one member, from its start revision until the member crashed or
 * the history ended): events ordered by revision and unique; a revision's events all in one
 * response (atomic); nothing before the start revision; a progress notification never ahead of
 * events (no event at or below a revision a progress response already vouched for); the header
 * revision at least the events'. Per watcher: a resumed session continues exactly where the last
 * one stopped (no revision twice). Across all: the revisions any watcher saw form one history
 * (watchers agree); a session covering a revision range (start to the highest revision it saw or
 * was told of by progress) has every event of that history in the range; every acknowledged write
 * on a watched key appears in it at its revision (if any session covered that revision); every
 * event comes from a write that was issued, at the revision its answer named.
 */
public final class WatchChecker {
    /** Stop collecting after this many violations: the first ones tell the story. */
    static final int MAX_VIOLATIONS = 50;

    /** One event as a watcher received it. */
    public record Event(String key, boolean delete, String value, long modRevision, long version) {
        public static Event put(String key, String value, long rev, long version) { return new Event(key, false, value, rev, version); }

        public static Event delete(String key, long rev) { return new Event(key, true, "", rev, 0); }

        @Override public String toString() {
            return (delete ? "DEL " + key : "PUT " + key + "=" + value + " v" + version) + " @" + modRevision;
        }
    }

    /** One response on the watch stream: created, canceled (maybe compacted), progress, or events. */
    public record Delivery(long atNanos, long headerRevision, boolean created, boolean canceled, long compactRevision,
                           List<Event> events) {
        public Delivery {
            events = List.copyOf(events);
        }

        public static Delivery created(long at, long rev) { return new Delivery(at, rev, true, false, 0, List.of()); }

        public static Delivery progress(long at, long rev) { return new Delivery(at, rev, false, false, 0, List.of()); }

        public static Delivery events(long at, long rev, List<Event> evs) { return new Delivery(at, rev, false, false, 0, evs); }

        public boolean isProgress() { return !created && !canceled && events.isEmpty(); }
    }

    /**
     * One watch from {@code startRevision} (0: from the revision after the created response's header).
     */
    public record Session(int watcher, int session, String member, long startRevision, List<Delivery> deliveries) {
        public Session {
            deliveries = List.copyOf(deliveries);
        }

        String name() { return "watcher " + watcher + " session " + session + " on " + member; }
    }

    public record Outcome(int sessions, long events, long coveredRevisions, List<String> violations) {}

    private WatchChecker() {}

    /**
     * @param sessions every watch session, per watcher in the order they ran
     * @param history the KV history of the same period (acknowledged writes must show up)
     * @param watched keys the watchers watch
     */
    public static Outcome check(List<Session> sessions, List<KvOp> history, Predicate<String> watched) {
        List<String> v = new ArrayList<>();
        TreeMap<Long, Map<String, Event>> seen = new TreeMap<>();
        Map<String, String> seenBy = new HashMap<>();
        List<long[]> coverage = new ArrayList<>(); // per session: {start, vouched}
        List<Set<String>> delivered = new ArrayList<>();
        Map<Integer, Long> lastOfWatcher = new HashMap<>();
        long events = 0;
        for (Session s : sessions) {
            long start = s.startRevision();
            long last = -1;       // highest event revision delivered in this session
            long progressed = -1; // highest revision a progress response vouched for
            Set<String> mine = new HashSet<>();
            boolean first = true;
            boolean ended = false;
            for (Delivery d : s.deliveries()) {
                if (ended) {
                    add(v, s.name() + ": response after cancel at " + at(d));
                    break;
                }
                if (d.created()) {
                    if (!first) add(v, s.name() + ": created response not first, at " + at(d));
                    if (start <= 0) start = d.headerRevision() + 1;
                    first = false;
                    continue;
                }
                if (first) add(v, s.name() + ": first response is not 'created', at " + at(d));
                first = false;
                if (d.canceled()) {
                    ended = true;
                    continue;
                }
                if (d.isProgress()) {
                    progressed = Math.max(progressed, d.headerRevision());
                    continue;
                }
                long prevInResponse = -1;
                Set<String> keysAtRev = new HashSet<>();
                for (Event e : d.events()) {
                    events++;
                    long rev = e.modRevision();
                    if (prevInResponse >= 0 && rev < prevInResponse) {
                        add(v, s.name() + ": events out of order within a response at " + at(d) + ": " + d.events());
                    }
                    if (rev != prevInResponse) keysAtRev.clear();
                    if (!keysAtRev.add(e.key())) add(v, s.name() + ": duplicate event " + e + " in one response at " + at(d));
                    prevInResponse = rev;
                    if (rev <= last) {
                        add(v, s.name() + ": event " + e + " at " + at(d) + " is not after the last delivered revision " + last
                                + (rev == last ? " (a revision split across responses, or delivered twice)" : " (reordered or duplicated)"));
                    } else if (rev <= progressed) {
                        add(v, s.name() + ": event " + e + " at " + at(d) + " arrived after a progress notification for revision "
                                + progressed + " (progress ran ahead of events)");
                    }
                    if (start > 0 && rev < start) add(v, s.name() + ": event " + e + " before the start revision " + start);
                    if (!watched.test(e.key())) add(v, s.name() + ": event for an unwatched key: " + e);
                    Long watcherLast = lastOfWatcher.get(s.watcher());
                    if (watcherLast != null && rev <= watcherLast && s.session() > 0 && last < 0) {
                        add(v, s.name() + ": resumed watch repeats revision " + rev + " (previous sessions reached " + watcherLast + ")");
                    }
                    mine.add(rev + " " + e.key());
                    Map<String, Event> atRev = seen.computeIfAbsent(rev, r -> new HashMap<>());
                    Event other = atRev.putIfAbsent(e.key(), e);
                    if (other == null) {
                        seenBy.put(rev + " " + e.key(), s.name());
                    } else if (!other.equals(e)) {
                        add(v, "watchers disagree at revision " + rev + ": " + seenBy.get(rev + " " + e.key()) + " saw " + other + ", "
                                + s.name() + " saw " + e);
                    }
                }
                long maxRev = d.events().get(d.events().size() - 1).modRevision();
                for (Event e : d.events()) maxRev = Math.max(maxRev, e.modRevision());
                if (d.headerRevision() < maxRev) add(v, s.name() + ": header revision " + d.headerRevision() + " below its events' " + maxRev);
                last = Math.max(last, maxRev);
            }
            if (last >= 0) lastOfWatcher.merge(s.watcher(), last, Math::max);
            long vouched = Math.max(last, progressed);
            coverage.add(new long[] {start, vouched});
            delivered.add(mine);
        }
        long covered = 0;
        // Completeness: a session has every event of the common history inside its covered range.
        for (int i = 0; i < sessions.size(); i++) {
            long[] c = coverage.get(i);
            if (c[0] <= 0 || c[1] < c[0]) continue;
            covered += c[1] - c[0] + 1;
            for (Map.Entry<Long, Map<String, Event>> e : seen.subMap(c[0], true, c[1], true).entrySet()) {
                for (Event ev : e.getValue().values()) {
                    if (!delivered.get(i).contains(e.getKey() + " " + ev.key())) {
                        add(v, sessions.get(i).name() + " missed " + ev + " (seen by " + seenBy.get(e.getKey() + " " + ev.key())
                                + ") though it covered revisions " + c[0] + ".." + c[1]);
                    }
                }
            }
        }
        checkAgainstWrites(v, seen, coverage, history, watched);
        return new Outcome(sessions.size(), events, covered, v);
    }

    private static void checkAgainstWrites(List<String> v, TreeMap<Long, Map<String, Event>> seen, List<long[]> coverage,
                                           List<KvOp> history, Predicate<String> watched) {
        Map<String, KvOp> byValue = new HashMap<>();
        Map<Long, KvOp> byRevision = new HashMap<>();
        for (KvOp op : history) {
            for (KvOp.Step s : op.then()) if (s.kind() == KvOp.StepKind.PUT) byValue.put(s.key() + "=" + s.value(), op);
            for (KvOp.Step s : op.otherwise()) if (s.kind() == KvOp.StepKind.PUT) byValue.put(s.key() + "=" + s.value(), op);
            if (!op.ambiguous() && !op.writtenKeys().isEmpty()) byRevision.put(op.result().revision(), op);
        }
        // Every acknowledged write on a watched key is in the history at its revision, if any watcher covered it.
        for (KvOp op : history) {
            if (op.ambiguous()) continue;
            long rev = op.result().revision();
            for (String k : op.writtenKeys()) {
                if (!watched.test(k)) continue;
                Event e = seen.getOrDefault(rev, Map.of()).get(k);
                if (e == null) {
                    if (isCovered(coverage, rev)) add(v, "acknowledged write missing from every watcher covering revision " + rev + ": " + op);
                    continue;
                }
                String expected = op.putValue(k, op.result().succeeded());
                boolean ok = expected == null ? e.delete() : !e.delete() && expected.equals(e.value());
                if (!ok) add(v, "watch event " + e + " disagrees with the acknowledged write at its revision: " + op);
            }
        }
        // Every event comes from an operation that was issued, at the revision its answer named.
        for (Map.Entry<Long, Map<String, Event>> en : seen.entrySet()) {
            long rev = en.getKey();
            KvOp writer = byRevision.get(rev);
            for (Event e : en.getValue().values()) {
                if (writer != null && !writer.writtenKeys().contains(e.key())) {
                    add(v, "watch event " + e + " at the revision of a write that did not touch its key: " + writer);
                    continue;
                }
                if (e.delete()) {
                    if (writer == null && !ambiguousDeleteOf(history, e.key())) {
                        add(v, "watch event " + e + " matches no delete that was issued");
                    }
                    continue;
                }
                KvOp op = byValue.get(e.key() + "=" + e.value());
                if (op == null) {
                    add(v, "watch event " + e + " carries a value nobody wrote");
                } else if (!op.ambiguous() && (op.result().revision() != rev || !e.value().equals(op.putValue(e.key(), op.result().succeeded())))) {
                    add(v, "watch event " + e + " disagrees with the answer of the write that made it: " + op);
                }
            }
        }
    }

    private static boolean ambiguousDeleteOf(List<KvOp> history, String key) {
        for (KvOp op : history) {
            if (!op.ambiguous()) continue;
            for (KvOp.Step s : op.then()) if (s.kind() == KvOp.StepKind.DELETE && s.key().equals(key)) return true;
            for (KvOp.Step s : op.otherwise()) if (s.kind() == KvOp.StepKind.DELETE && s.key().equals(key)) return true;
        }
        return false;
    }

    private static boolean isCovered(List<long[]> coverage, long rev) {
        for (long[] c : coverage) if (c[0] > 0 && c[0] <= rev && rev <= c[1]) return true;
        return false;
    }

    private static String at(Delivery d) {
        return String.format(Locale.ROOT, "t=%.3fs", d.atNanos() / 1e9);
    }

    private static void add(List<String> v, String s) {
        if (v.size() < MAX_VIOLATIONS) v.add(s);
    }
}
