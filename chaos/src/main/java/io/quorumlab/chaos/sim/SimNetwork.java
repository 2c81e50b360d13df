package io.quorumlab.chaos.sim;

import io.quorumlab.raft.Message;
import io.quorumlab.server.peer.PeerTransport;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Links between members: per-message latency (a base plus exponential jitter with a given median, the
 * same distribution on every link, plus any latency step on the link), loss, and partitions (one-way or
 * symmetric). Each link is FIFO like the TCP connection it stands for.
 *
 * <p>A message to a peer across a cut link is handled as {@code NettyPeerTransport} handles a peer it
 * cannot connect to: it is queued (the send succeeds, up to the real per-peer bound of
 * {@value #QUEUE_MESSAGES} messages; beyond it the send returns -1 and the peer is reported unreachable),
 * and each failed reconnect, every {@value #RECONNECT_MILLIS} ms while messages keep coming, drops the
 * queue and reports the peer unreachable to the member (Raft then probes that follower).
 */
public final class SimNetwork {
    private final Sim sim;
    private final SplittableRandom random;
    private final long baseLatencyNanos;
    private final long jitterMedianNanos;
    private double loss;
    private final Map<Long, Endpoint> endpoints = new TreeMap<>();
    private final Set<Long> cutLinks = new HashSet<>();
    /** Per link (key {@link #link}), the arrival time of its latest message: links are FIFO. A linear
     *  table: a simulation has a few dozen links at most (pairs of member ids ever used, members
     *  added by migrations included); it outlives endpoints, as a link's clock must. */
    private long[] linkKeys = new long[8];
    private long[] linkArrivals = new long[8];
    /** Per link slot, one-way latency added by latency-step faults (0 when none is active). */
    private long[] linkExtra = new long[8];
    /** Per link slot, messages queued for a peer across a cut, and when the next failed reconnect reports it. */
    private int[] linkQueued = new int[8];
    private long[] linkNextReport = new long[8];
    private int links;
    private long sent;
    private long unreachableReports;
    /** NettyPeerTransport's per-peer queue bound and reconnect interval. */
    static final int QUEUE_MESSAGES = 4096;
    static final long RECONNECT_MILLIS = 100;
    private long dropped;

    public SimNetwork(Sim sim, long baseLatencyNanos, long jitterMedianNanos) {
        this.sim = sim;
        this.random = sim.split();
        this.baseLatencyNanos = baseLatencyNanos;
        this.jitterMedianNanos = jitterMedianNanos;
    }

    public void setLoss(double p) {
        loss = p;
    }

    private static long link(long from, long to) {
        return from * 1_000_003L + to;
    }

    private int linkSlot(long key) {
        for (int i = 0; i < links; i++) if (linkKeys[i] == key) return i;
        if (links == linkKeys.length) {
            linkKeys = java.util.Arrays.copyOf(linkKeys, links * 2);
            linkArrivals = java.util.Arrays.copyOf(linkArrivals, links * 2);
            linkExtra = java.util.Arrays.copyOf(linkExtra, links * 2);
            linkQueued = java.util.Arrays.copyOf(linkQueued, links * 2);
            linkNextReport = java.util.Arrays.copyOf(linkNextReport, links * 2);
        }
        linkKeys[links] = key;
        linkArrivals[links] = 0;
        linkExtra[links] = 0;
        linkQueued[links] = 0;
        linkNextReport[links] = 0;
        return links++;
    }

    private boolean lost(long from, long to) {
        return (!cutLinks.isEmpty() && cutLinks.contains(link(from, to))) || (loss > 0 && random.nextDouble() < loss);
    }

    /** The arrival time of a message sent now on the link: latency sampled (plus any latency step), never before the previous one. */
    private long arrival(long from, long to) {
        int slot = linkSlot(link(from, to));
        long arrival = Math.max(sim.clock() + sampleLatency() + linkExtra[slot], linkArrivals[slot]);
        linkArrivals[slot] = arrival;
        return arrival;
    }

    /**
     * A latency step on the link from {@code from} to {@code to} (one way): every message sent on it from
     * now on takes {@code nanos} longer (negative to take a step back; overlapping steps add up). Messages
     * already in flight keep their arrival time, and the link stays FIFO.
     */
    public void addLatency(long from, long to, long nanos) {
        int slot = linkSlot(link(from, to));
        long v = linkExtra[slot] + nanos;
        if (v < 0) throw new IllegalStateException("latency step removed twice on link " + from + " -> " + to);
        linkExtra[slot] = v;
    }

    /** Cuts the link from {@code from} to {@code to} (one way). */
    public void cut(long from, long to) {
        cutLinks.add(link(from, to));
    }

    /** Restores the link from {@code from} to {@code to} cut by {@link #cut} (other cuts stay). */
    public void restore(long from, long to) {
        cutLinks.remove(link(from, to));
    }

    public void isolate(long id) {
        for (long other : endpoints.keySet()) {
            if (other != id) {
                cut(id, other);
                cut(other, id);
            }
        }
    }

    public void heal() {
        cutLinks.clear();
    }

    public long sent() {
        return sent;
    }

    public long dropped() {
        return dropped;
    }

    /** Peers reported unreachable to their senders (failed reconnects and full queues across cuts). */
    public long unreachableReports() {
        return unreachableReports;
    }

    private boolean isCut(long from, long to) {
        return !cutLinks.isEmpty() && cutLinks.contains(link(from, to));
    }

    /**
     * A Raft message to a peer across a cut, as the real transport sees a peer it cannot reach: queued
     * (never delivered: the queue is dropped at the next failed reconnect, which reports the peer
     * unreachable), or refused with -1 when the queue is full.
     */
    private long sendAcrossCut(Endpoint src, Message m) {
        sent++;
        dropped++;
        int slot = linkSlot(link(src.id, m.to()));
        long now = sim.clock();
        if (now >= linkNextReport[slot]) {
            // A reconnect attempt fails: its queue is dropped and the member hears the peer is unreachable.
            linkNextReport[slot] = now + RECONNECT_MILLIS * 1_000_000L;
            linkQueued[slot] = 0;
            reportUnreachable(src, m.to());
        }
        if (linkQueued[slot] >= QUEUE_MESSAGES) {
            reportUnreachable(src, m.to());
            return -1;
        }
        linkQueued[slot]++;
        return m.entriesBytes() + 64;
    }

    private void reportUnreachable(Endpoint src, long peer) {
        java.util.function.Consumer<Long> u = src.unreachable;
        if (u == null) return;
        unreachableReports++;
        u.accept(peer); // the member hands it to its own loop (rt.execute), as with the real transport's threads
    }

    /** A one-way delay sample for any link of this network (also used for client traffic). */
    public long sampleLatency() {
        double u = random.nextDouble();
        // Exponential jitter with the given median: cheap, positive, with a tail.
        long jitter = (long) (-Math.log(1 - u) * jitterMedianNanos / Math.log(2));
        return baseLatencyNanos + jitter;
    }

    public PeerTransport endpoint(long id) {
        Endpoint e = new Endpoint(id);
        endpoints.put(id, e);
        return e;
    }

    private void deliver(long from, long to, Message m) {
        sent++;
        if (lost(from, to)) {
            dropped++;
            return;
        }
        sim.at(arrival(from, to), () -> {
            Endpoint dst = endpoints.get(to);
            if (dst != null && dst.inbound != null && !dst.closed) dst.inbound.accept(m);
        });
    }

    private void deliverControl(long from, long to, byte[] payload) {
        sent++;
        if (lost(from, to)) {
            dropped++;
            return;
        }
        sim.at(arrival(from, to), () -> {
            Endpoint dst = endpoints.get(to);
            if (dst != null && dst.control != null && !dst.closed) dst.control.accept(from, payload);
        });
    }

    private final class Endpoint implements PeerTransport {
        final long id;
        java.util.function.BiConsumer<Long, byte[]> control;
        Consumer<Message> inbound;
        Consumer<Long> unreachable;
        boolean closed;

        Endpoint(long id) {
            this.id = id;
        }

        @Override
        public void start(Consumer<Message> inbound, Consumer<Long> unreachable) {
            this.inbound = inbound;
            this.unreachable = unreachable;
            this.closed = false;
        }

        @Override
        public void updatePeers(Map<Long, String> peerUrls) {}

        @Override
        public long send(Message m) {
            if (closed) return -1;
            if (isCut(id, m.to())) return sendAcrossCut(this, m);
            deliver(id, m.to(), m);
            return m.entriesBytes() + 64;
        }

        @Override
        public void sendControl(long to, byte[] payload) {
            if (!closed) deliverControl(id, to, payload);
        }

        @Override
        public void onControl(java.util.function.BiConsumer<Long, byte[]> handler) {
            this.control = handler;
        }

        @Override
        public void close() {
            closed = true;
            if (endpoints.get(id) == this) endpoints.remove(id);
        }
    }
}
