package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import org.junit.jupiter.api.Test;

/** Our enums' ordinals are etcd's protobuf enum numbers, so the gRPC layer maps by number. */
class ProtoNumbersTest {
    @Test
    void ordinalsMatchEtcdProto() {
        for (RangeRequest.SortOrder o : RangeRequest.SortOrder.values()) {
            assertEquals(o.name(), io.etcd.jetcd.api.RangeRequest.SortOrder.forNumber(o.ordinal()).name());
        }
        for (RangeRequest.SortTarget t : RangeRequest.SortTarget.values()) {
            assertEquals(t.name(), io.etcd.jetcd.api.RangeRequest.SortTarget.forNumber(t.ordinal()).name());
        }
        for (Compare.Result r : Compare.Result.values()) {
            assertEquals(r.name(), io.etcd.jetcd.api.Compare.CompareResult.forNumber(r.ordinal()).name());
        }
        for (Compare.Target t : Compare.Target.values()) {
            if (t == Compare.Target.LEASE) continue; // jetcd-grpc 0.8.3's proto predates LEASE (number 4 in etcd)
            assertEquals(t.name(), io.etcd.jetcd.api.Compare.CompareTarget.forNumber(t.ordinal()).name());
        }
        assertEquals(4, Compare.Target.LEASE.ordinal());
        for (Event.Type t : Event.Type.values()) {
            assertEquals(t.name(), io.etcd.jetcd.api.Event.EventType.forNumber(t.ordinal()).name());
        }
        for (AlarmRequest.Action a : AlarmRequest.Action.values()) {
            assertEquals(a.name(), io.etcd.jetcd.api.AlarmRequest.AlarmAction.forNumber(a.ordinal()).name());
        }
        for (AlarmRequest.AlarmType a : AlarmRequest.AlarmType.values()) {
            if (a == AlarmRequest.AlarmType.CORRUPT) continue; // jetcd-grpc 0.8.3's proto predates CORRUPT (2 in etcd)
            assertEquals(a.name(), io.etcd.jetcd.api.AlarmType.forNumber(a.ordinal()).name());
        }
        assertEquals(2, AlarmRequest.AlarmType.CORRUPT.ordinal());
    }
}
