package io.quorumlab.server.member;

import io.quorumlab.mvcc.api.AlarmRequest;
import io.quorumlab.mvcc.api.Compare;
import io.quorumlab.mvcc.api.CompactionRequest;
import io.quorumlab.mvcc.api.DeleteRangeRequest;
import io.quorumlab.mvcc.api.LeaseCheckpointRequest;
import io.quorumlab.mvcc.api.LeaseGrantRequest;
import io.quorumlab.mvcc.api.LeaseRevokeRequest;
import io.quorumlab.mvcc.api.PutRequest;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.Request;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The Raft entry payload of a client request: {@code [u8 version][i64 requestId][request]}. The
 * request id lets the proposing member find the waiting client when the entry is applied; other
 * members ignore it. A binary layout of our own (the log is never read by etcd tools).
 */
public final class RequestCodec {
    private static final int VERSION = 1;
    private static final int MAX_OPS = 1 << 20;

    private RequestCodec() {}

    /** An applied entry's request and the id its proposer gave it. */
    public record Envelope(long requestId, Request request) {}

    public static byte[] encode(long requestId, Request r) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bos)) {
            out.writeByte(VERSION);
            out.writeLong(requestId);
            writeRequest(out, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    public static Envelope decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(data))) {
            int v = in.readUnsignedByte();
            if (v != VERSION) throw new IllegalArgumentException("unknown request encoding version " + v);
            long id = in.readLong();
            return new Envelope(id, readRequest(in));
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt request entry: " + e, e);
        }
    }

    private static void writeRequest(DataOutputStream out, Request r) throws IOException {
        if (r instanceof RangeRequest q) {
            out.writeByte(1);
            writeRange(out, q);
        } else if (r instanceof PutRequest p) {
            out.writeByte(2);
            writePut(out, p);
        } else if (r instanceof DeleteRangeRequest d) {
            out.writeByte(3);
            writeDelete(out, d);
        } else if (r instanceof TxnRequest t) {
            out.writeByte(4);
            writeTxn(out, t);
        } else if (r instanceof CompactionRequest c) {
            out.writeByte(5);
            out.writeLong(c.revision());
            out.writeBoolean(c.physical());
        } else if (r instanceof LeaseGrantRequest g) {
            out.writeByte(6);
            out.writeLong(g.ttlSeconds());
            out.writeLong(g.id());
        } else if (r instanceof LeaseRevokeRequest rv) {
            out.writeByte(7);
            out.writeLong(rv.id());
        } else if (r instanceof LeaseCheckpointRequest cp) {
            out.writeByte(8);
            out.writeInt(cp.checkpoints().size());
            for (LeaseCheckpointRequest.Checkpoint c : cp.checkpoints()) {
                out.writeLong(c.id());
                out.writeLong(c.remainingTtlSeconds());
            }
        } else if (r instanceof AlarmRequest a) {
            out.writeByte(9);
            out.writeByte(a.action().ordinal());
            out.writeLong(a.memberId());
            out.writeByte(a.alarm().ordinal());
        } else {
            throw new IllegalArgumentException("unknown request " + r);
        }
    }

    private static Request readRequest(DataInputStream in) throws IOException {
        int tag = in.readUnsignedByte();
        return switch (tag) {
            case 1 -> readRange(in);
            case 2 -> readPut(in);
            case 3 -> readDelete(in);
            case 4 -> readTxn(in, 0);
            case 5 -> new CompactionRequest(in.readLong(), in.readBoolean());
            case 6 -> new LeaseGrantRequest(in.readLong(), in.readLong());
            case 7 -> new LeaseRevokeRequest(in.readLong());
            case 8 -> {
                int n = count(in);
                List<LeaseCheckpointRequest.Checkpoint> cps = new ArrayList<>(n);
                for (int i = 0; i < n; i++) cps.add(new LeaseCheckpointRequest.Checkpoint(in.readLong(), in.readLong()));
                yield new LeaseCheckpointRequest(cps);
            }
            case 9 -> new AlarmRequest(enumAt(AlarmRequest.Action.values(), in.readUnsignedByte()), in.readLong(),
                    enumAt(AlarmRequest.AlarmType.values(), in.readUnsignedByte()));
            default -> throw new IOException("unknown request tag " + tag);
        };
    }

    private static void writeRange(DataOutputStream out, RangeRequest q) throws IOException {
        writeBytes(out, q.key());
        writeBytes(out, q.rangeEnd());
        out.writeLong(q.limit());
        out.writeLong(q.revision());
        out.writeByte(q.sortOrder().ordinal());
        out.writeByte(q.sortTarget().ordinal());
        out.writeByte((q.serializable() ? 1 : 0) | (q.keysOnly() ? 2 : 0) | (q.countOnly() ? 4 : 0));
        out.writeLong(q.minModRevision());
        out.writeLong(q.maxModRevision());
        out.writeLong(q.minCreateRevision());
        out.writeLong(q.maxCreateRevision());
    }

    private static RangeRequest readRange(DataInputStream in) throws IOException {
        byte[] key = readBytes(in);
        byte[] end = readBytes(in);
        long limit = in.readLong();
        long rev = in.readLong();
        RangeRequest.SortOrder so = enumAt(RangeRequest.SortOrder.values(), in.readUnsignedByte());
        RangeRequest.SortTarget st = enumAt(RangeRequest.SortTarget.values(), in.readUnsignedByte());
        int flags = in.readUnsignedByte();
        return new RangeRequest(key, end, limit, rev, so, st, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0,
                in.readLong(), in.readLong(), in.readLong(), in.readLong());
    }

    private static void writePut(DataOutputStream out, PutRequest p) throws IOException {
        writeBytes(out, p.key());
        writeBytes(out, p.value());
        out.writeLong(p.lease());
        out.writeByte((p.prevKv() ? 1 : 0) | (p.ignoreValue() ? 2 : 0) | (p.ignoreLease() ? 4 : 0));
    }

    private static PutRequest readPut(DataInputStream in) throws IOException {
        byte[] key = readBytes(in);
        byte[] value = readBytes(in);
        long lease = in.readLong();
        int flags = in.readUnsignedByte();
        return new PutRequest(key, value, lease, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
    }

    private static void writeDelete(DataOutputStream out, DeleteRangeRequest d) throws IOException {
        writeBytes(out, d.key());
        writeBytes(out, d.rangeEnd());
        out.writeBoolean(d.prevKv());
    }

    private static DeleteRangeRequest readDelete(DataInputStream in) throws IOException {
        return new DeleteRangeRequest(readBytes(in), readBytes(in), in.readBoolean());
    }

    private static void writeTxn(DataOutputStream out, TxnRequest t) throws IOException {
        out.writeInt(t.compare().size());
        for (Compare c : t.compare()) {
            out.writeByte(c.result().ordinal());
            out.writeByte(c.target().ordinal());
            writeBytes(out, c.key());
            writeBytes(out, c.rangeEnd());
            out.writeLong(c.number());
            writeBytes(out, c.value());
        }
        writeOps(out, t.success());
        writeOps(out, t.failure());
    }

    private static TxnRequest readTxn(DataInputStream in, int depth) throws IOException {
        if (depth > 64) throw new IOException("txn nesting too deep");
        int n = count(in);
        List<Compare> cmps = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Compare.Result res = enumAt(Compare.Result.values(), in.readUnsignedByte());
            Compare.Target tgt = enumAt(Compare.Target.values(), in.readUnsignedByte());
            cmps.add(new Compare(res, tgt, readBytes(in), readBytes(in), in.readLong(), readBytes(in)));
        }
        return new TxnRequest(cmps, readOps(in, depth), readOps(in, depth));
    }

    private static void writeOps(DataOutputStream out, List<RequestOp> ops) throws IOException {
        out.writeInt(ops.size());
        for (RequestOp op : ops) {
            if (op instanceof RangeRequest q) {
                out.writeByte(1);
                writeRange(out, q);
            } else if (op instanceof PutRequest p) {
                out.writeByte(2);
                writePut(out, p);
            } else if (op instanceof DeleteRangeRequest d) {
                out.writeByte(3);
                writeDelete(out, d);
            } else if (op instanceof TxnRequest t) {
                out.writeByte(4);
                writeTxn(out, t);
            } else {
                throw new IllegalArgumentException("unknown op " + op);
            }
        }
    }

    private static List<RequestOp> readOps(DataInputStream in, int depth) throws IOException {
        int n = count(in);
        List<RequestOp> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int tag = in.readUnsignedByte();
            ops.add(switch (tag) {
                case 1 -> readRange(in);
                case 2 -> readPut(in);
                case 3 -> readDelete(in);
                case 4 -> readTxn(in, depth + 1);
                default -> throw new IOException("unknown op tag " + tag);
            });
        }
        return ops;
    }

    private static int count(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_OPS) throw new IOException("bad count " + n);
        return n;
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 64 << 20) throw new IOException("bad length " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    private static <E extends Enum<E>> E enumAt(E[] values, int i) throws IOException {
        if (i < 0 || i >= values.length) throw new IOException("bad enum ordinal " + i);
        return values[i];
    }
}
