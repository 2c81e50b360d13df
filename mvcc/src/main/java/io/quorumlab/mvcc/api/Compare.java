package io.quorumlab.mvcc.api;

/**
 * etcdserverpb.Compare. The protobuf target_union is flattened: {@code number} holds
 * version / create_revision / mod_revision / lease for those targets, {@code value} the VALUE target.
 * A non-empty rangeEnd compares every key of the range (all must satisfy it).
 */
public record Compare(Result result, Target target, byte[] key, byte[] rangeEnd, long number, byte[] value) {
    /** Ordinals equal etcdserverpb.Compare's CompareResult / CompareTarget numbers. */
    public enum Result { EQUAL, GREATER, LESS, NOT_EQUAL }
    public enum Target { VERSION, CREATE, MOD, VALUE, LEASE }

    public Compare {
        key = Bytes.orEmpty(key);
        rangeEnd = Bytes.orEmpty(rangeEnd);
        value = Bytes.orEmpty(value);
    }

    public static Compare number(byte[] key, Target target, Result result, long n) {
        if (target == Target.VALUE) throw new IllegalArgumentException("use Compare.value for VALUE");
        return new Compare(result, target, key, Bytes.EMPTY, n, Bytes.EMPTY);
    }

    public static Compare value(byte[] key, Result result, byte[] v) {
        return new Compare(result, Target.VALUE, key, Bytes.EMPTY, 0, v);
    }

    public Compare withRangeEnd(byte[] end) { return new Compare(result, target, key, end, number, value); }

    @Override public String toString() {
        return target + "(" + Bytes.show(key) + (rangeEnd.length > 0 ? ".." + Bytes.show(rangeEnd) : "") + ") " + result + " "
                + (target == Target.VALUE ? Bytes.show(value) : Long.toString(number));
    }
}
