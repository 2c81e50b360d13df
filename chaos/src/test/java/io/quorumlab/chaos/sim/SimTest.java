package io.quorumlab.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The event queue must run events in exactly (time, scheduling order), whatever mix of "now" and
 * future events, ties and nested scheduling a model produces: checked against a plain sorted queue.
 */
class SimTest {
    private record Ref(long at, long seq, int id) {}

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 7777})
    void runsEventsInTimeThenSchedulingOrder(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Sim sim = new Sim(seed);
        PriorityQueue<Ref> ref = new PriorityQueue<>(Comparator.comparingLong(Ref::at).thenComparingLong(Ref::seq));
        List<Integer> ran = new ArrayList<>();
        List<Integer> expected = new ArrayList<>();
        long[] refSeq = {0};
        int[] nextId = {0};
        // Each event, when run, schedules 0-3 more: some now, some at a coarse future time (ties), some far.
        class Scheduler {
            void schedule(long at) {
                int id = nextId[0]++;
                long when = Math.max(at, sim.now());
                ref.add(new Ref(when, refSeq[0]++, id));
                sim.at(at, () -> {
                    ran.add(id);
                    if (nextId[0] < 20_000) {
                        int n = r.nextInt(4);
                        for (int i = 0; i < n; i++) {
                            int kind = r.nextInt(4);
                            long t = kind == 0 ? sim.now() : kind == 1 ? sim.now() - 5 // the past is "now"
                                    : kind == 2 ? (sim.now() / 1000 + 1 + r.nextInt(3)) * 1000 : sim.now() + r.nextInt(1_000_000);
                            schedule(t);
                        }
                    }
                });
            }
        }
        Scheduler s = new Scheduler();
        for (int i = 0; i < 50; i++) s.schedule(r.nextInt(5000));
        long until = 0;
        while (sim.queuedEvents() > 0) {
            until += 1 + r.nextInt(200_000);
            sim.runUntil(until);
        }
        Ref e;
        while ((e = ref.poll()) != null) expected.add(e.id());
        assertEquals(expected, ran, "replay: mvn -pl chaos -am test -Dtest=SimTest (seed " + seed + ")");
        assertEquals(ran.size(), sim.executedEvents());
    }
}
