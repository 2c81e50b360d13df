package io.quorumlab.server.api;

import io.quorumlab.mvcc.MvccStore;
import io.quorumlab.mvcc.api.RangeRequest;
import io.quorumlab.mvcc.api.RequestOp;
import io.quorumlab.mvcc.api.TxnRequest;
import io.quorumlab.mvcc.api.TxnResponse;
import java.util.List;

/**
 * A transaction without puts or deletes is served like etcd serves it: from the local store, with no
 * Raft entry (linearizable ones after a ReadIndex barrier). The evaluation itself is the store's own
 * ({@link MvccStore#readOnlyTxn}), so it cannot drift from how applied txns behave.
 */
final class ReadOnlyTxn {
    private ReadOnlyTxn() {}

    static boolean isReadOnly(TxnRequest t) {
        return MvccStore.isReadOnly(t);
    }

    /** Every range in both branches asked for serializable reads: no barrier needed. */
    static boolean isSerializable(TxnRequest t) {
        for (List<RequestOp> ops : List.of(t.success(), t.failure())) {
            for (RequestOp op : ops) if (!(op instanceof RangeRequest r) || !r.serializable()) return false;
        }
        return true;
    }

    static TxnResponse run(MvccStore store, TxnRequest t) {
        return store.readOnlyTxn(t);
    }
}
