package io.quorumlab.raft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The log storage contract, run against {@link MemoryLogStorage} and {@link OffHeapLogStorage} alike
 * (tiny chunks so that every entry crosses chunk boundaries), then what only the off-heap one has
 * (chunks reused through the free list, the direct-memory ceiling), then a seeded differential run of
 * random operations against MemoryLogStorage: {@code -Draft.offheap.seeds=N} (default 300) or
 * {@code -Draft.offheap.seed=S} to replay one; a failure prints its seed and replay command.
 */
class OffHeapLogStorageTest {

    /** MemoryLogStorage's mutators, which LogStorage does not declare. */
    interface Log extends LogStorage {
        void append(List<Entry> es);

        void compact(long i);

        void applySnapshot(Snapshot s);

        Snapshot createSnapshot(long i, ConfState cs, byte[] data);
    }

    static Log memory() {
        MemoryLogStorage m = new MemoryLogStorage();
        return new Log() {
            public InitialState initialState() { return m.initialState(); }
            public List<Entry> entries(long lo, long hi, long maxBytes) { return m.entries(lo, hi, maxBytes); }
            public long term(long i) { return m.term(i); }
            public long firstIndex() { return m.firstIndex(); }
            public long lastIndex() { return m.lastIndex(); }
            public Snapshot snapshot() { return m.snapshot(); }
            public void append(List<Entry> es) { m.append(es); }
            public void compact(long i) { m.compact(i); }
            public void applySnapshot(Snapshot s) { m.applySnapshot(s); }
            public Snapshot createSnapshot(long i, ConfState cs, byte[] data) { return m.createSnapshot(i, cs, data); }
        };
    }

    static Log offHeap(OffHeapLogStorage o) {
        return new Log() {
            public InitialState initialState() { return o.initialState(); }
            public List<Entry> entries(long lo, long hi, long maxBytes) { return o.entries(lo, hi, maxBytes); }
            public long term(long i) { return o.term(i); }
            public long firstIndex() { return o.firstIndex(); }
            public long lastIndex() { return o.lastIndex(); }
            public Snapshot snapshot() { return o.snapshot(); }
            public void append(List<Entry> es) { o.append(es); }
            public void compact(long i) { o.compact(i); }
            public void applySnapshot(Snapshot s) { o.applySnapshot(s); }
            public Snapshot createSnapshot(long i, ConfState cs, byte[] data) { return o.createSnapshot(i, cs, data); }
        };
    }

    static Log make(String kind) {
        switch (kind) {
            case "memory": return memory();
            case "offheap-7": return offHeap(new OffHeapLogStorage(7, 3 * 7)); // 3 direct chunks, then heap ones
            case "offheap-default": return offHeap(new OffHeapLogStorage(64L << 20));
            default: throw new IllegalArgumentException(kind);
        }
    }

