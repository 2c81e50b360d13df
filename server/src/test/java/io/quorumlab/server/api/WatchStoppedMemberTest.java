package io.quorumlab.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/**
 * A member that has stopped (fail-stop after a WAL or apply failure) answers every request with
 * "etcdserver: server stopped"; its watch streams must end the same way instead of staying open and
 * silent (a client would wait forever for events that will never come), and new streams are refused.
 * The real fail-stop is {@code io.quorumlab.server.member.WatchFailStopTest}; here the fake member's
 * flag makes the same state at once.
 */
class WatchStoppedMemberTest {

    static void assertStopped(WatchClient w) throws InterruptedException {
        WatchApiTest.waitUntil(() -> w.error != null || w.completed);
        assertNotNull(w.error, "the stream ended without an error");
        Status s = ((StatusRuntimeException) w.error).getStatus();
        assertEquals(Status.Code.UNAVAILABLE, s.getCode(), () -> "status " + s);
        assertEquals("etcdserver: server stopped", s.getDescription());
    }

    @Test
    void streamsEndAndNewOnesAreRefusedOnceTheMemberStopped() throws Exception {
        try (ApiFixture fx = new ApiFixture(); WatchClient w = new WatchClient(fx.watch())) {
            w.create(WatchClient.create("/stop/", "/stop0"));
            assertTrue(w.next().getCreated());
            assertEquals(1, fx.server.openWatchStreams());
            fx.member.stopped = true;
            assertStopped(w);
            WatchApiTest.waitUntil(() -> fx.server.openWatchStreams() == 0);
            try (WatchClient late = new WatchClient(fx.watch())) {
                late.create(WatchClient.create("/stop/", "/stop0"));
                assertStopped(late);
            }
            assertEquals(0, fx.server.openWatchStreams());
        }
    }
}
