package io.quorumlab.chaos.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One client operation of a KV history, normalised to a transaction: a plain put, get or delete is
 * a transaction with no compare and one step. {@code result == null} means the outcome is unknown
 * (an ambiguous error, or no answer before the history ended): the operation may or may not have
 * taken effect, at any time after {@code invokeNanos}.
 */
public record KvOp(int id, int client, String member, long invokeNanos, long returnNanos, Form form, List<Cond> compare,
                   List<Step> then, List<Step> otherwise, Result result, String error) {
    /** What the client sent, for the report (the checker only reads compare/then/otherwise). */
    public enum Form { PUT, GET, DELETE, TXN }

    public enum StepKind { PUT, GET, DELETE }

    /** Compare targets the model understands (etcd's VALUE, MOD, VERSION). */
    public enum Target { VALUE, MOD, VERSION }

    /** etcd's compare results. */
    public enum Relation { EQUAL, NOT_EQUAL, GREATER, LESS }

    public record Cond(String key, Target target, Relation relation, String value, long number) {
        @Override public String toString() {
            return target.name().toLowerCase(Locale.ROOT) + "(" + key + ")" + symbol(relation) + (target == Target.VALUE ? value : Long.toString(number));
        }

        private static String symbol(Relation r) {
            return switch (r) {
                case EQUAL -> "==";
                case NOT_EQUAL -> "!=";
                case GREATER -> ">";
                case LESS -> "<";
            };
        }
    }

    /** {@code prevKv}: a put that asked for the previous key-value (its result is then checked). */
    public record Step(StepKind kind, String key, String value, boolean prevKv) {
        public static Step put(String key, String value) { return new Step(StepKind.PUT, key, value, false); }

        public static Step get(String key) { return new Step(StepKind.GET, key, null, false); }

        public static Step delete(String key) { return new Step(StepKind.DELETE, key, null, false); }

        @Override public String toString() {
            return switch (kind) {
                case PUT -> "put(" + key + "=" + value + (prevKv ? ",prevKv" : "") + ")";
                case GET -> "get(" + key + ")";
                case DELETE -> "del(" + key + ")";
            };
        }
    }

    /** A key-value as a response showed it (create revision is not modelled). */
    public record Kv(String value, long modRevision, long version) {
        @Override public String toString() { return value + "@m" + modRevision + "v" + version; }
    }

    /**
     * What one step returned: for GET the key-value (null: absent); for a PUT with prevKv the
     * previous key-value (null: absent); for DELETE the deleted count.
     */
    public record Observed(Kv kv, long deleted) {
        public static final Observed NONE = new Observed(null, 0);

        @Override public String toString() { return kv == null ? (deleted > 0 ? "deleted=" + deleted : "-") : kv.toString(); }
    }

    /** A definite answer: the header revision, which branch ran, one observation per step of that branch. */
    public record Result(long revision, boolean succeeded, List<Observed> observed) {
        public Result {
            observed = List.copyOf(observed);
        }

        @Override public String toString() {
            return "rev=" + revision + (succeeded ? "" : " else") + " " + observed;
        }
    }

    public KvOp {
        compare = List.copyOf(compare);
        then = List.copyOf(then);
        otherwise = List.copyOf(otherwise);
        Objects.requireNonNull(form);
    }

    public boolean ambiguous() {
        return result == null;
    }

    /** Every key the operation may touch (compares and both branches). */
    public List<String> keys() {
        List<String> ks = new ArrayList<>();
        for (Cond c : compare) if (!ks.contains(c.key())) ks.add(c.key());
        for (Step s : then) if (!ks.contains(s.key())) ks.add(s.key());
        for (Step s : otherwise) if (!ks.contains(s.key())) ks.add(s.key());
        return ks;
    }

    /**
     * Keys this definite operation wrote, as its own answer shows (puts always write; a delete only
     * if it deleted something). Empty for ambiguous operations.
     */
    public List<String> writtenKeys() {
        List<String> ks = new ArrayList<>();
        if (result == null) return ks;
        List<Step> branch = result.succeeded() ? then : otherwise;
        for (int i = 0; i < branch.size() && i < result.observed().size(); i++) {
            Step s = branch.get(i);
            if (s.kind() == StepKind.PUT || (s.kind() == StepKind.DELETE && result.observed().get(i).deleted() > 0)) {
                if (!ks.contains(s.key())) ks.add(s.key());
            }
        }
        return ks;
    }

    /** The value this operation's branch would write to {@code key}, if it has a put for it. */
    public String putValue(String key, boolean succeeded) {
        for (Step s : succeeded ? then : otherwise) if (s.kind() == StepKind.PUT && s.key().equals(key)) return s.value();
        return null;
    }

    public static KvOp put(int id, int client, long invoke, long ret, String key, String value, Result r) {
        return new KvOp(id, client, "", invoke, ret, Form.PUT, List.of(), List.of(Step.put(key, value)), List.of(), r, null);
    }

    public static KvOp get(int id, int client, long invoke, long ret, String key, Result r) {
        return new KvOp(id, client, "", invoke, ret, Form.GET, List.of(), List.of(Step.get(key)), List.of(), r, null);
    }

    public static KvOp delete(int id, int client, long invoke, long ret, String key, Result r) {
        return new KvOp(id, client, "", invoke, ret, Form.DELETE, List.of(), List.of(Step.delete(key)), List.of(), r, null);
    }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append('#').append(id).append(" c").append(client);
        if (!member.isEmpty()) sb.append('@').append(member);
        sb.append(String.format(Locale.ROOT, " [%.3fs, %s] ", invokeNanos / 1e9,
                returnNanos == Long.MAX_VALUE ? "open" : String.format(Locale.ROOT, "%.3fs", returnNanos / 1e9)));
        if (form == Form.TXN) sb.append("txn if ").append(compare).append(" then ").append(then).append(" else ").append(otherwise);
        else sb.append(then.get(0));
        sb.append(" -> ").append(result == null ? "?" + (error == null ? "" : " (" + error + ")") : result.toString());
        return sb.toString();
    }
}
