package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.*;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The reference: a full copy of the key space per revision, and etcd's rules written as plainly
 * as possible. Slow and obviously right is the point. Keys are Latin-1 strings so String order
 * equals unsigned byte order.
 */
final class Model {
    /** Latin-1 maps bytes 0..255 to chars 0..255: String order == unsigned byte order. */
    static String s(byte[] b) { return new String(b, StandardCharsets.ISO_8859_1); }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.ISO_8859_1); }

    final List<TreeMap<String, KeyValue>> states = new ArrayList<>();
    long compacted = -1;
    /** Lease id -> granted TTL. Attachments are the kvs' lease fields in the current state. */
    final TreeMap<Long, Long> leases = new TreeMap<>();
    /** Each revision's changes in order, as watchers must see them (prev_kv = state before the revision). */
    final Map<Long, List<Event>> revEvents = new java.util.HashMap<>();
    long minLeaseTtl = 2;
    /** Txns the generator deliberately made invalid, with the error they must produce. */
    final Map<TxnRequest, ErrorCode> invalidTxns = new IdentityHashMap<>();

    Model() {
        states.add(new TreeMap<>()); // revision 0: unused
        states.add(new TreeMap<>()); // revision 1: the empty store
    }

    long cur() { return states.size() - 1; }

    /** A Response, or the ErrorCode the store must throw. */
    Object apply(Request r) {
        try {
            if (r instanceof PutRequest || r instanceof TxnRequest || r instanceof RangeRequest || r instanceof DeleteRangeRequest) {
                validate(r);
            }
            if (r instanceof RangeRequest q) return range(q, cur(), states.get((int) cur()));
            if (r instanceof PutRequest p) {
                if (p.lease() != 0 && !leases.containsKey(p.lease())) return ErrorCode.LEASE_NOT_FOUND;
                if ((p.ignoreValue() || p.ignoreLease()) && !states.get((int) cur()).containsKey(s(p.key()))) return ErrorCode.KEY_NOT_FOUND;
                Txn t = new Txn();
                PutResponse resp = t.put(p);
                t.end();
                return resp;
            }
            if (r instanceof DeleteRangeRequest d) {
                Txn t = new Txn();
                DeleteRangeResponse resp = t.delete(d);
                t.end();
                return resp;
            }
            if (r instanceof TxnRequest t) return txn(t);
            if (r instanceof LeaseGrantRequest g) {
                if (g.id() == 0) return ErrorCode.LEASE_NOT_FOUND;
                if (g.ttlSeconds() > StoreConfig.MAX_LEASE_TTL_SECONDS) return ErrorCode.LEASE_TTL_TOO_LARGE;
                if (leases.containsKey(g.id())) return ErrorCode.LEASE_EXISTS;
                long ttl = Math.max(minLeaseTtl, g.ttlSeconds());
                leases.put(g.id(), ttl);
                return new LeaseGrantResponse(ResponseHeader.ofRevision(cur()), g.id(), ttl);
            }
            if (r instanceof LeaseRevokeRequest v) {
                if (!leases.containsKey(v.id())) return ErrorCode.LEASE_NOT_FOUND;
                Txn t = new Txn();
                List<String> keys = new ArrayList<>();
                for (KeyValue kv : t.work.values()) if (kv.lease() == v.id()) keys.add(s(kv.key()));
                for (String k : keys) t.delete(new DeleteRangeRequest(b(k), Bytes.EMPTY, false));
                t.end();
                leases.remove(v.id());
                return new LeaseRevokeResponse(ResponseHeader.ofRevision(cur()));
            }
            if (r instanceof CompactionRequest c) {
                if (c.revision() <= compacted) return ErrorCode.COMPACTED;
                if (c.revision() > cur()) return ErrorCode.FUTURE_REV;
                compacted = c.revision();
                return new CompactionResponse(ResponseHeader.ofRevision(cur()));
            }
        } catch (MvccException e) {
            return e.code();
        }
        throw new IllegalArgumentException(r.toString());
    }

    /** The request-shape checks, over every op of both branches (etcd validates before choosing a branch). */
    private void validate(Object op) {
        if (op instanceof PutRequest p) {
            if (p.key().length == 0) throw new MvccException(ErrorCode.EMPTY_KEY);
            if (p.ignoreValue() && p.value().length > 0) throw new MvccException(ErrorCode.VALUE_PROVIDED);
            if (p.ignoreLease() && p.lease() != 0) throw new MvccException(ErrorCode.LEASE_PROVIDED);
        } else if (op instanceof TxnRequest t) {
            for (RequestOp o : t.success()) validate(o);
            for (RequestOp o : t.failure()) validate(o);
        }
    }

    static boolean inRange(String k, byte[] key, byte[] end) {
        String from = s(key);
        if (end.length == 0) return k.equals(from);
        if (end.length == 1 && end[0] == 0) return k.compareTo(from) >= 0;
        return k.compareTo(from) >= 0 && k.compareTo(s(end)) < 0;
    }

    RangeResponse range(RangeRequest r, long curRev, TreeMap<String, KeyValue> atCur) {
        long rev = r.revision();
        if (rev > curRev) throw new MvccException(ErrorCode.FUTURE_REV);
        if (rev <= 0) rev = curRev;
        if (rev < compacted) throw new MvccException(ErrorCode.COMPACTED);
        TreeMap<String, KeyValue> st = rev == curRev ? atCur : states.get((int) rev);
        List<KeyValue> kvs = new ArrayList<>();
        for (var e : st.entrySet()) if (inRange(e.getKey(), r.key(), r.rangeEnd())) kvs.add(e.getValue());
        long count = kvs.size();
        ResponseHeader h = ResponseHeader.ofRevision(curRev);
        if (r.countOnly()) return new RangeResponse(h, List.of(), false, count);
        boolean fetchAll = r.sortOrder() != RangeRequest.SortOrder.NONE || r.minModRevision() != 0 || r.maxModRevision() != 0
                || r.minCreateRevision() != 0 || r.maxCreateRevision() != 0;
        // etcd quirk: with order NONE (even for a non-key target) it reads limit+1 keys first, then sorts.
        if (!fetchAll && r.limit() > 0 && kvs.size() > r.limit() + 1) kvs = new ArrayList<>(kvs.subList(0, (int) r.limit() + 1));
        if (r.maxModRevision() != 0) kvs.removeIf(kv -> kv.modRevision() > r.maxModRevision());
        if (r.minModRevision() != 0) kvs.removeIf(kv -> kv.modRevision() < r.minModRevision());
        if (r.minCreateRevision() != 0) kvs.removeIf(kv -> kv.createRevision() < r.minCreateRevision());
        if (r.maxCreateRevision() != 0) kvs.removeIf(kv -> kv.createRevision() > r.maxCreateRevision());
        RangeRequest.SortOrder order = r.sortOrder();
        if (order == RangeRequest.SortOrder.NONE && r.sortTarget() != RangeRequest.SortTarget.KEY) order = RangeRequest.SortOrder.ASCEND;
        if (order != RangeRequest.SortOrder.NONE) {
            Comparator<KeyValue> c = switch (r.sortTarget()) {
                case KEY -> Comparator.comparing(kv -> s(kv.key()));
                case VERSION -> Comparator.comparingLong(KeyValue::version);
                case CREATE -> Comparator.comparingLong(KeyValue::createRevision);
                case MOD -> Comparator.comparingLong(KeyValue::modRevision);
                case VALUE -> Comparator.comparing(kv -> s(kv.value()));
            };
            kvs.sort(order == RangeRequest.SortOrder.DESCEND ? c.reversed() : c);
        }
        boolean more = false;
        if (r.limit() > 0 && kvs.size() > r.limit()) {
            kvs = new ArrayList<>(kvs.subList(0, (int) r.limit()));
            more = true;
        }
        if (r.keysOnly()) kvs.replaceAll(KeyValue::withoutValue);
        return new RangeResponse(h, kvs, more, count);
    }

    /** A write in progress: the next revision's state, built on a copy. */
    final class Txn {
        final long begin = cur();
        final TreeMap<String, KeyValue> work = new TreeMap<>(states.get((int) cur()));
        final List<Event> events = new ArrayList<>();
        int changes;

        long readRev() { return changes > 0 ? begin + 1 : begin; }

        PutResponse put(PutRequest p) {
            String k = s(p.key());
            KeyValue prev = work.get(k);
            long rev = begin + 1;
            byte[] value = p.ignoreValue() ? prev.value() : p.value();
            long lease = p.ignoreLease() ? prev.lease() : p.lease();
            KeyValue kv = new KeyValue(p.key(), prev == null ? rev : prev.createRevision(), rev,
                    prev == null ? 1 : prev.version() + 1, value, lease);
            work.put(k, kv);
            events.add(new Event(Event.Type.PUT, kv, states.get((int) begin).get(k)));
            changes++;
            return new PutResponse(ResponseHeader.ofRevision(rev), p.prevKv() ? prev : null);
        }

        DeleteRangeResponse delete(DeleteRangeRequest d) {
            List<String> keys = new ArrayList<>();
            List<KeyValue> prev = new ArrayList<>();
            for (var e : work.entrySet()) {
                if (inRange(e.getKey(), d.key(), d.rangeEnd())) {
                    keys.add(e.getKey());
                    prev.add(e.getValue());
                }
            }
            for (String k : keys) {
                work.remove(k);
                events.add(new Event(Event.Type.DELETE, new KeyValue(b(k), 0, begin + 1, 0, null, 0), states.get((int) begin).get(k)));
            }
            changes += keys.size();
            long rev = changes > 0 ? begin + 1 : begin;
            return new DeleteRangeResponse(ResponseHeader.ofRevision(rev), keys.size(), d.prevKv() ? prev : List.of());
        }

        void end() {
            if (changes > 0) {
                states.add(work);
                revEvents.put(begin + 1, events);
            }
        }
    }

    private Object txn(TxnRequest t) {
        ErrorCode invalid = invalidTxns.get(t);
        if (invalid != null) return invalid;
        TreeMap<String, KeyValue> pre = states.get((int) cur());
        List<Boolean> path = new ArrayList<>();
        decide(t, pre, path);
        checkPuts(t, path, new int[] {0});
        check(t, path, new int[] {0});
        Txn w = new Txn();
        TxnResponse r = exec(w, t, path, new int[] {0});
        w.end();
        return new TxnResponse(ResponseHeader.ofRevision(w.readRev()), r.succeeded(), r.responses());
    }

    private void decide(TxnRequest t, TreeMap<String, KeyValue> pre, List<Boolean> path) {
        boolean ok = true;
        for (Compare c : t.compare()) ok &= holds(c, pre);
        path.add(ok);
        for (RequestOp op : ok ? t.success() : t.failure()) if (op instanceof TxnRequest n) decide(n, pre, path);
    }

    private static boolean holds(Compare c, TreeMap<String, KeyValue> st) {
        List<KeyValue> kvs = new ArrayList<>();
        for (var e : st.entrySet()) if (inRange(e.getKey(), c.key(), c.rangeEnd())) kvs.add(e.getValue());
        if (kvs.isEmpty()) {
            if (c.target() == Compare.Target.VALUE) return false;
            kvs.add(new KeyValue(c.key(), 0, 0, 0, null, 0));
        }
        for (KeyValue kv : kvs) {
            long have = switch (c.target()) {
                case VERSION -> kv.version();
                case CREATE -> kv.createRevision();
                case MOD -> kv.modRevision();
                case LEASE -> kv.lease();
                case VALUE -> s(kv.value()).compareTo(s(c.value()));
            };
            long want = c.target() == Compare.Target.VALUE ? 0 : c.number();
            boolean r = switch (c.result()) {
                case EQUAL -> have == want;
                case NOT_EQUAL -> have != want;
                case GREATER -> have > want;
                case LESS -> have < want;
            };
            if (!r) return false;
        }
        return true;
    }

    private void checkPuts(TxnRequest t, List<Boolean> path, int[] pos) {
        boolean ok = path.get(pos[0]++);
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof PutRequest p) {
                if ((p.ignoreValue() || p.ignoreLease()) && !states.get((int) cur()).containsKey(s(p.key()))) {
                    throw new MvccException(ErrorCode.KEY_NOT_FOUND);
                }
                if (p.lease() != 0 && !leases.containsKey(p.lease())) throw new MvccException(ErrorCode.LEASE_NOT_FOUND);
            } else if (op instanceof TxnRequest n) checkPuts(n, path, pos);
        }
    }

    private void check(TxnRequest t, List<Boolean> path, int[] pos) {
        boolean ok = path.get(pos[0]++);
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof RangeRequest q) {
                if (q.revision() > cur()) throw new MvccException(ErrorCode.FUTURE_REV);
                if (q.revision() > 0 && q.revision() < compacted) throw new MvccException(ErrorCode.COMPACTED);
            } else if (op instanceof TxnRequest n) check(n, path, pos);
        }
    }

    private TxnResponse exec(Txn w, TxnRequest t, List<Boolean> path, int[] pos) {
        boolean ok = path.get(pos[0]++);
        List<ResponseOp> out = new ArrayList<>();
        for (RequestOp op : ok ? t.success() : t.failure()) {
            if (op instanceof RangeRequest q) out.add(range(q, w.readRev(), w.work));
            else if (op instanceof PutRequest p) out.add(w.put(p));
            else if (op instanceof DeleteRangeRequest d) out.add(w.delete(d));
            else if (op instanceof TxnRequest n) out.add(exec(w, n, path, pos));
        }
        return new TxnResponse(new ResponseHeader(0, 0, 0, 0), ok, out);
    }
}
