package io.quorumlab.chaos.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The series keeps at most MAX_POINTS rows however long the run, merging rows by each column's rule. */
class TimeSeriesTest {
    static final long SEC = 1_000_000_000L;

    static TimeSeries series() {
        return new TimeSeries(10 * SEC, List.of(new TimeSeries.Column("p99", "ms", TimeSeries.Merge.MAX),
                new TimeSeries.Column("count", "n", TimeSeries.Merge.SUM),
                new TimeSeries.Column("tolerance", "members", TimeSeries.Merge.MIN)));
    }

    @Test
    void shortRunKeepsEveryInterval() {
        TimeSeries s = series();
        double[] row = new double[3];
        for (int i = 1; i <= 5; i++) {
            row[0] = i;
            row[1] = 10;
            row[2] = i % 2;
            s.record(i * 10 * SEC, row);
        }
        s.finish();
        assertEquals(5, s.size());
        assertArrayEquals(new double[] {10, 20, 30, 40, 50}, s.endSeconds());
        assertArrayEquals(new double[] {1, 2, 3, 4, 5}, s.column("p99"));
        assertEquals(10 * SEC, s.rowNanos());
        assertThrows(IllegalArgumentException.class, () -> s.column("nope"));
    }

    @Test
    void longRunIsDownsampledWithinTheBoundAndKeepsTotalsAndExtremes() {
        TimeSeries s = series();
        double[] row = new double[3];
        int intervals = 28 * 8640; // 28 days of 10 s intervals
        double sum = 0;
        for (int i = 1; i <= intervals; i++) {
            row[0] = i == 100_000 ? 5000 : 1 + (i % 7);
            row[1] = i % 3;
            row[2] = i == 200_000 ? -1 : 1;
            sum += row[1];
            s.record(i * 10 * SEC, row);
            assertTrue(s.size() <= TimeSeries.MAX_POINTS, "bounded at interval " + i);
        }
        s.finish();
        assertTrue(s.size() > TimeSeries.MAX_POINTS / 4, "rows: " + s.size());
        double total = 0;
        for (double v : s.column("count")) total += v;
        assertEquals(sum, total, 1e-6, "sums survive merging");
        assertEquals(5000, max(s.column("p99")), "the worst interval survives merging");
        assertEquals(-1, min(s.column("tolerance")), "the lowest tolerance survives merging");
        double[] ends = s.endSeconds();
        assertEquals(intervals * 10.0, ends[ends.length - 1], "the last row ends at the end of the run");
        for (int i = 1; i < ends.length; i++) assertTrue(ends[i] > ends[i - 1]);
        String json = s.toJson("");
        assertTrue(json.contains("\"rowSeconds\": " + s.rowNanos() / SEC), json.substring(0, 200));
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) m = Math.max(m, d);
        return m;
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double d : v) m = Math.min(m, d);
        return m;
    }
}
