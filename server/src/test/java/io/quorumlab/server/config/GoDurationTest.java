package io.quorumlab.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {

    @ParameterizedTest
    @CsvSource({
            "0, 0",
            "100ms, 100000000",
            "5s, 5000000000",
            "10m, 600000000000",
            "2h, 7200000000000",
            "1h30m, 5400000000000",
            "1.5s, 1500000000",
            ".5s, 500000000",
            "1.s, 1000000000",
            "250us, 250000",
            "250µs, 250000",
            "7ns, 7",
            "-2m, -120000000000",
            "+3s, 3000000000",
            "1m0.5s, 60500000000",
    })
    void parsesGoSyntax(String text, long nanos) {
        assertEquals(Duration.ofNanos(nanos), GoDuration.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "s", "-", ".s", "3000000h"})
    void rejectsInvalid(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GoDuration.parse(text));
        assertEquals("time: invalid duration \"" + text + "\"", e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"100, time: missing unit in duration \"100\"", "1d, time: unknown unit \"d\" in duration \"1d\"", "1.2.3s, time: missing unit in duration \"1.2.3s\""})
    void explainsUnits(String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> GoDuration.parse(text)).getMessage());
    }

    @ParameterizedTest
    @CsvSource({"0, 0s", "7, 7ns", "1500, 1.5µs", "100000000, 100ms", "5000000000, 5s", "600000000000, 10m0s",
            "7200000000000, 2h0m0s", "5400500000000, 1h30m0.5s", "-1000000000, -1s"})
    void formatsLikeGo(long nanos, String text) {
        assertEquals(text, GoDuration.format(Duration.ofNanos(nanos)));
        assertEquals(Duration.ofNanos(nanos), GoDuration.parse(text));
    }
}
