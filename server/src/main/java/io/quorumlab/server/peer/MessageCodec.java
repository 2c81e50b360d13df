package io.quorumlab.server.peer;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.quorumlab.raft.ConfState;
import io.quorumlab.raft.Entry;
import io.quorumlab.raft.EntryType;
import io.quorumlab.raft.Message;
import io.quorumlab.raft.MessageType;
import io.quorumlab.raft.Snapshot;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Raft messages on the wire, in protobuf encoding with field numbers after etcd's raftpb.Message
 * (type 1, to 2, from 3, term 4, logTerm 5, index 6, entries 7, commit 8, snapshot 9, reject 10,
 * rejectHint 11, context 12). Written by hand with protobuf's coded streams: no generated code.
 */
public final class MessageCodec {
    /** Entries per message are bounded by Raft's message size limit; this bounds a corrupt frame. */
    private static final int MAX_ENTRIES = 1 << 20;

    private MessageCodec() {}

    public static byte[] encode(Message m) {
        try {
            byte[] out = new byte[size(m)];
            CodedOutputStream o = CodedOutputStream.newInstance(out);
            write(o, m);
            o.checkNoSpaceLeft();
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code m} encoded after a peer frame's header: {@code [u32 length = 1 + body][u8 kind][body]},
     * in one array (no copy of the body into a frame afterwards).
     */
    static byte[] encodeFrame(Message m, byte kind) {
        try {
            int body = size(m);
            byte[] out = new byte[5 + body];
            int len = 1 + body;
            out[0] = (byte) (len >>> 24);
            out[1] = (byte) (len >>> 16);
            out[2] = (byte) (len >>> 8);
            out[3] = (byte) len;
            out[4] = kind;
            CodedOutputStream o = CodedOutputStream.newInstance(out, 5, body);
            write(o, m);
            o.checkNoSpaceLeft();
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int size(Message m) {
        int s = CodedOutputStream.computeEnumSize(1, m.type().ordinal())
                + CodedOutputStream.computeUInt64Size(2, m.to())
                + CodedOutputStream.computeUInt64Size(3, m.from())
                + CodedOutputStream.computeUInt64Size(4, m.term())
                + CodedOutputStream.computeUInt64Size(5, m.logTerm())
                + CodedOutputStream.computeUInt64Size(6, m.index())
                + CodedOutputStream.computeUInt64Size(8, m.commit())
                + CodedOutputStream.computeBoolSize(10, m.reject())
                + CodedOutputStream.computeUInt64Size(11, m.rejectHint())
                + CodedOutputStream.computeByteArraySize(12, m.context());
        for (Entry e : m.entries()) {
            int es = entrySize(e);
            s += CodedOutputStream.computeTagSize(7) + CodedOutputStream.computeUInt32SizeNoTag(es) + es;
        }
        if (m.snapshot() != null) {
            int ss = snapshotSize(m.snapshot());
            s += CodedOutputStream.computeTagSize(9) + CodedOutputStream.computeUInt32SizeNoTag(ss) + ss;
        }
        return s;
    }

    private static void write(CodedOutputStream o, Message m) throws IOException {
        o.writeEnum(1, m.type().ordinal());
        o.writeUInt64(2, m.to());
        o.writeUInt64(3, m.from());
        o.writeUInt64(4, m.term());
        o.writeUInt64(5, m.logTerm());
        o.writeUInt64(6, m.index());
        for (Entry e : m.entries()) {
            o.writeTag(7, 2);
            o.writeUInt32NoTag(entrySize(e));
            o.writeUInt64(1, e.term());
            o.writeUInt64(2, e.index());
            o.writeEnum(3, e.type().ordinal());
            o.writeByteArray(4, e.data());
        }
        o.writeUInt64(8, m.commit());
        if (m.snapshot() != null) {
            Snapshot s = m.snapshot();
            o.writeTag(9, 2);
            o.writeUInt32NoTag(snapshotSize(s));
            o.writeUInt64(1, s.index());
            o.writeUInt64(2, s.term());
            for (long v : s.confState().voters()) o.writeUInt64(3, v);
            for (long l : s.confState().learners()) o.writeUInt64(4, l);
            o.writeByteArray(5, s.data());
        }
        o.writeBool(10, m.reject());
        o.writeUInt64(11, m.rejectHint());
        o.writeByteArray(12, m.context());
    }

    private static int entrySize(Entry e) {
        return CodedOutputStream.computeUInt64Size(1, e.term()) + CodedOutputStream.computeUInt64Size(2, e.index())
                + CodedOutputStream.computeEnumSize(3, e.type().ordinal()) + CodedOutputStream.computeByteArraySize(4, e.data());
    }

    private static int snapshotSize(Snapshot s) {
        int n = CodedOutputStream.computeUInt64Size(1, s.index()) + CodedOutputStream.computeUInt64Size(2, s.term())
                + CodedOutputStream.computeByteArraySize(5, s.data());
        for (long v : s.confState().voters()) n += CodedOutputStream.computeUInt64Size(3, v);
        for (long l : s.confState().learners()) n += CodedOutputStream.computeUInt64Size(4, l);
        return n;
    }

    /** Decodes one message; malformed input throws {@link IllegalArgumentException}, never anything worse. */
    public static Message decode(byte[] data) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(data);
            in.setSizeLimit(Integer.MAX_VALUE);
            MessageType type = null;
            long to = 0, from = 0, term = 0, logTerm = 0, index = 0, commit = 0, rejectHint = 0;
            boolean reject = false;
            byte[] context = null;
            List<Entry> entries = new ArrayList<>();
            Snapshot snapshot = null;
            int tag;
            while ((tag = in.readTag()) != 0) {
                switch (tag >>> 3) {
                    case 1 -> type = enumAt(MessageType.values(), in.readEnum());
                    case 2 -> to = in.readUInt64();
                    case 3 -> from = in.readUInt64();
                    case 4 -> term = in.readUInt64();
                    case 5 -> logTerm = in.readUInt64();
                    case 6 -> index = in.readUInt64();
                    case 7 -> {
                        if (entries.size() >= MAX_ENTRIES) throw new IllegalArgumentException("too many entries");
                        entries.add(readEntry(in.readBytes()));
                    }
                    case 8 -> commit = in.readUInt64();
                    case 9 -> snapshot = readSnapshot(in.readBytes());
                    case 10 -> reject = in.readBool();
                    case 11 -> rejectHint = in.readUInt64();
                    case 12 -> context = in.readByteArray();
                    default -> {
                        if (!in.skipField(tag)) throw new IllegalArgumentException("bad field");
                    }
                }
            }
            if (type == null) throw new IllegalArgumentException("message without type");
            if (type.isLocal()) throw new IllegalArgumentException("local message type on the wire: " + type);
            return new Message(type, to, from, term, logTerm, index, entries, commit, snapshot, reject, rejectHint, context);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae) throw iae;
            throw new IllegalArgumentException("malformed raft message: " + e.getMessage(), e);
        }
    }

