package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.*;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Random etcd requests over a small key alphabet (so ranges, prefixes and histories collide
 * often). Transactions are built so every written key is distinct unless the generator
 * deliberately injects a duplicate, which it records in the model as an expected error.
 */
final class OpGenerator {
    static final String[] KEYS = {"a", "aa", "ab", "abc", "b", "b\u0000", "ba", "c", "d", "e\u00ff"};
    final Random rnd;
    final Model model;
    /** Lease ops, leased puts and ignore_* flags; with long TTLs only when a real etcd (real clock) is the peer. */
    boolean leases = true;
    boolean longTtlsOnly;

    OpGenerator(long seed, Model model) {
        this.rnd = new Random(seed);
        this.model = model;
    }

    byte[] key() { return Model.b(KEYS[rnd.nextInt(KEYS.length)]); }

    byte[] value() { return Model.b(rnd.nextInt(8) == 0 ? "" : "v" + rnd.nextInt(6)); }

    byte[] rangeEnd(byte[] key) {
        return switch (rnd.nextInt(5)) {
            case 0, 1 -> Bytes.EMPTY;
            case 2 -> Bytes.prefixEnd(key);
            case 3 -> Bytes.FROM_KEY;
            default -> key();
        };
    }

    long revision() {
        long cur = model.cur();
        return switch (rnd.nextInt(4)) {
            case 0, 1 -> 0;
            case 2 -> Math.max(1, cur - rnd.nextInt(6));
            default -> Math.max(0, model.compacted) + rnd.nextInt((int) Math.max(1, cur - Math.max(0, model.compacted) + 2)) - 1;
        };
    }

    RangeRequest range() {
        byte[] k = key();
        RangeRequest.Builder b = RangeRequest.builder(k).rangeEnd(rangeEnd(k)).revision(revision());
        if (rnd.nextInt(3) == 0) b.limit(rnd.nextInt(4));
        if (rnd.nextInt(3) == 0) {
            b.sort(RangeRequest.SortOrder.values()[rnd.nextInt(3)], RangeRequest.SortTarget.values()[rnd.nextInt(5)]);
        }
        if (rnd.nextInt(6) == 0) b.keysOnly(true);
        if (rnd.nextInt(8) == 0) b.countOnly(true);
        long cur = model.cur();
        if (rnd.nextInt(6) == 0) b.minModRevision(1 + rnd.nextInt((int) cur));
        if (rnd.nextInt(6) == 0) b.maxModRevision(1 + rnd.nextInt((int) cur));
        if (rnd.nextInt(6) == 0) b.minCreateRevision(1 + rnd.nextInt((int) cur));
        if (rnd.nextInt(6) == 0) b.maxCreateRevision(1 + rnd.nextInt((int) cur));
        return b.build();
    }

    long leaseId() { return 1 + rnd.nextInt(4); }

    PutRequest put(byte[] k) {
        if (!leases) return new PutRequest(k, value(), 0, rnd.nextBoolean(), false, false);
        long lease = rnd.nextInt(4) == 0 ? leaseId() : 0;
        boolean ignoreValue = rnd.nextInt(14) == 0, ignoreLease = rnd.nextInt(14) == 0;
        byte[] v = value();
        if (ignoreValue && rnd.nextInt(4) != 0) v = Bytes.EMPTY;
        if (ignoreLease && rnd.nextInt(4) != 0) lease = 0;
        return new PutRequest(k, v, lease, rnd.nextBoolean(), ignoreValue, ignoreLease);
    }

    Compare compare() {
        Compare.Target t = Compare.Target.values()[rnd.nextInt(5)];
        Compare.Result r = Compare.Result.values()[rnd.nextInt(4)];
        byte[] k = key();
        Compare c = t == Compare.Target.VALUE ? Compare.value(k, r, value())
                : Compare.number(k, t, r, rnd.nextInt(3) == 0 ? 0 : rnd.nextInt((int) model.cur() + 2));
        if (rnd.nextInt(5) == 0) c = c.withRangeEnd(rangeEnd(k));
        return c;
    }

    /** Branch ops writing only keys not yet in {@code used}. */
    List<RequestOp> branch(Set<String> used, int depth) {
        List<RequestOp> ops = new ArrayList<>();
        int n = rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            int kind = rnd.nextInt(depth == 0 ? 4 : 3);
            if (kind == 0) {
                ops.add(range());
                continue;
            }
            if (kind == 3) {
                ops.add(txn(used, depth + 1));
                continue;
            }
            byte[] k = key();
            if (!used.add(Model.s(k))) continue;
            ops.add(kind == 1 ? put(k) : new DeleteRangeRequest(k, Bytes.EMPTY, rnd.nextBoolean()));
        }
        return ops;
    }

    TxnRequest txn(Set<String> used, int depth) {
        List<Compare> cmps = new ArrayList<>();
        int n = rnd.nextInt(3);
        for (int i = 0; i < n; i++) cmps.add(compare());
        // Keys may repeat between then/else of the same txn (exclusive), but not across siblings.
        Set<String> thenUsed = new HashSet<>(used);
        List<RequestOp> success = branch(thenUsed, depth);
        Set<String> elseUsed = new HashSet<>(used);
        List<RequestOp> failure = branch(elseUsed, depth);
        if (depth == 0 && rnd.nextInt(8) == 0) {
            // etcd's duplicate check ignores from-key deletes: last in a branch, it may remove keys put just before.
            List<RequestOp> s = new ArrayList<>(success);
            s.add(new DeleteRangeRequest(key(), Bytes.FROM_KEY, rnd.nextBoolean()));
            success = s;
        }
        used.addAll(thenUsed);
        used.addAll(elseUsed);
        return new TxnRequest(cmps, success, failure);
    }

    Request next() {
        int p = rnd.nextInt(100);
        if (p < 30) return put(key());
        if (p < 40) {
            byte[] k = key();
            return new DeleteRangeRequest(k, rangeEnd(k), rnd.nextBoolean());
        }
        if (p < 60) {
            TxnRequest t = txn(new HashSet<>(), 0);
            if (rnd.nextInt(12) == 0) {
                // Inject a duplicate put at the top level of the success branch.
                byte[] k = key();
                List<RequestOp> s = new ArrayList<>(t.success());
                s.add(put(k));
                s.add(rnd.nextBoolean() ? put(k) : new DeleteRangeRequest(k, Bytes.EMPTY, false));
                t = new TxnRequest(t.compare(), s, t.failure());
                model.invalidTxns.put(t, ErrorCode.DUPLICATE_KEY);
            }
            return t;
        }
        if (leases && p >= 90) {
            if (p < 95) {
                long ttl = longTtlsOnly ? 3600 + rnd.nextInt(100) : rnd.nextInt(5) == 0 ? rnd.nextInt(4) : 3600;
                return new LeaseGrantRequest(ttl, leaseId());
            }
            return new LeaseRevokeRequest(rnd.nextInt(10) == 0 ? 0 : leaseId());
        }
        if (p < 66) {
            long lo = Math.max(0, model.compacted);
            return new CompactionRequest(lo - 1 + rnd.nextInt((int) (model.cur() - lo + 3)), false);
        }
        return range();
    }
}
