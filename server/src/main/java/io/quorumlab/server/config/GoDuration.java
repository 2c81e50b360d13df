package io.quorumlab.server.config;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * Go's {@code time.ParseDuration} and {@code Duration.String}, because etcd's duration flags
 * ({@code --grpc-keepalive-interval=2h}, {@code --backend-batch-interval=100ms}) use that syntax:
 * a sequence of decimal numbers with a unit each ({@code ns us µs ms s m h}), e.g. {@code 1h30m},
 * {@code 1.5s}, {@code -2m}. A bare {@code 0} is the only number allowed without a unit.
 */
public final class GoDuration {

    private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);

    private GoDuration() {
    }

    /**
     * Parses a Go duration.
     *
     * @throws IllegalArgumentException with Go's message ({@code time: invalid duration "x"},
     *     {@code time: missing unit in duration "1"}, {@code time: unknown unit "d" in duration "1d"})
     */
    public static Duration parse(String text) {
        if (text == null) throw new IllegalArgumentException("time: invalid duration \"\"");
        String s = text;
        boolean negative = false;
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) return Duration.ZERO;
        if (s.isEmpty()) throw invalid(text);
        BigDecimal nanos = BigDecimal.ZERO;
        int i = 0;
        while (i < s.length()) {
            int numberStart = i;
            int digits = 0;
            while (i < s.length() && Character.isDigit(s.charAt(i))) { i++; digits++; }
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                while (i < s.length() && Character.isDigit(s.charAt(i))) { i++; digits++; }
            }
            if (digits == 0) throw invalid(text);
            BigDecimal number = new BigDecimal(s.substring(numberStart, i).endsWith(".")
                    ? s.substring(numberStart, i - 1) : s.substring(numberStart, i));
            int unitStart = i;
            while (i < s.length() && s.charAt(i) != '.' && !Character.isDigit(s.charAt(i))) i++;
            if (unitStart == i) throw new IllegalArgumentException("time: missing unit in duration \"" + text + "\"");
            String unit = s.substring(unitStart, i);
            long unitNanos = switch (unit) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> throw new IllegalArgumentException(
                        "time: unknown unit \"" + unit + "\" in duration \"" + text + "\"");
            };
            nanos = nanos.add(number.multiply(BigDecimal.valueOf(unitNanos)));
            if (nanos.compareTo(MAX_NANOS) > 0) throw invalid(text);
        }
        long n = nanos.longValue();
        return Duration.ofNanos(negative ? -n : n);
    }

    /** Formats like Go's {@code Duration.String()}: {@code 2h0m0s}, {@code 10m0s}, {@code 5s}, {@code 100ms}, {@code 0s}. */
    public static String format(Duration duration) {
        long nanos = duration.toNanos();
        if (nanos == 0) return "0s";
        StringBuilder out = new StringBuilder();
        if (nanos < 0) {
            out.append('-');
            nanos = -nanos;
        }
        if (nanos < 1_000_000_000L) {
            if (nanos < 1_000L) return out.append(nanos).append("ns").toString();
            if (nanos < 1_000_000L) return out.append(fraction(nanos, 1_000L)).append("µs").toString();
            return out.append(fraction(nanos, 1_000_000L)).append("ms").toString();
        }
        long hours = nanos / 3_600_000_000_000L;
        long minutes = nanos / 60_000_000_000L % 60;
        long secondNanos = nanos % 60_000_000_000L;
        if (hours > 0) out.append(hours).append('h');
        if (hours > 0 || minutes > 0) out.append(minutes).append('m');
        return out.append(fraction(secondNanos, 1_000_000_000L)).append('s').toString();
    }

    private static String fraction(long value, long unit) {
        return BigDecimal.valueOf(value).divide(BigDecimal.valueOf(unit)).stripTrailingZeros().toPlainString();
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("time: invalid duration \"" + text + "\"");
    }
}
