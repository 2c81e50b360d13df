package io.quorumlab.raft;

import java.util.List;

/**
 * A Raft message. One flat shape for every type (as in etcd's raftpb), so that the transport can
 * encode it with one codec. Fields a type does not use are zero / empty.
 */
public record Message(
        MessageType type,
        long to,
        long from,
        long term,
        long logTerm,
        long index,
        List<Entry> entries,
        long commit,
        Snapshot snapshot,
        boolean reject,
        long rejectHint,
        byte[] context) {

    private static final byte[] NO_CONTEXT = new byte[0];

    public Message {
        if (type == null) throw new IllegalArgumentException("type");
        entries = entries == null ? List.of() : entries;
        context = context == null ? NO_CONTEXT : context;
    }

    public static Builder builder(MessageType type) {
        return new Builder(type);
    }

    public Builder toBuilder() {
        Builder b = new Builder(type);
        b.to = to;
        b.from = from;
        b.term = term;
        b.logTerm = logTerm;
        b.index = index;
        b.entries = entries;
        b.commit = commit;
        b.snapshot = snapshot;
        b.reject = reject;
        b.rejectHint = rejectHint;
        b.context = context;
        return b;
    }

    /** Bytes of entry payload this message carries (for in-flight byte accounting). */
    public long entriesBytes() {
        long s = 0;
        for (Entry e : entries) s += e.sizeBytes();
        return s;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(from).append("->").append(to).append(' ').append(type).append(" term=").append(term);
        switch (type) {
            case APP -> {
                sb.append(" log=").append(logTerm).append('/').append(index).append(" commit=").append(commit);
                if (!entries.isEmpty()) sb.append(" entries=").append(entries);
            }
            case APP_RESP -> {
                sb.append(reject ? " REJECT" : "").append(" index=").append(index);
                if (reject) sb.append(" hint=").append(rejectHint).append(" hintTerm=").append(logTerm);
            }
            case VOTE, PRE_VOTE -> sb.append(" log=").append(logTerm).append('/').append(index);
            case VOTE_RESP, PRE_VOTE_RESP -> sb.append(reject ? " REJECT" : " GRANT");
            case HEARTBEAT -> sb.append(" commit=").append(commit);
            case SNAP -> sb.append(' ').append(snapshot);
            case PROP -> sb.append(" entries=").append(entries);
            case READ_INDEX, READ_INDEX_RESP -> sb.append(" index=").append(index);
            default -> {}
        }
        if (context.length > 0) sb.append(" ctx=").append(new String(context, java.nio.charset.StandardCharsets.UTF_8));
        return sb.toString();
    }

    public static final class Builder {
        private final MessageType type;
        private long to, from, term, logTerm, index, commit, rejectHint;
        private List<Entry> entries = List.of();
        private Snapshot snapshot;
        private boolean reject;
        private byte[] context = NO_CONTEXT;

        private Builder(MessageType type) {
            this.type = type;
        }

        public Builder to(long v) { to = v; return this; }
        public Builder from(long v) { from = v; return this; }
        public Builder term(long v) { term = v; return this; }
        public Builder logTerm(long v) { logTerm = v; return this; }
        public Builder index(long v) { index = v; return this; }
        public Builder commit(long v) { commit = v; return this; }
        public Builder rejectHint(long v) { rejectHint = v; return this; }
        public Builder entries(List<Entry> v) { entries = v; return this; }
        public Builder snapshot(Snapshot v) { snapshot = v; return this; }
        public Builder reject(boolean v) { reject = v; return this; }
        public Builder context(byte[] v) { context = v; return this; }

        public Message build() {
            return new Message(type, to, from, term, logTerm, index, entries, commit, snapshot, reject, rejectHint, context);
        }
    }
}