    private static Entry readEntry(ByteString bs) throws IOException {
        CodedInputStream in = bs.newCodedInput();
        long term = 0, index = 0;
        EntryType type = EntryType.NORMAL;
        byte[] data = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (tag >>> 3) {
                case 1 -> term = in.readUInt64();
                case 2 -> index = in.readUInt64();
                case 3 -> type = enumAt(EntryType.values(), in.readEnum());
                case 4 -> data = in.readByteArray();
                default -> {
                    if (!in.skipField(tag)) throw new IllegalArgumentException("bad entry field");
                }
            }
        }
        return new Entry(term, index, type, data);
    }

    private static Snapshot readSnapshot(ByteString bs) throws IOException {
        CodedInputStream in = bs.newCodedInput();
        in.setSizeLimit(Integer.MAX_VALUE);
        long index = 0, term = 0;
        Set<Long> voters = new TreeSet<>(), learners = new TreeSet<>();
        byte[] data = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (tag >>> 3) {
                case 1 -> index = in.readUInt64();
                case 2 -> term = in.readUInt64();
                case 3 -> voters.add(in.readUInt64());
                case 4 -> learners.add(in.readUInt64());
                case 5 -> data = in.readByteArray();
                default -> {
                    if (!in.skipField(tag)) throw new IllegalArgumentException("bad snapshot field");
                }
            }
        }
        return new Snapshot(index, term, new ConfState(voters, learners), data);
    }

    private static <E extends Enum<E>> E enumAt(E[] values, int i) {
        if (i < 0 || i >= values.length) throw new IllegalArgumentException("bad enum value " + i);
        return values[i];
    }
}
