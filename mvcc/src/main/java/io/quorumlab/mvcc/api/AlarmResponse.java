package io.quorumlab.mvcc.api;

import java.util.List;

public record AlarmResponse(ResponseHeader header, List<Member> alarms) implements Response {
    public record Member(long memberId, AlarmRequest.AlarmType alarm) {}

    public AlarmResponse { alarms = List.copyOf(alarms); }
}
