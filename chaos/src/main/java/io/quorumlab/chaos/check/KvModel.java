package io.quorumlab.chaos.check;

import io.quorumlab.chaos.check.KvOp.Cond;
import io.quorumlab.chaos.check.KvOp.Kv;
import io.quorumlab.chaos.check.KvOp.Observed;
import io.quorumlab.chaos.check.KvOp.Result;
import io.quorumlab.chaos.check.KvOp.Step;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * etcd's key-value semantics for the keys of one partition, as a sequential specification.
 *
 * <p>Per key the state is absent, or (value, version, mod_revision) where mod_revision may be
 * unknown with a lower bound (it was written by an operation whose answer was lost). The global
 * revision is not modelled exactly, since other partitions and other clients write too; instead the
 * state keeps {@code revLow}, a lower bound on the store's revision at this point of the order:
 * a write's revision must be greater than it, a read's header revision at least it (revisions only
 * grow along the linearization). Equal states are equal objects (the search memoizes them).
 */
final class KvModel {
    /** Stands for any value no answer or compare ever mentions: such values are interchangeable. */
    static final String UNOBSERVED = "\u0000unobserved";

    private final String[] keys;
    private final java.util.Set<String> observed;

    /** @param observedValues "key=value" for every value some answer showed or some compare named */
    KvModel(List<String> partitionKeys, java.util.Set<String> observedValues) {
        this.keys = partitionKeys.toArray(new String[0]);
        Arrays.sort(keys);
        this.observed = observedValues;
    }

    /** Values nobody can tell apart become one, so that states differing only in them merge in the memo. */
    String canonical(String key, String value) {
        return observed.contains(key + "=" + value) ? value : UNOBSERVED;
    }

    State initial() {
        return new State(new String[keys.length], new long[keys.length], new long[keys.length], new long[keys.length], 0);
    }

    private int index(String key) {
        int i = Arrays.binarySearch(keys, key);
        if (i < 0) throw new IllegalArgumentException("key " + key + " is not in this partition");
        return i;
    }

    enum Tri { TRUE, FALSE, UNKNOWN }

    /**
     * The states the operation can lead to from {@code s}: none if its answer is impossible here, one
     * for a definite answer, up to two for an ambiguous operation whose compare the state cannot decide.
     * Ambiguous operations are applied as having happened; not linearizing them at all is how the
     * search lets them not happen.
     */
    List<State> step(State s, KvOp op) {
        Tri t = evalAll(s, op.compare());
        Result r = op.result();
        if (r != null) {
            if (t == Tri.FALSE && r.succeeded()) return List.of();
            if (t == Tri.TRUE && !r.succeeded()) return List.of();
            State w = s.copy();
            if (r.succeeded() && t == Tri.UNKNOWN && !resolve(w, op.compare())) return List.of();
            return applyDefinite(w, s.revLow, r.succeeded() ? op.then() : op.otherwise(), r) ? List.of(w.seal()) : List.of();
        }
        List<State> out = new ArrayList<>(2);
        if (t != Tri.FALSE) {
            State w = s.copy();
            if (t == Tri.TRUE || resolve(w, op.compare())) {
                applyAmbiguous(w, s.revLow, op.then());
                out.add(w.seal());
            }
        }
        if (t != Tri.TRUE) {
            State w = s.copy();
            applyAmbiguous(w, s.revLow, op.otherwise());
            w.seal();
            if (!out.contains(w)) out.add(w);
        }
        return out;
    }

    private Tri evalAll(State s, List<Cond> conds) {
        Tri all = Tri.TRUE;
        for (Cond c : conds) {
            Tri t = eval(s, c);
            if (t == Tri.FALSE) return Tri.FALSE;
            if (t == Tri.UNKNOWN) all = Tri.UNKNOWN;
        }
        return all;
    }

    private Tri eval(State s, Cond c) {
        int i = index(c.key());
        boolean present = s.value[i] != null;
        switch (c.target()) {
            case VALUE:
                // etcd: a value compare on a missing key always fails.
                if (!present) return Tri.FALSE;
                return holds(c.relation(), s.value[i].compareTo(c.value()));
            case VERSION:
                return holds(c.relation(), Long.compare(present ? s.version[i] : 0, c.number()));
            default:
                if (!present) return holds(c.relation(), Long.compare(0, c.number()));
                if (s.mod[i] > 0) return holds(c.relation(), Long.compare(s.mod[i], c.number()));
                long low = s.modLow[i], n = c.number();
                // Unknown mod_revision >= low: decided only when n lies below the bound.
                switch (c.relation()) {
                    case EQUAL: return n < low ? Tri.FALSE : Tri.UNKNOWN;
                    case NOT_EQUAL: return n < low ? Tri.TRUE : Tri.UNKNOWN;
                    case GREATER: return n < low ? Tri.TRUE : Tri.UNKNOWN;
                    default: return n <= low ? Tri.FALSE : Tri.UNKNOWN;
                }
        }
    }

