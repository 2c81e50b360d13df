package io.quorumlab.bench.load;

import java.nio.file.Path;
import java.util.List;

/**
 * What every workload shares, named after etcd {@code benchmark}'s global flags.
 *
 * @param endpoints host:port, or http(s)://host:port (https turns TLS on)
 * @param clients concurrent request loops (threads)
 * @param conns gRPC connections the clients share, round robin
 * @param totalOps requests to send, or 0 for a timed run
 * @param durationNanos length of a timed run, or 0 for a counted run
 * @param ratePerSecond 0: closed loop; else open loop at this rate (latency from each request's due time)
 * @param tls client TLS, or null for plaintext
 * @param histogramOut an HdrHistogram log of one interval histogram per series per second, or null
 * @param seed for keys and values
 */
public record LoadConfig(List<String> endpoints, int clients, int conns, long totalOps, long durationNanos,
                         double ratePerSecond, Tls tls, Path histogramOut, long seed) {
    /** Connections above this are refused (each is a socket and an event-loop share). */
    public static final int MAX_CONNS = 1024;
    /** Clients are threads: a bound keeps a typo from starting a million. */
    public static final int MAX_CLIENTS = 10_000;

    public LoadConfig {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) throw new IllegalArgumentException("--endpoints: at least one endpoint is needed");
        if (clients <= 0 || clients > MAX_CLIENTS) throw new IllegalArgumentException("--clients must be in 1.." + MAX_CLIENTS);
        if (conns <= 0 || conns > MAX_CONNS) throw new IllegalArgumentException("--conns must be in 1.." + MAX_CONNS);
        if (totalOps < 0 || durationNanos < 0) throw new IllegalArgumentException("--total and --duration must not be negative");
        if (totalOps == 0 && durationNanos == 0) throw new IllegalArgumentException("give --total or --duration");
        if (totalOps > 0 && durationNanos > 0) throw new IllegalArgumentException("give --total or --duration, not both");
        if (!(ratePerSecond >= 0) || Double.isInfinite(ratePerSecond)) throw new IllegalArgumentException("--rate must be >= 0");
    }

    public boolean openLoop() {
        return ratePerSecond > 0;
    }

    /** A copy with another total/duration/rate (workloads with etcd's own --put-total/--put-rate use it). */
    public LoadConfig withRun(long total, long duration, double rate) {
        return new LoadConfig(endpoints, clients, conns, total, duration, rate, tls, histogramOut, seed);
    }

    /**
     * etcd benchmark's --cacert, --cert, --key (PEM; the key PKCS#8).
     *
     * @param caFile trusted CA bundle, or null for the JVM's default trust store
     * @param certFile client certificate, or null
     * @param keyFile its key, or null
     */
    public record Tls(Path caFile, Path certFile, Path keyFile) {
        public Tls {
            if ((certFile == null) != (keyFile == null)) throw new IllegalArgumentException("--cert and --key go together");
        }
    }
}
