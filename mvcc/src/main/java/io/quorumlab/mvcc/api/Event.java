package io.quorumlab.mvcc.api;

/** mvccpb.Event; {@code prevKv} is null unless the watcher asked for it and it was not compacted. */
public record Event(Type type, KeyValue kv, KeyValue prevKv) {
    /** Ordinals equal mvccpb.Event.EventType numbers. */
    public enum Type { PUT, DELETE }

    public Event withPrevKv(KeyValue prev) { return new Event(type, kv, prev); }
}
