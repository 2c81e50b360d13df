package io.quorumlab.mvcc.api;

/** etcdserverpb.AlarmRequest; memberId 0 with GET lists every member's alarms. */
public record AlarmRequest(Action action, long memberId, AlarmType alarm) implements Request {
    /** Ordinals equal etcdserverpb's AlarmAction / AlarmType numbers. */
    public enum Action { GET, ACTIVATE, DEACTIVATE }
    public enum AlarmType { NONE, NOSPACE, CORRUPT }
}
