package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RequestCodecTest {
    @Test
    void roundTripsEveryGeneratedRequest() {
        for (long seed = 1; seed <= 50; seed++) {
            Model model = new Model();
            OpGenerator gen = new OpGenerator(seed, model);
            for (int i = 0; i < 100; i++) {
                Request r = gen.next();
                model.apply(r);
                byte[] enc = RequestCodec.encode(r);
                Request back = RequestCodec.decode(enc);
                assertEquals(r.toString(), back.toString(), "seed " + seed);
                assertArrayEquals(enc, RequestCodec.encode(back));
                // The same request behind a prefix (a Raft entry's envelope) decodes without copying it out.
                byte[] framed = new byte[enc.length + 9];
                System.arraycopy(enc, 0, framed, 9, enc.length);
                assertEquals(r.toString(), RequestCodec.decode(framed, 9).toString(), "seed " + seed);
                byte[] prefixed = RequestCodec.encode(r, 9);
                assertArrayEquals(framed, prefixed, "encode with room for a 9-byte envelope, seed " + seed);
            }
        }
        for (Request r : List.of(new CompactionRequest(9, true), new LeaseGrantRequest(60, 7), new LeaseRevokeRequest(7),
                new LeaseCheckpointRequest(List.of(new LeaseCheckpointRequest.Checkpoint(7, 30))),
                new AlarmRequest(AlarmRequest.Action.ACTIVATE, 3, AlarmRequest.AlarmType.NOSPACE))) {
            assertEquals(r, RequestCodec.decode(RequestCodec.encode(r)));
        }
    }

    /** The decode cache answers a repeated decode of the same array, but never from stale bytes. */
    @Test
    void repeatedDecodeOfOneArrayFollowsItsBytes() {
        byte[] entry = RequestCodec.encode(PutRequest.of("/registry/pods/a", "v1"), 4);
        byte[] other = RequestCodec.encode(PutRequest.of("/registry/pods/b", "v2"), 4);
        assertEquals(entry.length, other.length);
        Request first = RequestCodec.decodeShared(entry, 4);
        assertSame(first, RequestCodec.decodeShared(entry, 4), "a second member decoding the same entry array shares the request");
        System.arraycopy(other, 0, entry, 0, entry.length); // a reused buffer: same array, new bytes
        String b = PutRequest.of("/registry/pods/b", "v2").toString();
        assertEquals(b, RequestCodec.decodeShared(entry, 4).toString());
        assertEquals(b, RequestCodec.decodeShared(entry.clone(), 4).toString());
    }

    @Test
    void rejectsGarbageWithoutCrashing() {
        Random rnd = new Random(1);
        byte[] good = RequestCodec.encode(PutRequest.of("k", "v"));
        for (int i = 0; i < 2000; i++) {
            byte[] bad = Arrays.copyOf(good, rnd.nextInt(good.length + 4));
            if (bad.length > 1) bad[1 + rnd.nextInt(bad.length - 1)] = (byte) rnd.nextInt();
            try {
                RequestCodec.decode(bad);
            } catch (IllegalArgumentException expected) {
                // a corrupt entry is rejected, never half-decoded into something else silently
            }
        }
    }
}
