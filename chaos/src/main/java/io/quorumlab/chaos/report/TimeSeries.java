package io.quorumlab.chaos.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Columns of values over virtual time, one row per sampling interval, in bounded memory: at most
 * {@link #MAX_POINTS} rows are kept; when full, adjacent rows merge pairwise (per column: the
 * maximum, minimum or sum of the two) and later rows cover twice as many intervals. A 28-day run
 * sampled every 10 s thus keeps ~1000 rows of ~40 min each. Recording allocates nothing.
 */
public final class TimeSeries {
    /** Rows kept at most (even, so rows merge pairwise). */
    public static final int MAX_POINTS = 1024;

    /** How two rows of a column merge: latency percentiles keep the worse one, counters add up. */
    public enum Merge { MAX, MIN, SUM }

    /** One column: its JSON name, the unit shown on a chart, and how rows merge. */
    public record Column(String name, String unit, Merge merge) {}

    private final long intervalNanos;
    private final List<Column> columns;
    private final double[][] values;
    private final long[] endNanos = new long[MAX_POINTS];
    private final double[] pending;
    private int size;
    /** Sampling intervals per row now (doubles at each merge). */
    private int intervalsPerRow = 1;
    private int pendingIntervals;
    private long pendingEnd;

    public TimeSeries(long intervalNanos, List<Column> columns) {
        if (intervalNanos <= 0 || columns.isEmpty()) throw new IllegalArgumentException("interval and columns required");
        this.intervalNanos = intervalNanos;
        this.columns = List.copyOf(columns);
        this.values = new double[columns.size()][MAX_POINTS];
        this.pending = new double[columns.size()];
    }

    /** A finished series (from its rows), e.g. for tests. */
    private TimeSeries(long intervalNanos, List<Column> columns, long[] ends, double[][] rows, int size, int perRow) {
        this(intervalNanos, columns);
        System.arraycopy(ends, 0, endNanos, 0, size);
        for (int c = 0; c < columns.size(); c++) System.arraycopy(rows[c], 0, values[c], 0, size);
        this.size = size;
        this.intervalsPerRow = perRow;
    }

    /** Records one sampling interval ending at {@code endNanos}; {@code row} is read, not kept. */
    public void record(long endNanos, double[] row) {
        if (row.length != columns.size()) throw new IllegalArgumentException("row has " + row.length + " values, not " + columns.size());
        if (pendingIntervals == 0) {
            System.arraycopy(row, 0, pending, 0, row.length);
        } else {
            for (int c = 0; c < row.length; c++) pending[c] = merge(columns.get(c).merge(), pending[c], row[c]);
        }
        pendingIntervals++;
        pendingEnd = endNanos;
        if (pendingIntervals == intervalsPerRow) flush();
    }

    /** Ends the series: a partly filled last row is kept (it covers less time than the others). */
    public void finish() {
        if (pendingIntervals > 0) flush();
    }

    private void flush() {
        for (int c = 0; c < pending.length; c++) values[c][size] = pending[c];
        endNanos[size] = pendingEnd;
        size++;
        pendingIntervals = 0;
        if (size == MAX_POINTS) halve();
    }

    private void halve() {
        for (int c = 0; c < values.length; c++) {
            Merge m = columns.get(c).merge();
            double[] v = values[c];
            for (int i = 0; i < MAX_POINTS / 2; i++) v[i] = merge(m, v[2 * i], v[2 * i + 1]);
        }
        for (int i = 0; i < MAX_POINTS / 2; i++) endNanos[i] = endNanos[2 * i + 1];
        size = MAX_POINTS / 2;
        intervalsPerRow *= 2;
    }

    private static double merge(Merge m, double a, double b) {
        if (m == Merge.MAX) return Math.max(a, b);
        if (m == Merge.MIN) return Math.min(a, b);
        return a + b;
    }

    public int size() {
        return size;
    }

    public List<Column> columns() {
        return columns;
    }

    /** Virtual time covered by one row now. */
    public long rowNanos() {
        return intervalNanos * intervalsPerRow;
    }

    public long intervalNanos() {
        return intervalNanos;
    }

    /** End of each row in virtual seconds. */
    public double[] endSeconds() {
        double[] out = new double[size];
        for (int i = 0; i < size; i++) out[i] = endNanos[i] / 1e9;
        return out;
    }

    /** A column's values, one per row. */
    public double[] column(String name) {
        for (int c = 0; c < columns.size(); c++) {
            if (columns.get(c).name().equals(name)) return Arrays.copyOf(values[c], size);
        }
        throw new IllegalArgumentException("no series " + name + " (" + names() + ")");
    }

    public List<String> names() {
        List<String> n = new ArrayList<>();
        for (Column c : columns) n.add(c.name());
        return n;
    }

    /** Deterministic JSON: {"intervalSeconds": .., "rowSeconds": .., "endSeconds": [..], "NAME": [..], ...}. */
    public String toJson(String indent) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append(indent).append("  \"intervalSeconds\": ").append(fmt(intervalNanos / 1e9)).append(",\n");
        sb.append(indent).append("  \"rowSeconds\": ").append(fmt(rowNanos() / 1e9)).append(",\n");
        array(sb, indent, "endSeconds", endSeconds());
        for (int c = 0; c < columns.size(); c++) {
            sb.append(",\n");
            array(sb, indent, columns.get(c).name(), Arrays.copyOf(values[c], size));
        }
        sb.append('\n').append(indent).append('}');
        return sb.toString();
    }

    private static void array(StringBuilder sb, String indent, String name, double[] v) {
        sb.append(indent).append("  \"").append(name).append("\": [");
        for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ", ").append(fmt(v[i]));
        sb.append(']');
    }

    static String fmt(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
        return String.format(Locale.ROOT, "%.3f", d);
    }

    /** A copy that no longer records (what a result keeps). */
    public TimeSeries snapshot() {
        return new TimeSeries(intervalNanos, columns, endNanos, values, size, intervalsPerRow);
    }
}
