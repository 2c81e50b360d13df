package io.quorumlab.mvcc;

import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.LeaseCheckpointRequest;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Binary form of a {@link Request} for Raft log entries: one version byte, a type tag, fields in
 * declaration order. Lets the member and the simulator log requests without protobuf; entries are
 * decoded identically on every member, which is all replication needs. Nesting is bounded.
 */
public final class RequestCodec {
    private static final byte VERSION = 1;
    /** etcd has no explicit limit; a bound keeps a hostile entry from overflowing the stack. */
    static final int MAX_TXN_DEPTH = 64;
    /** Largest key/value accepted when decoding: etcd's default max request size. */
    static final int MAX_BYTES = 1_572_864 + 512 * 1024;

    private static final int RANGE = 1, PUT = 2, DELETE = 3, TXN = 4, COMPACT = 5, LEASE_GRANT = 6, LEASE_REVOKE = 7,
            LEASE_CHECKPOINT = 8, ALARM = 9;

    private RequestCodec() {}

    public static byte[] encode(Request r) {
        return encode(r, 0);
    }

    /**
     * The encoding after {@code prefixBytes} zero bytes that the caller fills in (a Raft entry's
     * envelope), so that the request is not copied a second time behind its header.
     */
    public static byte[] encode(Request r, int prefixBytes) {
        if (prefixBytes < 0) throw new IllegalArgumentException("negative prefix");
        try {
            ArrayOutput bytes = new ArrayOutput(prefixBytes + sizeHint(r, 0));
            DataOutputStream out = new DataOutputStream(bytes);
            for (int i = 0; i < prefixBytes; i++) out.writeByte(0);
            out.writeByte(VERSION);
            write(out, r);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory stream: cannot happen
        }
    }

    public static Request decode(byte[] data) {
        return decode(data, 0);
    }

    /**
     * Recently decoded entries for {@link #decodeShared}, found by the identity of their array and
     * checked byte for byte against a private copy. The simulator's members apply the very same entry
     * arrays, so two of every three decodes become a comparison; a request is immutable, so sharing
     * it is safe. A real member's arrays are its own: it decodes with {@link #decode} and pays nothing. Slots
     * hold immutable records and are written racily: a lost or stale slot is only a miss.
     */
    private static final int DECODED_SLOTS = 64;
    /** Larger entries are not kept: the cache holds at most 64 x 2 x 4 KiB. */
    private static final int DECODED_MAX_BYTES = 4096;
    private static final Decoded[] DECODED = new Decoded[DECODED_SLOTS];

    private record Decoded(byte[] data, int offset, byte[] copy, Request request) {}

    /** Decodes the request that starts at {@code offset} and runs to the end of {@code data} (no copy of the prefix). */
    public static Request decode(byte[] data, int offset) {
        if (offset < 0 || offset > data.length) throw new IllegalArgumentException("offset " + offset + " outside the entry");
        return decodeUncached(data, offset);
    }

    /** {@link #decode}, answered from the recent decodes of this very array when its bytes are unchanged. */
    public static Request decodeShared(byte[] data, int offset) {
        if (offset < 0 || offset > data.length) throw new IllegalArgumentException("offset " + offset + " outside the entry");
        int slot = System.identityHashCode(data) & (DECODED_SLOTS - 1);
        Decoded d = DECODED[slot];
        if (d != null && d.data == data && d.offset == offset
                && Arrays.equals(d.copy, 0, d.copy.length, data, offset, data.length)) {
            return d.request;
        }
        Request r = decodeUncached(data, offset);
        if (data.length - offset <= DECODED_MAX_BYTES) DECODED[slot] = new Decoded(data, offset, Arrays.copyOfRange(data, offset, data.length), r);
        return r;
    }

    private static Request decodeUncached(byte[] data, int offset) {
        try {
            DataInputStream in = new DataInputStream(new ArrayInput(data, offset));
            int v = in.readUnsignedByte();
            if (v != VERSION) throw new IllegalArgumentException("unknown request encoding version " + v);
            Request r = read(in, 0);
            if (in.available() != 0) throw new IllegalArgumentException("trailing bytes in request entry");
            return r;
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated request entry", e);
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("bad enum ordinal in request entry", e);
        }
    }

