package io.quorumlab.bench.load;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** etcd benchmark's put, range, txn-put and txn-mixed over the KV gRPC service. */
public final class KvWorkloads {
    /** Per-call deadline: a call that takes longer is counted as DEADLINE_EXCEEDED. */
    static final long CALL_DEADLINE_SECONDS = 10;

    private KvWorkloads() {}

    static KVGrpc.KVBlockingStub kv(Session s, int client) {
        return KVGrpc.newBlockingStub(s.channel(client));
    }

    static KVGrpc.KVBlockingStub deadline(KVGrpc.KVBlockingStub stub) {
        return stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    static void requirePositive(String flag, long v) {
        if (v <= 0) throw new IllegalArgumentException("expected positive " + flag + ", got " + v);
    }

    /** Key choice shared by put and txn-put: sequential by ticket or uniformly random. */
    record KeyChoice(int keySize, int keySpaceSize, boolean sequential) {
        KeyChoice {
            requirePositive("--key-space-size", keySpaceSize);
            requirePositive("--key-size", keySize);
        }

        long pick(long ticket, SplittableRandom rnd) {
            return sequential ? ticket % keySpaceSize : rnd.nextInt(keySpaceSize);
        }
    }

    /** {@code put}: one Put per request. */
    public static Workload put(int keySize, int valSize, int keySpaceSize, boolean sequentialKeys) {
        KeyChoice keys = new KeyChoice(keySize, keySpaceSize, sequentialKeys);
        return new Workload() {
            @Override
            public String name() {
                return "put";
            }

            @Override
            public List<String> seriesNames() {
                return List.of("put");
            }

            @Override
            public Operation newClient(int index, Session s) {
                KVGrpc.KVBlockingStub stub = kv(s, index);
                SplittableRandom rnd = new SplittableRandom(s.config().seed() * 1_000_003L + index);
                byte[] value = Keys.randomBytes(rnd, valSize);
                return (ticket, due, out) -> {
                    deadline(stub).put(PutRequest.newBuilder().setKey(Keys.key(keys.pick(ticket, rnd), keySize))
                            .setValue(Keys.stamped(value, 0, due)).build());
                    return 0;
                };
            }
        };
    }

    /**
     * {@code range}: a Range of {@code key [end]} when given, else a point Range of a random key of the
     * put workload's key space. Consistency "l" (linearizable) or "s" (serializable).
     */
    public static Workload range(String key, String end, String consistency, long limit, int keySize, int keySpaceSize) {
        boolean serializable = serializable(consistency);
        requirePositive("--key-space-size", keySpaceSize);
        if (limit < 0) throw new IllegalArgumentException("expected --limit >= 0, got " + limit);
        return new Workload() {
            @Override
            public String name() {
                return "range";
            }

            @Override
            public List<String> seriesNames() {
                return List.of("range");
            }

            @Override
            public Operation newClient(int index, Session s) {
                KVGrpc.KVBlockingStub stub = kv(s, index);
                SplittableRandom rnd = new SplittableRandom(s.config().seed() * 1_000_003L + index);
                return (ticket, due, out) -> {
                    RangeRequest.Builder b = RangeRequest.newBuilder().setSerializable(serializable).setLimit(limit);
                    if (key != null) {
                        b.setKey(ByteString.copyFromUtf8(key));
                        if (end != null) b.setRangeEnd(ByteString.copyFromUtf8(end));
                    } else {
                        b.setKey(Keys.key(rnd.nextInt(keySpaceSize), keySize));
                    }
                    deadline(stub).range(b.build());
                    return 0;
                };
            }
        };
    }

    static boolean serializable(String consistency) {
        if ("s".equals(consistency)) return true;
        if ("l".equals(consistency)) return false;
        throw new IllegalArgumentException("--consistency must be l (linearizable) or s (serializable), got " + consistency);
    }

    /** {@code txn-put}: a Txn of {@code txnOps} puts of distinct keys, key {@code (ticket*txnOps + j) % keySpace} as etcd. */
    public static Workload txnPut(int keySize, int valSize, int keySpaceSize, int txnOps) {
        requirePositive("--txn-ops", txnOps);
        requirePositive("--key-space-size", keySpaceSize);
        if (txnOps > keySpaceSize) {
            throw new IllegalArgumentException("expected --txn-ops no larger than --key-space-size, got txn-ops(" + txnOps
                    + ") key-space-size(" + keySpaceSize + ")");
        }
        return new Workload() {
            @Override
            public String name() {
                return "txn-put";
            }

            @Override
            public List<String> seriesNames() {
                return List.of("txn-put");
            }

            @Override
            public Operation newClient(int index, Session s) {
                KVGrpc.KVBlockingStub stub = kv(s, index);
                SplittableRandom rnd = new SplittableRandom(s.config().seed() * 1_000_003L + index);
                byte[] value = Keys.randomBytes(rnd, valSize);
                return (ticket, due, out) -> {
                    TxnRequest.Builder txn = TxnRequest.newBuilder();
                    ByteString v = Keys.stamped(value, 0, due);
                    for (int j = 0; j < txnOps; j++) {
                        long k = (ticket * txnOps + j) % keySpaceSize;
                        txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(Keys.key(k, keySize)).setValue(v)));
                    }
                    deadline(stub).txn(txn.build());
                    return 0;
                };
            }
        };
    }

    /**
     * {@code txn-mixed}: each request is a read with probability rw/(1+rw) — a Txn ranging over the
     * workload's keys ({@code bench/} up to {@code --end-key}, or all of them) with {@code --limit} — else a
     * Txn putting key {@code ticket % keySpace}. Reads and writes are reported as separate series.
     */
    public static Workload txnMixed(int keySize, int valSize, int keySpaceSize, String endKey, long limit, String consistency,
                                    double rwRatio) {
        requirePositive("--key-space-size", keySpaceSize);
        boolean serializable = serializable(consistency);
        if (!(rwRatio >= 0) || Double.isInfinite(rwRatio)) throw new IllegalArgumentException("--rw-ratio must be >= 0");
        double readShare = rwRatio / (1 + rwRatio);
        ByteString from = ByteString.copyFromUtf8(Keys.PREFIX);
        ByteString to = endKey == null || endKey.isEmpty() ? Keys.prefixEnd(from) : ByteString.copyFromUtf8(endKey);
        return new Workload() {
            @Override
            public String name() {
                return "txn-mixed";
            }

            @Override
            public List<String> seriesNames() {
                return List.of("read", "write");
            }

            @Override
            public Operation newClient(int index, Session s) {
                KVGrpc.KVBlockingStub stub = kv(s, index);
                SplittableRandom rnd = new SplittableRandom(s.config().seed() * 1_000_003L + index);
                byte[] value = Keys.randomBytes(rnd, valSize);
                return (ticket, due, out) -> {
                    if (rnd.nextDouble() < readShare) {
                        out.series(0);
                        deadline(stub).txn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestRange(
                                RangeRequest.newBuilder().setKey(from).setRangeEnd(to).setLimit(limit).setSerializable(serializable)))
                                .build());
                        return 0;
                    }
                    out.series(1);
                    deadline(stub).txn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestPut(
                            PutRequest.newBuilder().setKey(Keys.key(ticket % keySpaceSize, keySize)).setValue(Keys.stamped(value, 0, due))))
                            .build());
                    return 1;
                };
            }
        };
    }
}
