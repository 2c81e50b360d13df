package io.quorumlab.chaos.sim;

/**
 * The cluster's API load: a base rate per API server, a daily curve peaking in the afternoon, and
 * deployment bursts (more API traffic, and image pulls written to each node's disk).
 *
 * @param apiRequestsPerSecond mean API requests per second per API server at the daily average
 * @param etcdCallsPerApiRequest share of API requests that reach etcd (the rest hit the watch cache)
 * @param writeFraction share of etcd calls that are writes
 * @param auditBytesPerRequest audit and log bytes an API request appends on its node
 * @param valueBytes size of an object written to etcd
 * @param dailyAmplitude relative swing of the daily curve (0.6: trough 0.4x, peak 1.6x at 14:00)
 * @param burstsPerDay mean deployment bursts per day (Poisson, during 08:00-20:00)
 * @param burstMinutes length of one burst
 * @param burstMultiplier API rate multiplier during a burst
 * @param burstImageBytes bytes each node writes (image pulls, container logs) over one burst
 * @param burstImageMBps how fast those bytes arrive (the pull's network rate)
 * @param requestWeight how many real API requests one simulated request stands for (1: each is
 *        simulated). A weighted request arrives {@code requestWeight} times less often; its bytes are
 *        charged {@code requestWeight} times on the devices (audit/log bytes on its node; the WAL and
 *        backend bytes of the etcd member, see {@code SimRuntime}'s byte scale) while the member code
 *        carries one object's value, so the cost of a simulated second does not grow with the weight;
 *        request counts and latency histograms count it {@code requestWeight} times. What it changes:
 *        etcd sees fewer proposals, so the WAL issues up to that many times fewer fdatasyncs at low
 *        load (at high load etcd batches anyway). docs/simulator.md gives the measured effect on the
 *        outputs.
 */
public record Workload(double apiRequestsPerSecond, double etcdCallsPerApiRequest, double writeFraction,
                       int auditBytesPerRequest, int valueBytes, double dailyAmplitude, double burstsPerDay,
                       double burstMinutes, double burstMultiplier, long burstImageBytes, double burstImageMBps,
                       int requestWeight) {
    static final long HOUR = 3_600_000_000_000L;
    static final long DAY = 24 * HOUR;
    public static final int MAX_REQUEST_WEIGHT = 1000;

    public Workload {
        if (requestWeight < 1 || requestWeight > MAX_REQUEST_WEIGHT) {
            throw new IllegalArgumentException("requestWeight must be 1.." + MAX_REQUEST_WEIGHT + ", not " + requestWeight);
        }
        if (valueBytes < 0 || valueBytes > 1_400_000) {
            throw new IllegalArgumentException("valueBytes must stay under etcd's 1.5 MiB request limit, not " + valueBytes + " B");
        }
    }

    /** Every request simulated (weight 1). */
    public Workload(double apiRequestsPerSecond, double etcdCallsPerApiRequest, double writeFraction,
                    int auditBytesPerRequest, int valueBytes, double dailyAmplitude, double burstsPerDay,
                    double burstMinutes, double burstMultiplier, long burstImageBytes, double burstImageMBps) {
        this(apiRequestsPerSecond, etcdCallsPerApiRequest, writeFraction, auditBytesPerRequest, valueBytes, dailyAmplitude,
                burstsPerDay, burstMinutes, burstMultiplier, burstImageBytes, burstImageMBps, 1);
    }

    /** A mid-size production cluster: ~100 etcd writes/s at the daily average across three API servers. */
    public static Workload defaults() {
        return new Workload(250, 0.6, 0.35, 2500, 1500, 0.6, 3, 15, 3, 3L << 30, 80);
    }

    /** The same workload at another base rate (the sweep's {@code load}). */
    public Workload withApiRequestsPerSecond(double rate) {
        if (!(rate > 0)) throw new IllegalArgumentException("apiRequestsPerSecond must be positive, not " + rate);
        return new Workload(rate, etcdCallsPerApiRequest, writeFraction, auditBytesPerRequest, valueBytes, dailyAmplitude,
                burstsPerDay, burstMinutes, burstMultiplier, burstImageBytes, burstImageMBps, requestWeight);
    }

    /** The same workload with each simulated request standing for {@code weight} real ones. */
    public Workload withRequestWeight(int weight) {
        return new Workload(apiRequestsPerSecond, etcdCallsPerApiRequest, writeFraction, auditBytesPerRequest, valueBytes,
                dailyAmplitude, burstsPerDay, burstMinutes, burstMultiplier, burstImageBytes, burstImageMBps, weight);
    }

    /** The same workload without the daily curve (every hour at the average rate). */
    public Workload flat() {
        return new Workload(apiRequestsPerSecond, etcdCallsPerApiRequest, writeFraction, auditBytesPerRequest, valueBytes,
                0.0, burstsPerDay, burstMinutes, burstMultiplier, burstImageBytes, burstImageMBps, requestWeight);
    }

    /** The daily curve at virtual time {@code nowNanos} (1.0 on average). */
    double daily(long nowNanos) {
        double hours = (nowNanos % DAY) / (double) HOUR;
        return 1 + dailyAmplitude * Math.sin(2 * Math.PI * (hours - 8) / 24);
    }

    /** The hour of day (0-23) of a virtual time. */
    static int hourOfDay(long nowNanos) {
        return (int) ((nowNanos % DAY) / HOUR);
    }

    /** Writes per second reaching etcd from all API servers at the daily average. */
    double etcdWritesPerSecond(int apiServers) {
        return apiRequestsPerSecond * apiServers * etcdCallsPerApiRequest * writeFraction;
    }
}
