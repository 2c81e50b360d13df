package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Request checks etcd makes before proposing, with its exact messages. */
class ValidationTest {
    static byte[] b(String s) { return Bytes.of(s); }

    static String msg(Request r) {
        try (MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread().withMaxTxnOps(4))) {
            s.apply(0, PutRequest.of("exists", "v"));
            s.apply(0, r);
            return "ok";
        } catch (MvccException e) {
            return e.getMessage();
        }
    }

    static TxnRequest txn(List<RequestOp> then, List<RequestOp> otherwise) { return new TxnRequest(List.of(), then, otherwise); }

    @Test
    void etcdMessages() {
        assertEquals("etcdserver: key is not provided", msg(PutRequest.of(Bytes.EMPTY, b("v"))));
        assertEquals("etcdserver: key is not provided", msg(RangeRequest.key(Bytes.EMPTY)));
        assertEquals("etcdserver: value is provided", msg(new PutRequest(b("exists"), b("x"), 0, false, true, false)));
        assertEquals("etcdserver: lease is provided", msg(new PutRequest(b("exists"), b("x"), 5, false, false, true)));
        assertEquals("etcdserver: key not found", msg(new PutRequest(b("missing"), Bytes.EMPTY, 0, false, true, false)));
        assertEquals("etcdserver: requested lease not found", msg(new PutRequest(b("k"), b("x"), 5, false, false, false)));

        List<RequestOp> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) five.add(PutRequest.of("k" + i, "v"));
        assertEquals("etcdserver: too many operations in txn request", msg(txn(five, List.of())));
        assertEquals("ok", msg(txn(five.subList(0, 4), five.subList(0, 4))));

        PutRequest pa = PutRequest.of("a", "1");
        assertEquals("etcdserver: duplicate key given in txn request", msg(txn(List.of(pa, pa), List.of())));
        assertEquals("etcdserver: duplicate key given in txn request",
                msg(txn(List.of(pa, new DeleteRangeRequest(b("0"), b("z"), false)), List.of())));
        assertEquals("ok", msg(txn(List.of(DeleteRangeRequest.key(b("a")), new DeleteRangeRequest(b("0"), b("z"), false)), List.of())));
        // then/else of one nested txn are exclusive: the same key in both is fine, beside a sibling put it is not.
        assertEquals("ok", msg(txn(List.of(txn(List.of(pa), List.of(pa))), List.of())));
        assertEquals("etcdserver: duplicate key given in txn request", msg(txn(List.of(txn(List.of(pa), List.of()), pa), List.of())));
        assertEquals("etcdserver: duplicate key given in txn request",
                msg(txn(List.of(txn(List.of(pa), List.of()), DeleteRangeRequest.key(b("a"))), List.of())));
        assertEquals("ok", msg(txn(List.of(pa), List.of(pa))));
        // etcd 3.4 quirk kept: a from-key delete is invisible to the duplicate check...
        assertEquals("ok", msg(txn(List.of(pa, new DeleteRangeRequest(b("a"), Bytes.FROM_KEY, false)), List.of())));
        // ...but an ignore_value put after it would have no previous value (etcd panics): refused up front.
        assertEquals("etcdserver: key not found", msg(txn(List.of(new DeleteRangeRequest(b("a"), Bytes.FROM_KEY, false),
                new PutRequest(b("exists"), Bytes.EMPTY, 0, false, true, false)), List.of())));
        assertEquals("etcdserver: mvcc: required revision is a future revision",
                msg(txn(List.of(RangeRequest.builder(b("a")).revision(99).build()), List.of())));
        assertEquals("etcdserver: mvcc: required revision is a future revision", msg(new CompactionRequest(99, false)));
    }

    @Test
    void grpcCodes() {
        assertEquals("OUT_OF_RANGE", ErrorCode.COMPACTED.grpcCode());
        assertEquals("INVALID_ARGUMENT", ErrorCode.DUPLICATE_KEY.grpcCode());
        assertEquals("NOT_FOUND", ErrorCode.LEASE_NOT_FOUND.grpcCode());
        assertEquals("FAILED_PRECONDITION", ErrorCode.LEASE_EXISTS.grpcCode());
        assertEquals("RESOURCE_EXHAUSTED", ErrorCode.NO_SPACE.grpcCode());
    }
}