    private static Tri holds(KvOp.Relation r, int cmp) {
        boolean b = switch (r) {
            case EQUAL -> cmp == 0;
            case NOT_EQUAL -> cmp != 0;
            case GREATER -> cmp > 0;
            case LESS -> cmp < 0;
        };
        return b ? Tri.TRUE : Tri.FALSE;
    }

    /** The compares held: an unknown mod_revision compared EQUAL to n is n. */
    private boolean resolve(State w, List<Cond> conds) {
        for (Cond c : conds) {
            if (c.target() != KvOp.Target.MOD || c.relation() != KvOp.Relation.EQUAL) continue;
            int i = index(c.key());
            if (w.value[i] == null || w.mod[i] > 0) continue;
            if (c.number() < w.modLow[i]) return false;
            w.mod[i] = c.number();
        }
        return true;
    }

    private boolean applyDefinite(State w, long revLow, List<Step> steps, Result r) {
        List<Observed> obs = r.observed();
        if (obs.size() != steps.size()) return false;
        long h = r.revision();
        boolean wrote = false;
        for (int j = 0; j < steps.size(); j++) {
            Step st = steps.get(j);
            int i = index(st.key());
            Observed o = obs.get(j);
            switch (st.kind()) {
                case GET:
                    if (!matches(w, i, o.kv(), h)) return false;
                    break;
                case PUT:
                    if (st.prevKv() && !matches(w, i, o.kv(), h)) return false;
                    w.version[i] = w.value[i] == null ? 1 : w.version[i] + 1;
                    w.value[i] = canonical(st.key(), st.value());
                    w.mod[i] = h;
                    w.modLow[i] = 0;
                    wrote = true;
                    break;
                default:
                    long expected = w.value[i] == null ? 0 : 1;
                    if (o.deleted() != expected) return false;
                    if (expected == 1) {
                        clear(w, i);
                        wrote = true;
                    }
            }
        }
        // Revisions grow along the order: a write takes a new one, a read sees at least the last.
        if (wrote ? h <= revLow : h < revLow) return false;
        w.revLow = h;
        return true;
    }

    private void applyAmbiguous(State w, long revLow, List<Step> steps) {
        boolean wrote = false;
        for (Step st : steps) {
            int i = index(st.key());
            if (st.kind() == KvOp.StepKind.PUT) {
                w.version[i] = w.value[i] == null ? 1 : w.version[i] + 1;
                w.value[i] = canonical(st.key(), st.value());
                w.mod[i] = 0;
                w.modLow[i] = revLow + 1;
                wrote = true;
            } else if (st.kind() == KvOp.StepKind.DELETE && w.value[i] != null) {
                clear(w, i);
                wrote = true;
            }
        }
        if (wrote) w.revLow = revLow + 1;
    }

    private static void clear(State w, int i) {
        w.value[i] = null;
        w.version[i] = 0;
        w.mod[i] = 0;
        w.modLow[i] = 0;
    }

    /** Does an observed key-value (null: absent) agree with key i, read at header revision h? */
    private static boolean matches(State w, int i, Kv kv, long h) {
        if (w.value[i] == null) return kv == null;
        if (kv == null || !w.value[i].equals(kv.value()) || w.version[i] != kv.version()) return false;
        if (w.mod[i] > 0) return w.mod[i] == kv.modRevision();
        if (kv.modRevision() < w.modLow[i] || kv.modRevision() > h) return false;
        w.mod[i] = kv.modRevision(); // the read tells when the lost-answer write happened
        w.modLow[i] = 0;
        return true;
    }

    String describe(State s) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < keys.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(keys[i]).append('=');
            if (s.value[i] == null) sb.append("absent");
            else sb.append(s.value[i]).append("@").append(s.mod[i] > 0 ? "m" + s.mod[i] : "m>=" + s.modLow[i]).append("v").append(s.version[i]);
        }
        return sb.append("} rev>=").append(s.revLow).toString();
    }

    /** Immutable once sealed; mutable only while a step builds it. */
    static final class State {
        final String[] value;
        final long[] mod;
        final long[] modLow;
        final long[] version;
        long revLow;
        private int hash;

        State(String[] value, long[] mod, long[] modLow, long[] version, long revLow) {
            this.value = value;
            this.mod = mod;
            this.modLow = modLow;
            this.version = version;
            this.revLow = revLow;
            seal();
        }

        State copy() {
            return new State(value.clone(), mod.clone(), modLow.clone(), version.clone(), revLow);
        }

        State seal() {
            int h = Arrays.hashCode(value);
            h = 31 * h + Arrays.hashCode(mod);
            h = 31 * h + Arrays.hashCode(modLow);
            h = 31 * h + Arrays.hashCode(version);
            hash = 31 * h + Long.hashCode(revLow);
            return this;
        }

        @Override public int hashCode() {
            return hash;
        }

        @Override public boolean equals(Object o) {
            return o instanceof State s && s.hash == hash && revLow == s.revLow && Arrays.equals(value, s.value)
                    && Arrays.equals(mod, s.mod) && Arrays.equals(modLow, s.modLow) && Arrays.equals(version, s.version);
        }
    }
}
