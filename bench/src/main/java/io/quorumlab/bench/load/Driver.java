package io.quorumlab.bench.load;

import io.grpc.StatusRuntimeException;
import io.quorumlab.bench.report.RunResult;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

/**
 * Runs a {@link Workload}: {@code clients} request loops (one thread each) under a closed- or open-loop
 * {@link Schedule}, a reporter that drains the series' recorders every {@link #REPORT_INTERVAL_NANOS}
 * (progress, and the HdrHistogram log when asked), and the final {@link RunResult}.
 */
public final class Driver {
    static final long REPORT_INTERVAL_NANOS = 1_000_000_000L;
    /** How long the end of a run waits for loops still inside a call (calls have a 10 s deadline). */
    static final long JOIN_MILLIS = 15_000;

    private Driver() {}

    /** Runs the workload against real endpoints; {@code progress} (may be null) is called about every 250 ms. */
    public static RunResult run(Workload w, LoadConfig cfg, Consumer<Progress> progress) throws InterruptedException {
        List<String> names = new ArrayList<>(w.seriesNames());
        names.addAll(w.extraSeriesNames());
        try (Connections conns = new Connections(cfg); w) {
            Session session = new Session(cfg, conns, Clock.SYSTEM, names);
            PrintStream log = openLog(cfg);
            try {
                w.setUp(session);
                // The request loops' series: progress counts these (not watch events and other extra series).
                List<Series> measured = session.allSeries().subList(0, w.seriesNames().size());
                List<Operation> ops = new ArrayList<>();
                for (int c = 0; c < cfg.clients(); c++) ops.add(w.newClient(c, session));
                long start = System.nanoTime();
                Schedule schedule = new Schedule(start, cfg.totalOps(), cfg.durationNanos(), cfg.ratePerSecond());
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> threads = new ArrayList<>();
                for (int c = 0; c < cfg.clients(); c++) {
                    Operation op = ops.get(c);
                    Thread t = new Thread(() -> {
                        try {
                            loop(Clock.SYSTEM, schedule, op, measured);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        } catch (RuntimeException | Error e) {
                            failure.compareAndSet(null, e);
                        }
                    }, "load-" + w.name() + "-" + c);
                    t.setDaemon(true);
                    threads.add(t);
                    t.start();
                }
                HistogramLogWriter writer = log == null ? null : new HistogramLogWriter(log);
                if (writer != null) {
                    writer.outputLogFormatVersion();
                    writer.outputStartTime(System.currentTimeMillis());
                    writer.setBaseTime(System.currentTimeMillis());
                    writer.outputLegend();
                }
                long lastReport = start;
                while (alive(threads)) {
                    for (Thread t : threads) {
                        t.join(250);
                        if (t.isAlive()) break;
                    }
                    long now = System.nanoTime();
                    if (progress != null) progress.accept(snapshot(w.name(), schedule, measured, now - start));
                    if (now - lastReport >= REPORT_INTERVAL_NANOS) {
                        drain(session.allSeries(), writer, lastReport - start, now - start);
                        lastReport = now;
                    }
                    if (failure.get() != null) break;
                }
                long loadEnd = System.nanoTime();
                for (Thread t : threads) t.join(JOIN_MILLIS);
                if (failure.get() != null) throw new IllegalStateException("a request loop failed: " + failure.get(), failure.get());
                w.finish(session);
                long end = System.nanoTime();
                drain(session.allSeries(), writer, lastReport - start, end - start);
                if (progress != null) progress.accept(snapshot(w.name(), schedule, measured, end - start));
                return result(w, cfg, session.allSeries(), (loadEnd - start) / 1e9);
            } finally {
                if (log != null) log.close();
            }
        }
    }

    /**
     * One request loop. Closed loop: the next request goes when the last answered, latency from its send.
     * Open loop: the loop waits for its ticket's due time and measures latency from that due time, so time
     * a request spent waiting behind a stalled one counts (coordinated omission corrected).
     */
    static void loop(Clock clock, Schedule schedule, Operation op, List<Series> series) throws InterruptedException {
        Operation.Outcome outcome = new Operation.Outcome();
        while (true) {
            long ticket = schedule.nextTicket();
            if (ticket < 0) return;
            long due;
            if (schedule.openLoop()) {
                due = schedule.dueNanos(ticket);
                if (schedule.pastEnd(due)) return;
                clock.sleepUntil(due);
            } else {
                due = clock.nanoTime();
                if (schedule.pastEnd(due)) return;
            }
            outcome.series = 0;
            try {
                int s = op.run(ticket, due, outcome);
                series.get(s).ok(clock.nanoTime() - due);
            } catch (StatusRuntimeException e) {
                series.get(outcome.series).error(e.getStatus().getCode().name());
            }
        }
    }

    private static boolean alive(List<Thread> threads) {
        for (Thread t : threads) if (t.isAlive()) return true;
        return false;
    }

    private static Progress snapshot(String name, Schedule schedule, List<Series> series, long elapsed) {
        long done = 0, errors = 0;
        for (Series s : series) {
            long e = s.errorCount();
            errors += e;
            done += s.okCount() + e;
        }
        return new Progress(name, done, schedule.totalOps(), errors, elapsed, schedule.durationNanos());
    }

    private static void drain(List<Series> series, HistogramLogWriter writer, long fromNanos, long toNanos) {
        for (Series s : series) {
            Histogram h = s.drainInterval();
            if (writer != null && h.getTotalCount() > 0) {
                h.setTag(s.name());
                h.setStartTimeStamp(0);
                writer.outputIntervalHistogram(fromNanos / 1e9, toNanos / 1e9, h, 1e6); // values in ms in the log
            }
        }
    }

    private static PrintStream openLog(LoadConfig cfg) {
        if (cfg.histogramOut() == null) return null;
        try {
            return new PrintStream(Files.newOutputStream(cfg.histogramOut()), false, "US-ASCII");
        } catch (IOException e) {
            throw new UncheckedIOException("--histogram-out " + cfg.histogramOut() + ": " + e.getMessage(), e);
        }
    }

    static RunResult result(Workload w, LoadConfig cfg, List<Series> series, double seconds) {
        List<RunResult.SeriesResult> out = new ArrayList<>();
        for (Series s : series) out.add(RunResult.SeriesResult.of(s.name(), s.okCount(), s.errors(), s.total(), seconds));
        return new RunResult(w.name(), cfg.openLoop() ? "open" : "closed", cfg.ratePerSecond(), cfg.clients(), cfg.conns(),
                cfg.endpoints(), seconds, out, w.counters());
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