    /**
     * About the encoded size (keys, values and fixed fields), so that encoding a large value does
     * not copy it once per doubling of the buffer.
     */
    private static int sizeHint(Object r, int depth) {
        long n = 64;
        if (r instanceof PutRequest p) {
            n += p.key().length + (long) p.value().length;
        } else if (r instanceof RangeRequest q) {
            n += q.key().length + (long) q.rangeEnd().length;
        } else if (r instanceof DeleteRangeRequest d) {
            n += d.key().length + (long) d.rangeEnd().length;
        } else if (r instanceof TxnRequest t && depth <= MAX_TXN_DEPTH) {
            for (Compare c : t.compare()) n += 32 + c.key().length + (long) c.rangeEnd().length + c.value().length;
            for (RequestOp op : t.success()) n += sizeHint(op, depth + 1);
            for (RequestOp op : t.failure()) n += sizeHint(op, depth + 1);
        }
        return (int) Math.min(n, Integer.MAX_VALUE - 16);
    }

    private static void write(DataOutputStream out, Object r) throws IOException {
        if (r instanceof RangeRequest q) {
            out.writeByte(RANGE);
            bytes(out, q.key());
            bytes(out, q.rangeEnd());
            out.writeLong(q.limit());
            out.writeLong(q.revision());
            out.writeByte(q.sortOrder().ordinal());
            out.writeByte(q.sortTarget().ordinal());
            out.writeByte((q.serializable() ? 1 : 0) | (q.keysOnly() ? 2 : 0) | (q.countOnly() ? 4 : 0));
            out.writeLong(q.minModRevision());
            out.writeLong(q.maxModRevision());
            out.writeLong(q.minCreateRevision());
            out.writeLong(q.maxCreateRevision());
        } else if (r instanceof PutRequest p) {
            out.writeByte(PUT);
            bytes(out, p.key());
            bytes(out, p.value());
            out.writeLong(p.lease());
            out.writeByte((p.prevKv() ? 1 : 0) | (p.ignoreValue() ? 2 : 0) | (p.ignoreLease() ? 4 : 0));
        } else if (r instanceof DeleteRangeRequest d) {
            out.writeByte(DELETE);
            bytes(out, d.key());
            bytes(out, d.rangeEnd());
            out.writeBoolean(d.prevKv());
        } else if (r instanceof TxnRequest t) {
            out.writeByte(TXN);
            out.writeInt(t.compare().size());
            for (Compare c : t.compare()) {
                out.writeByte(c.result().ordinal());
                out.writeByte(c.target().ordinal());
                bytes(out, c.key());
                bytes(out, c.rangeEnd());
                out.writeLong(c.number());
                bytes(out, c.value());
            }
            for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
                out.writeInt(ops.size());
                for (RequestOp op : ops) write(out, op);
            }
        } else if (r instanceof CompactionRequest c) {
            out.writeByte(COMPACT);
            out.writeLong(c.revision());
            out.writeBoolean(c.physical());
        } else if (r instanceof LeaseGrantRequest g) {
            out.writeByte(LEASE_GRANT);
            out.writeLong(g.ttlSeconds());
            out.writeLong(g.id());
        } else if (r instanceof LeaseRevokeRequest v) {
            out.writeByte(LEASE_REVOKE);
            out.writeLong(v.id());
        } else if (r instanceof LeaseCheckpointRequest c) {
            out.writeByte(LEASE_CHECKPOINT);
            out.writeInt(c.checkpoints().size());
            for (LeaseCheckpointRequest.Checkpoint cp : c.checkpoints()) {
                out.writeLong(cp.id());
                out.writeLong(cp.remainingTtlSeconds());
            }
        } else if (r instanceof AlarmRequest a) {
            out.writeByte(ALARM);
            out.writeByte(a.action().ordinal());
            out.writeLong(a.memberId());
            out.writeByte(a.alarm().ordinal());
        } else {
            throw new IllegalArgumentException("cannot encode " + r);
        }
    }

    private static Request read(DataInputStream in, int depth) throws IOException {
        if (depth > MAX_TXN_DEPTH) throw new IllegalArgumentException("txn nested deeper than " + MAX_TXN_DEPTH);
        int tag = in.readUnsignedByte();
        switch (tag) {
            case RANGE -> {
                byte[] key = bytes(in), end = bytes(in);
                long limit = in.readLong(), rev = in.readLong();
                RangeRequest.SortOrder order = RangeRequest.SortOrder.values()[in.readUnsignedByte()];
                RangeRequest.SortTarget target = RangeRequest.SortTarget.values()[in.readUnsignedByte()];
                int f = in.readUnsignedByte();
                return new RangeRequest(key, end, limit, rev, order, target, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0,
                        in.readLong(), in.readLong(), in.readLong(), in.readLong());
            }
            case PUT -> {
                byte[] key = bytes(in), value = bytes(in);
                long lease = in.readLong();
                int f = in.readUnsignedByte();
                return new PutRequest(key, value, lease, (f & 1) != 0, (f & 2) != 0, (f & 4) != 0);
            }
            case DELETE -> {
                byte[] key = bytes(in), end = bytes(in);
                return new DeleteRangeRequest(key, end, in.readBoolean());
            }
            case TXN -> {
                int n = count(in);
                List<Compare> cmps = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    Compare.Result res = Compare.Result.values()[in.readUnsignedByte()];
                    Compare.Target tgt = Compare.Target.values()[in.readUnsignedByte()];
                    byte[] key = bytes(in), end = bytes(in);
                    long num = in.readLong();
                    cmps.add(new Compare(res, tgt, key, end, num, bytes(in)));
                }
                List<List<RequestOp>> branches = new ArrayList<>(2);
                for (int b = 0; b < 2; b++) {
                    int m = count(in);
                    List<RequestOp> ops = new ArrayList<>(m);
                    for (int i = 0; i < m; i++) {
                        Request op = read(in, depth + 1);
                        if (!(op instanceof RequestOp rop)) throw new IllegalArgumentException("not a txn op: " + op);
                        ops.add(rop);
                    }
                    branches.add(ops);
                }
                return new TxnRequest(cmps, branches.get(0), branches.get(1));
            }
            case COMPACT -> {
                return new CompactionRequest(in.readLong(), in.readBoolean());
            }
            case LEASE_GRANT -> {
                return new LeaseGrantRequest(in.readLong(), in.readLong());
            }
            case LEASE_REVOKE -> {
                return new LeaseRevokeRequest(in.readLong());
            }
            case LEASE_CHECKPOINT -> {
                int n = count(in);
                List<LeaseCheckpointRequest.Checkpoint> cps = new ArrayList<>(n);
                for (int i = 0; i < n; i++) cps.add(new LeaseCheckpointRequest.Checkpoint(in.readLong(), in.readLong()));
                return new LeaseCheckpointRequest(cps);
            }
            case ALARM -> {
                AlarmRequest.Action action = AlarmRequest.Action.values()[in.readUnsignedByte()];
                long member = in.readLong();
                return new AlarmRequest(action, member, AlarmRequest.AlarmType.values()[in.readUnsignedByte()]);
            }
            default -> throw new IllegalArgumentException("unknown request tag " + tag);
        }
    }

    private static void bytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] bytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_BYTES) throw new IllegalArgumentException("bad length " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    /**
     * {@link java.io.ByteArrayOutputStream} without its locks: Data streams write every field as one call,
     * and an uncontended lock per field was a measurable share of the apply path. One thread per stream.
     */
    private static final class ArrayOutput extends OutputStream {
        private byte[] buf;
        private int count;

        ArrayOutput(int capacity) { buf = new byte[Math.max(capacity, 16)]; }

        private void ensure(int more) {
            if (more > buf.length - count) buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(2L * buf.length, (long) count + more)));
        }

        @Override public void write(int b) {
            ensure(1);
            buf[count++] = (byte) b;
        }

        @Override public void write(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            ensure(len);
            System.arraycopy(b, off, buf, count, len);
            count += len;
        }

        byte[] toByteArray() { return Arrays.copyOf(buf, count); }
    }

    /** {@link java.io.ByteArrayInputStream} from an offset to the end, without its locks (see {@link ArrayOutput}). */
    private static final class ArrayInput extends InputStream {
        private final byte[] buf;
        private int pos;

        ArrayInput(byte[] buf, int offset) {
            this.buf = buf;
            this.pos = offset;
        }

        @Override public int read() { return pos < buf.length ? buf[pos++] & 0xff : -1; }

        @Override public int read(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) return 0;
            if (pos >= buf.length) return -1;
            int n = Math.min(len, buf.length - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override public int available() { return buf.length - pos; }
    }

    private static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 16) throw new IllegalArgumentException("bad count " + n);
        return n;
    }
}
