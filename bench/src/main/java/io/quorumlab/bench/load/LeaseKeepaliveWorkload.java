package io.quorumlab.bench.load;

import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * etcd benchmark's {@code lease-keepalive}: each client grants a lease (TTL 100 s, as etcd's) before the
 * measured run, then sends one LeaseKeepAlive on its own stream per request and waits for the answer.
 * A keep-alive answered with TTL 0 (lease not found) is a NOT_FOUND error.
 */
public final class LeaseKeepaliveWorkload implements Workload {
    static final long TTL_SECONDS = 100;

    private final ConcurrentLinkedQueue<Client> clients = new ConcurrentLinkedQueue<>();
    private final AtomicLong granted = new AtomicLong();

    @Override
    public String name() {
        return "lease-keepalive";
    }

    @Override
    public List<String> seriesNames() {
        return List.of("keepalive");
    }

    @Override
    public Operation newClient(int index, Session s) {
        Client c = new Client(s, index);
        clients.add(c);
        c.grant(); // unmeasured, as etcd's benchmark grants before its loop
        return (ticket, due, out) -> {
            c.keepAlive();
            return 0;
        };
    }

    @Override
    public Map<String, Long> counters() {
        return Map.of("leasesGranted", granted.get());
    }

    @Override
    public void close() {
        for (Client c : clients) c.close();
    }

    private final class Client {
        private final Session session;
        private final int index;
        private long leaseId;
        private StreamObserver<LeaseKeepAliveRequest> stream;
        /** Answers of the one outstanding keep-alive (bounded: one request in flight per client). */
        private BlockingQueue<Object> answers;

        Client(Session session, int index) {
            this.session = session;
            this.index = index;
        }

        void grant() {
            leaseId = LeaseGrpc.newBlockingStub(session.channel(index)).withDeadlineAfter(KvWorkloads.CALL_DEADLINE_SECONDS, TimeUnit.SECONDS)
                    .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(TTL_SECONDS).build()).getID();
            granted.incrementAndGet();
        }

        void keepAlive() {
            if (stream == null) {
                BlockingQueue<Object> q = new ArrayBlockingQueue<>(4);
                answers = q;
                stream = LeaseGrpc.newStub(session.channel(index)).leaseKeepAlive(new StreamObserver<>() {
                    @Override
                    public void onNext(LeaseKeepAliveResponse r) {
                        q.offer(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        q.offer(t);
                    }

                    @Override
                    public void onCompleted() {
                        q.offer(Status.UNAVAILABLE.withDescription("keep-alive stream closed").asRuntimeException());
                    }
                });
            }
            stream.onNext(LeaseKeepAliveRequest.newBuilder().setID(leaseId).build());
            Object a;
            try {
                a = answers.poll(KvWorkloads.CALL_DEADLINE_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
            }
            if (a instanceof LeaseKeepAliveResponse r) {
                if (r.getTTL() <= 0) throw Status.NOT_FOUND.withDescription("etcdserver: requested lease not found").asRuntimeException();
                return;
            }
            resetStream();
            if (a == null) throw Status.DEADLINE_EXCEEDED.withDescription("no keep-alive answer").asRuntimeException();
            throw Status.fromThrowable((Throwable) a).asRuntimeException();
        }

        private void resetStream() {
            StreamObserver<LeaseKeepAliveRequest> s = stream;
            stream = null;
            if (s != null) {
                try {
                    s.onError(Status.CANCELLED.asRuntimeException());
                } catch (RuntimeException e) {
                    // already closed
                }
            }
        }

        void close() {
            try {
                if (stream != null) stream.onCompleted();
                if (leaseId != 0) {
                    LeaseGrpc.newBlockingStub(session.channel(index)).withDeadlineAfter(2, TimeUnit.SECONDS)
                            .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leaseId).build());
                }
            } catch (RuntimeException e) {
                // best effort: the lease expires by itself after its TTL
            }
        }
    }
}
