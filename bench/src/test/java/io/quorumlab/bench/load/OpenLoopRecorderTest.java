package io.quorumlab.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * The request loop's latency accounting against a synthetic server that answers in 1 ms but stalls for
 * one second at t = 1 s, on a fake clock (no wall time): open loop charges every request the stall
 * delayed; closed loop sees a single slow request (coordinated omission).
 */
class OpenLoopRecorderTest {
    static final long MS = 1_000_000L;

    /** A fake clock; the "server" advances it by its service time. */
    static final class FakeClock implements Clock {
        long now;

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void sleepUntil(long nanos) {
            now = Math.max(now, nanos);
        }
    }

    /** 1 ms per request, except that a request arriving during [1 s, 2 s) waits until 2 s. */
    static Operation stalledServer(FakeClock clock) {
        return (ticket, due, out) -> {
            if (clock.now >= 1000 * MS && clock.now < 2000 * MS) clock.now = 2000 * MS;
            clock.now += MS;
            return 0;
        };
    }

    static Histogram run(double rate, long total) throws InterruptedException {
        FakeClock clock = new FakeClock();
        Series s = new Series("op");
        Driver.loop(clock, new Schedule(0, total, 0, rate), stalledServer(clock), List.of(s));
        assertEquals(total, s.okCount());
        s.drainInterval();
        return s.total();
    }

    @Test
    void openLoopChargesTheStallToEveryDelayedRequest() throws InterruptedException {
        // 100 requests/s for 10 s: due every 10 ms. The stall delays the request due at 1.000 s by 1000 ms; the
        // backlog then drains at 9 ms per request (10 ms apart, 1 ms each): 1000, 991, 982, ... ms.
        Histogram h = run(100, 1000);
        assertEquals(1000 * MS + MS, h.getMaxValue(), (double) MS);
        long delayed = h.getCountBetweenValues(2 * MS, h.getMaxValue());
        assertEquals(112, delayed, 1, "requests charged for the stall");
        // Mean of the delayed latencies ~ 500 ms: p95 of 1000 requests lies inside the stall's tail.
        assertTrue(h.getValueAtPercentile(95) > 400 * MS, "p95 " + h.getValueAtPercentile(95) / 1e6 + " ms");
        assertEquals(MS, h.getValueAtPercentile(50), MS / 100.0, "undisturbed requests take 1 ms");
    }

    @Test
    void closedLoopSeesOneSlowRequest() throws InterruptedException {
        // The same server without a schedule: the loop simply waits, and only the stalled request is slow.
        Histogram h = run(0, 3000); // back to back, 1 ms each: 3 s of requests
        assertEquals(1, h.getCountBetweenValues(2 * MS, Long.MAX_VALUE / 2));
        assertTrue(h.getValueAtPercentile(99.9) <= MS + MS / 100, "p99.9 " + h.getValueAtPercentile(99.9));
    }

    @Test
    void openLoopTimedRunStopsIssuingAtTheEnd() throws InterruptedException {
        FakeClock clock = new FakeClock();
        Series s = new Series("op");
        Driver.loop(clock, new Schedule(0, 0, 500 * MS, 100), stalledServer(clock), List.of(s));
        assertEquals(50, s.okCount(), "due times 0, 10, ..., 490 ms");
    }
}