    static byte[] payload(long index, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) (index * 31 + i);
        return b;
    }

    static List<Entry> ents(long term, long from, long to, int len) {
        List<Entry> l = new ArrayList<>();
        for (long i = from; i <= to; i++) l.add(Entry.normal(term, i, payload(i, len)));
        return l;
    }

    // ---- the contract, both implementations

    @ParameterizedTest
    @ValueSource(strings = {"memory", "offheap-7", "offheap-default"})
    void emptyLog(String kind) {
        Log s = make(kind);
        assertEquals(1, s.firstIndex());
        assertEquals(0, s.lastIndex());
        assertEquals(0, s.term(0));
        assertThrows(LogStorage.UnavailableException.class, () -> s.term(1));
        assertThrows(LogStorage.UnavailableException.class, () -> s.entries(1, 1, Long.MAX_VALUE));
        assertThrows(LogStorage.CompactedException.class, () -> s.entries(0, 1, Long.MAX_VALUE));
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "offheap-7", "offheap-default"})
    void appendAndReadBack(String kind) {
        Log s = make(kind);
        List<Entry> written = new ArrayList<>();
        for (long i = 1; i <= 40; i++) {
            EntryType t = i % 5 == 0 ? EntryType.CONF_CHANGE : EntryType.NORMAL;
            written.add(new Entry(1 + i / 10, i, t, payload(i, (int) (i % 13))));
        }
        s.append(written.subList(0, 17));
        s.append(written.subList(17, 40));
        assertEquals(40, s.lastIndex());
        assertEquals(written, s.entries(1, 41, Long.MAX_VALUE));
        assertEquals(written.subList(9, 20), s.entries(10, 21, Long.MAX_VALUE));
        for (long i = 1; i <= 40; i++) assertEquals(1 + i / 10, s.term(i));
        assertEquals(List.of(), s.entries(5, 5, Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> s.entries(6, 5, Long.MAX_VALUE));
        assertThrows(LogStorage.UnavailableException.class, () -> s.entries(30, 42, Long.MAX_VALUE));
        assertThrows(LogStorage.UnavailableException.class, () -> s.term(41));
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "offheap-7", "offheap-default"})
    void maxBytesLimitsButReturnsAtLeastOne(String kind) {
        Log s = make(kind);
        s.append(ents(1, 1, 10, 10)); // each entry counts 10 + 24 = 34 bytes
        assertEquals(1, s.entries(1, 11, 0).size());
        assertEquals(1, s.entries(1, 11, 67).size());
        assertEquals(2, s.entries(1, 11, 68).size());
        assertEquals(3, s.entries(4, 11, 3 * 34).size());
        assertEquals(ents(1, 4, 6, 10), s.entries(4, 11, 3 * 34 + 33));
        assertEquals(7, s.entries(4, 11, Long.MAX_VALUE).size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "offheap-7", "offheap-default"})
    void conflictingAppendTruncatesTheSuffix(String kind) {
        Log s = make(kind);
        s.append(ents(1, 1, 10, 9));
        s.append(ents(2, 6, 8, 4)); // a new leader's entries replace 6..10
        assertEquals(8, s.lastIndex());
        List<Entry> want = new ArrayList<>(ents(1, 1, 5, 9));
        want.addAll(ents(2, 6, 8, 4));
        assertEquals(want, s.entries(1, 9, Long.MAX_VALUE));
        assertThrows(LogStorage.UnavailableException.class, () -> s.term(9));
        s.append(ents(3, 9, 12, 20)); // then grows again past the old end
        assertEquals(12, s.lastIndex());
        assertEquals(3, s.term(12));
        assertEquals(ents(3, 9, 12, 20), s.entries(9, 13, Long.MAX_VALUE));
        s.append(ents(4, 1, 2, 1)); // replacing everything but the dummy
        assertEquals(2, s.lastIndex());
        assertEquals(ents(4, 1, 2, 1), s.entries(1, 3, Long.MAX_VALUE));
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class, () -> s.append(ents(4, 4, 5, 1)));
        assertTrue(gap.getMessage().contains("missing log entry"), gap.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "offheap-7", "offheap-default"})
    void compactionAndSnapshots(String kind) {
        Log s = make(kind);
        s.append(ents(1, 1, 5, 8));
        s.append(ents(2, 6, 20, 8));
        Snapshot snap = s.createSnapshot(12, ConfState.ofVoters(1, 2, 3), null);
        assertEquals(2, snap.term());
        s.compact(12);
        assertEquals(13, s.firstIndex());
        assertEquals(2, s.term(12));
        assertThrows(LogStorage.CompactedException.class, () -> s.term(11));
        assertThrows(LogStorage.CompactedException.class, () -> s.entries(12, 14, Long.MAX_VALUE));
        assertThrows(LogStorage.CompactedException.class, () -> s.compact(12));
        assertThrows(IllegalArgumentException.class, () -> s.compact(21));
        assertThrows(IllegalArgumentException.class, () -> s.createSnapshot(12, null, null));
        assertEquals(ents(2, 13, 20, 8), s.entries(13, 21, Long.MAX_VALUE));
        s.append(ents(2, 10, 22, 8)); // the compacted prefix is skipped
        assertEquals(22, s.lastIndex());
        s.compact(22); // only the dummy left
        assertThrows(LogStorage.UnavailableException.class, () -> s.entries(23, 23, Long.MAX_VALUE));
        s.append(ents(3, 23, 24, 30));
        assertEquals(ents(3, 23, 24, 30), s.entries(23, 25, Long.MAX_VALUE));
        s.applySnapshot(new Snapshot(100, 5, ConfState.ofVoters(1), null));
        assertEquals(101, s.firstIndex());
        assertEquals(100, s.lastIndex());
        assertEquals(5, s.term(100));
        assertThrows(IllegalArgumentException.class, () -> s.applySnapshot(new Snapshot(90, 5, ConfState.EMPTY, null)));
        s.append(ents(5, 101, 103, 3));
        assertEquals(ents(5, 101, 103, 3), s.entries(101, 104, Long.MAX_VALUE));
    }

    // ---- the off-heap storage only

    @Test
    void entriesAcrossAndLargerThanChunks() {
        OffHeapLogStorage s = new OffHeapLogStorage(16, 1 << 20);
        List<Entry> es = new ArrayList<>();
        int[] lens = {5, 5, 5, 1, 0, 16, 100, 3, 33, 0, 15};
        for (int i = 0; i < lens.length; i++) es.add(Entry.normal(1, i + 1, payload(i + 1, lens[i])));
        s.append(es);
        int total = 0;
        for (int l : lens) total += l;
        assertEquals(total, s.payloadBytes());
        assertEquals((total + 15) / 16, s.chunksInUse());
        assertEquals(es, s.entries(1, lens.length + 1, Long.MAX_VALUE));
        // Past the recent-entry cache every read is a copy out of the chunks.
        for (long i = lens.length + 1; i <= lens.length + OffHeapLogStorage.RECENT_ENTRIES; i++) {
            s.append(List.of(Entry.normal(2, i, payload(i, 9))));
        }
        List<Entry> copies = s.entries(1, lens.length + 1, Long.MAX_VALUE);
        assertEquals(es, copies);
        assertNotSame(es.get(6), copies.get(6));
        assertArrayEquals(es.get(6).data(), copies.get(6).data());
        long last = s.lastIndex();
        assertSame(s.entries(last, last + 1, 0).get(0), s.entries(last, last + 1, 0).get(0)); // cached object
    }

    @Test
    void compactionGivesChunksBackAndAppendsReuseThem() {
        OffHeapLogStorage s = new OffHeapLogStorage(16, 1 << 20);
        s.append(ents(1, 1, 10, 16)); // exactly one chunk per entry
        assertEquals(10, s.chunksInUse());
        assertEquals(160, s.directBytesAllocated());
        s.compact(7); // entries 8..10 stay, in chunks 7..9
        assertEquals(3, s.chunksInUse());
        assertEquals(7, s.freeChunks());
        s.append(ents(1, 11, 17, 16));
        assertEquals(10, s.chunksInUse());
        assertEquals(0, s.freeChunks());
        assertEquals(160, s.directBytesAllocated()); // all seven came from the free list
        assertEquals(ents(1, 8, 17, 16), s.entries(8, 18, Long.MAX_VALUE));
        s.append(ents(2, 12, 12, 16)); // truncation gives back the chunks of 13..17
        assertEquals(5, s.chunksInUse());
        assertEquals(5, s.freeChunks());
        s.applySnapshot(new Snapshot(50, 3, ConfState.EMPTY, null));
        assertEquals(0, s.chunksInUse());
        assertEquals(10, s.freeChunks());
        assertEquals(160, s.directBytesAllocated());
    }

    @Test
    void directCeilingFallsBackToHeapChunks() {
        OffHeapLogStorage s = new OffHeapLogStorage(16, 4 * 16);
        s.append(ents(1, 1, 10, 16));
        assertEquals(64, s.directBytesAllocated());
        assertEquals(6, s.heapChunksInUse());
        assertEquals(ents(1, 1, 10, 16), s.entries(1, 11, Long.MAX_VALUE));
        s.compact(8); // chunks 0..7 released: 4 direct to the free list, 4 heap ones dropped
        assertEquals(4, s.freeChunks());
        assertEquals(2, s.heapChunksInUse());
        s.append(ents(1, 11, 14, 16));
        assertEquals(0, s.freeChunks());
        assertEquals(2, s.heapChunksInUse());
        assertEquals(64, s.directBytesAllocated());
        assertEquals(ents(1, 9, 14, 16), s.entries(9, 15, Long.MAX_VALUE));
        OffHeapLogStorage none = new OffHeapLogStorage(16, 0); // no direct memory at all still works
        none.append(ents(1, 1, 3, 20));
        assertEquals(0, none.directBytesAllocated());
        assertEquals(ents(1, 1, 3, 20), none.entries(1, 4, Long.MAX_VALUE));
    }

    // ---- differential against MemoryLogStorage

    @TestFactory
    Stream<DynamicTest> randomOperationsMatchMemoryLogStorage() {
        String one = System.getProperty("raft.offheap.seed");
        if (one != null) {
            long seed = Long.parseLong(one);
            return Stream.of(DynamicTest.dynamicTest("seed " + seed, () -> differential(seed)));
        }
        int seeds = Integer.getInteger("raft.offheap.seeds", 300);
        return LongStream.range(0, seeds).mapToObj(seed -> DynamicTest.dynamicTest("seed " + seed, () -> differential(seed)));
    }

    static void differential(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int chunk = 1 + rnd.nextInt(64);
        long ceiling = (long) chunk * rnd.nextInt(12);
        MemoryLogStorage m = new MemoryLogStorage();
        OffHeapLogStorage o = new OffHeapLogStorage(chunk, ceiling);
        StringBuilder trace = new StringBuilder("chunk=" + chunk + " ceiling=" + ceiling);
        try {
            long term = 1;
            for (int step = 0; step < 400; step++) {
                int op = rnd.nextInt(100);
                if (op < 45) {
                    long from = Math.max(1, o.lastIndex() + 1 - rnd.nextInt(6) - (rnd.nextInt(10) == 0 ? 3 : 0));
                    if (rnd.nextInt(30) == 0) from = o.lastIndex() + 2; // a gap
                    if (rnd.nextInt(4) == 0) term++;
                    int n = rnd.nextInt(8);
                    List<Entry> es = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        int len = rnd.nextInt(10) == 0 ? rnd.nextInt(4 * chunk + 1) : rnd.nextInt(chunk + 1);
                        EntryType t = rnd.nextInt(10) == 0 ? EntryType.CONF_CHANGE : EntryType.NORMAL;
                        es.add(new Entry(term, from + i, t, payload(seed + step + from + i, len)));
                    }
                    trace.append("\n").append(step).append(" append ").append(from).append("+").append(n);
                    same(() -> { m.append(es); return null; }, () -> { o.append(es); return null; });
                } else if (op < 55) {
                    long i = o.firstIndex() - 1 + rnd.nextInt((int) (o.lastIndex() - o.firstIndex() + 3));
                    trace.append("\n").append(step).append(" compact ").append(i);
                    same(() -> { m.compact(i); return null; }, () -> { o.compact(i); return null; });
                } else if (op < 58) {
                    long i = Math.max(o.snapshot().index(), o.lastIndex()) + rnd.nextInt(3) - 1;
                    trace.append("\n").append(step).append(" applySnapshot ").append(i);
                    Snapshot snap = new Snapshot(i, term, ConfState.ofVoters(1), null);
                    same(() -> { m.applySnapshot(snap); return null; }, () -> { o.applySnapshot(snap); return null; });
                } else if (op < 62) {
                    long i = o.firstIndex() - 2 + rnd.nextInt((int) (o.lastIndex() - o.firstIndex() + 4));
                    trace.append("\n").append(step).append(" createSnapshot ").append(i);
                    same(() -> m.createSnapshot(i, null, null).index(), () -> o.createSnapshot(i, null, null).index());
                } else {
                    long lo = o.firstIndex() - 2 + rnd.nextInt((int) (o.lastIndex() - o.firstIndex() + 4));
                    long hi = lo + rnd.nextInt(12);
                    long max = rnd.nextInt(3) == 0 ? Long.MAX_VALUE : rnd.nextInt(6 * chunk + 60);
                    trace.append("\n").append(step).append(" entries ").append(lo).append(" ").append(hi).append(" ").append(max);
                    same(() -> m.entries(lo, hi, max), () -> o.entries(lo, hi, max));
                    long t = lo + rnd.nextInt(3);
                    same(() -> m.term(t), () -> o.term(t));
                }
                assertEquals(m.firstIndex(), o.firstIndex(), "firstIndex");
                assertEquals(m.lastIndex(), o.lastIndex(), "lastIndex");
                assertEquals(m.snapshot().index(), o.snapshot().index(), "snapshot");
                assertTrue(o.directBytesAllocated() <= ceiling, "direct bytes above the ceiling");
                assertTrue(o.freeChunks() * (long) chunk <= o.directBytesAllocated(), "free list beyond what was allocated");
            }
            if (o.lastIndex() >= o.firstIndex()) {
                assertEquals(m.entries(m.firstIndex(), m.lastIndex() + 1, Long.MAX_VALUE),
                        o.entries(o.firstIndex(), o.lastIndex() + 1, Long.MAX_VALUE));
            }
        } catch (Throwable t) {
            String tail = trace.length() > 4000 ? "..." + trace.substring(trace.length() - 4000) : trace.toString();
            throw new AssertionError("off-heap log differs from MemoryLogStorage: seed=" + seed + "\n  replay: mvn -pl raft test "
                    + "-Dtest=OffHeapLogStorageTest -Draft.offheap.seed=" + seed + "\n  cause: " + t + "\n  trace:\n" + tail, t);
        }
    }

    /** Both calls return equal values or throw the same exception class with the same message. */
    static void same(Supplier<Object> expected, Supplier<Object> actual) {
        Object want = null;
        Object got = null;
        RuntimeException wantEx = null;
        RuntimeException gotEx = null;
        try {
            want = expected.get();
        } catch (RuntimeException e) {
            wantEx = e;
        }
        try {
            got = actual.get();
        } catch (RuntimeException e) {
            gotEx = e;
        }
        if (wantEx != null || gotEx != null) {
            if (wantEx == null || gotEx == null || wantEx.getClass() != gotEx.getClass()
                    || !Objects.equals(wantEx.getMessage(), gotEx.getMessage())) {
                throw new AssertionError("memory: " + (wantEx != null ? wantEx : want) + " / off-heap: " + (gotEx != null ? gotEx : got), gotEx);
            }
            return;
        }
        assertEquals(want, got);
    }
}
