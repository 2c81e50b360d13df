package io.quorumlab.raft;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link LogStorage} with the same contract and methods as {@link MemoryLogStorage} whose entries do
 * not live on the Java heap: a member keeps every entry since its last snapshot (100,000 by default),
 * and as heap objects they were most of the old generation's growth per put, so most of what the
 * stop-the-world full collections had to copy.
 *
 * <p>Layout. Per entry, three primitive rings on the heap: term ({@code long}), the logical end of its
 * payload in one append-only byte stream ({@code long}) and its type ({@code byte}): 17 B per entry,
 * allocated once and reused. Payload bytes go to the stream, which is cut into fixed-size chunks
 * ({@code chunkBytes}, default {@value #DEFAULT_CHUNK_BYTES} B); an entry may span chunks, so entries
 * larger than a chunk need nothing special. Compaction and truncation give whole chunks back to a free
 * list that the next appends take from first: direct memory is reused, never left for a garbage
 * collection to release.
 *
 * <p>Bounds. At most {@code maxDirectBytes} of direct chunks are ever allocated (the ceiling); free
 * chunks count against it, so the free list is bounded by it too. Once the ceiling is reached the log
 * keeps working with heap chunks (dropped, not pooled, when released) instead of failing; the ceiling
 * must fit under the JVM's {@code -XX:MaxDirectMemorySize}, and if the JVM refuses a direct chunk
 * below it anyway (the budget is shared with Netty, gRPC and the JDK), heap chunks from then on. Index rings grow by doubling to the
 * largest log held (a member: about {@code snapshot-count + catch-up entries}) and stay that size.
 *
 * <p>Reads. {@link #entries} copies each payload out into a new {@link Entry}, except for the last
 * {@value #RECENT_ENTRIES} appended entries, which are also kept as the appended objects: the leader
 * sends them to its followers and applies them moments after persisting them, so the common reads
 * copy nothing and those objects still die young. Entries are immutable to every caller.
 * Not thread-safe; one owner (the member loop).
 */
public final class OffHeapLogStorage extends HeldLogStorage {
    /** 256 KiB: a member's 100,000-entry log of ~300 B puts is ~120 chunks; a small log holds one. */
    public static final int DEFAULT_CHUNK_BYTES = 256 << 10;
    /** Appended entries also kept as heap objects for the reads that follow an append at once. */
    static final int RECENT_ENTRIES = 256;
    private static final EntryType[] TYPES = EntryType.values();
    private static final int MIN_CAPACITY = 16;

    private final int chunkBytes;
    private final long maxDirectBytes;

    /** Index and term of the entry before the first one held (the snapshot's last entry). */
    private long offset;
    private long offsetTerm;

    /** Entry k (0-based; index offset+1+k) lives in slot (head + k) & mask of the three rings. */
    private long[] terms = new long[MIN_CAPACITY];
    private long[] ends = new long[MIN_CAPACITY];
    private byte[] types = new byte[MIN_CAPACITY];
    private int head;
    private int count;

    /** The payload stream: entry 0 starts at headPos, the last entry ends at tailPos. */
    private long headPos;
    private long tailPos;
    /**
     * Chunks holding stream positions [firstChunkNo * chunkBytes, ...): always exactly the chunks
     * floor(headPos / chunkBytes) .. ceil(tailPos / chunkBytes) - 1, in a ring.
     */
    private ByteBuffer[] chunks = new ByteBuffer[MIN_CAPACITY];
    private int chunkHead;
    private int chunkCount;
    private long firstChunkNo;

    private final ArrayDeque<ByteBuffer> freeChunks = new ArrayDeque<>();
    private long directBytesAllocated;
    /** The JVM refused a direct chunk below our ceiling (its budget is shared): heap chunks from then on. */
    private boolean directExhausted;
    private long heapChunksHeld;

    private final Entry[] recent = new Entry[RECENT_ENTRIES];

    /** A storage with {@link #DEFAULT_CHUNK_BYTES} chunks and at most {@code maxDirectBytes} of them direct. */
    public OffHeapLogStorage(long maxDirectBytes) {
        this(DEFAULT_CHUNK_BYTES, maxDirectBytes);
    }

    public OffHeapLogStorage(int chunkBytes, long maxDirectBytes) {
        if (chunkBytes < 1) throw new IllegalArgumentException("chunkBytes " + chunkBytes);
        if (maxDirectBytes < 0) throw new IllegalArgumentException("maxDirectBytes " + maxDirectBytes);
        this.chunkBytes = chunkBytes;
        this.maxDirectBytes = maxDirectBytes;
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        if (lo <= offset) throw new CompactedException(lo, offset + 1);
        if (hi > lastIndex() + 1) throw new UnavailableException(hi - 1, lastIndex());
        if (count == 0) throw new UnavailableException(lo, lastIndex());
        if (lo > hi) throw new IllegalArgumentException("entries [" + lo + ", " + hi + ")");
        if (lo == hi) return List.of();
        int k0 = (int) (lo - offset - 1);
        int n = 1;
        long size = entrySize(k0);
        while (k0 + n < hi - offset - 1) {
            size += entrySize(k0 + n);
            if (size > maxBytes) break;
            n++;
        }
        Entry[] out = new Entry[n];
        for (int j = 0; j < n; j++) out[j] = entryAt(k0 + j);
        return List.of(out);
    }

    @Override
    public long term(long i) {
        if (i < offset) throw new CompactedException(i, offset + 1);
        if (i - offset > count) throw new UnavailableException(i, lastIndex());
        if (i == offset) return offsetTerm;
        return terms[slot((int) (i - offset - 1))];
    }

    @Override
    public long firstIndex() {
        return offset + 1;
    }

    @Override
    public long lastIndex() {
        return offset + count;
    }

    /** Replaces the whole log with a snapshot (a follower receiving one, or a restart). */
    public void applySnapshot(Snapshot snap) {
        if (snap.index() <= snapshot.index()) {
            throw new IllegalArgumentException("snapshot " + snap.index() + " is out of date (have " + snapshot.index() + ")");
        }
        snapshot = snap;
        offset = snap.index();
        offsetTerm = snap.term();
        count = 0;
        head = 0;
        headPos = 0;
        tailPos = 0;
        while (chunkCount > 0) releaseLastChunk();
        firstChunkNo = 0;
        Arrays.fill(recent, null);
        checkChunks();
    }

    /** Discards entries before {@code compactIndex} and gives their whole chunks back to the free list. */
    public void compact(long compactIndex) {
        if (compactIndex <= offset) throw new CompactedException(compactIndex, offset + 1);
        if (compactIndex > lastIndex()) throw new IllegalArgumentException("compact " + compactIndex + " beyond last index " + lastIndex());
        int drop = (int) (compactIndex - offset); // entries 0 .. drop-1; the last of them becomes the dummy
        offsetTerm = terms[slot(drop - 1)];
        headPos = ends[slot(drop - 1)];
        offset = compactIndex;
        head = slot(drop);
        count -= drop;
        long keepFrom = headPos / chunkBytes;
        while (firstChunkNo < keepFrom) releaseFirstChunk();
        checkChunks();
    }

    /**
     * Appends entries, replacing any conflicting suffix. Entries must be contiguous and must not leave
     * a gap after the current last index.
     */
    public void append(List<Entry> entries) {
        if (entries.isEmpty()) return;
        long first = firstIndex();
        long firstNew = entries.get(0).index();
        long last = firstNew + entries.size() - 1;
        if (last < first) return; // entirely compacted already
        int from = first > firstNew ? (int) (first - firstNew) : 0;
        long at = entries.get(from).index() - offset; // 1-based position of the first new entry
        if (at > count + 1) {
            throw new IllegalArgumentException("missing log entry: last " + lastIndex() + ", append at " + entries.get(from).index());
        }
        for (int j = from + 1; j < entries.size(); j++) {
            if (entries.get(j).index() != entries.get(j - 1).index() + 1) {
                throw new IllegalArgumentException("entries not contiguous at " + entries.get(j).index());
            }
        }
        if (at <= count) truncateTo((int) (at - 1));
        for (int j = from; j < entries.size(); j++) appendOne(entries.get(j));
        checkChunks();
    }

    // ---- accounting (tests, metrics)

    /** Fixed size of every payload chunk. */
    public int chunkBytes() {
        return chunkBytes;
    }

    /** Direct memory this storage has allocated and still owns (in use or free); never above the ceiling. */
    public long directBytesAllocated() {
        return directBytesAllocated;
    }

    /** Chunks currently holding payload bytes. */
    public int chunksInUse() {
        return chunkCount;
    }

    /** Direct chunks waiting in the free list for the next appends. */
    public int freeChunks() {
        return freeChunks.size();
    }

    /** Chunks in use that are on the heap because the direct ceiling was reached. */
    public long heapChunksInUse() {
        return heapChunksHeld;
    }

    /** Payload bytes of the entries held. */
    public long payloadBytes() {
        return tailPos - headPos;
    }

    // ---- internals

    private int slot(int k) {
        return (head + k) & (terms.length - 1);
    }

    private long startOf(int k) {
        return k == 0 ? headPos : ends[slot(k - 1)];
    }

    private long entrySize(int k) {
        return ends[slot(k)] - startOf(k) + Entry.OVERHEAD_BYTES;
    }

    private Entry entryAt(int k) {
        long index = offset + 1 + k;
        Entry cached = recent[(int) (index % RECENT_ENTRIES)];
        if (cached != null && cached.index() == index) return cached;
        int s = slot(k);
        long start = startOf(k);
        int len = (int) (ends[s] - start);
        byte[] data = null;
        if (len > 0) {
            data = new byte[len];
            readBytes(start, data);
        }
        return new Entry(terms[s], index, TYPES[types[s]], data);
    }

    /** Drops entries keep .. count-1 and the chunks only they used. */
    private void truncateTo(int keep) {
        count = keep;
        tailPos = keep == 0 ? headPos : ends[slot(keep - 1)];
        long keepChunks = ceilDiv(tailPos) - firstChunkNo;
        while (chunkCount > keepChunks) releaseLastChunk();
        // Cached objects of the dropped indices must not answer for the entries that replace them.
        Arrays.fill(recent, null);
    }

    private void appendOne(Entry e) {
        if (count == terms.length) growRings();
        int s = slot(count);
        byte[] data = e.data();
        writeBytes(tailPos, data);
        tailPos += data.length;
        terms[s] = e.term();
        ends[s] = tailPos;
        types[s] = (byte) e.type().ordinal();
        count++;
        recent[(int) (e.index() % RECENT_ENTRIES)] = e;
    }

    private void growRings() {
        int cap = terms.length;
        long[] nt = new long[cap * 2];
        long[] ne = new long[cap * 2];
        byte[] ny = new byte[cap * 2];
        for (int k = 0; k < count; k++) {
            int s = slot(k);
            nt[k] = terms[s];
            ne[k] = ends[s];
            ny[k] = types[s];
        }
        terms = nt;
        ends = ne;
        types = ny;
        head = 0;
    }

    private void writeBytes(long pos, byte[] src) {
        int off = 0;
        while (off < src.length) {
            long chunkNo = pos / chunkBytes;
            if (chunkNo - firstChunkNo == chunkCount) addChunk();
            ByteBuffer c = chunk(chunkNo);
            int at = (int) (pos % chunkBytes);
            int n = Math.min(src.length - off, chunkBytes - at);
            c.put(at, src, off, n);
            off += n;
            pos += n;
        }
    }

    private void readBytes(long pos, byte[] dst) {
        int off = 0;
        while (off < dst.length) {
            ByteBuffer c = chunk(pos / chunkBytes);
            int at = (int) (pos % chunkBytes);
            int n = Math.min(dst.length - off, chunkBytes - at);
            c.get(at, dst, off, n);
            off += n;
            pos += n;
        }
    }

    private ByteBuffer chunk(long chunkNo) {
        return chunks[(chunkHead + (int) (chunkNo - firstChunkNo)) & (chunks.length - 1)];
    }

    private void addChunk() {
        if (chunkCount == chunks.length) {
            ByteBuffer[] n = new ByteBuffer[chunks.length * 2];
            for (int i = 0; i < chunkCount; i++) n[i] = chunks[(chunkHead + i) & (chunks.length - 1)];
            chunks = n;
            chunkHead = 0;
        }
        ByteBuffer c = freeChunks.pollLast();
        if (c == null) {
            if (!directExhausted && directBytesAllocated + chunkBytes <= maxDirectBytes) {
                try {
                    c = ByteBuffer.allocateDirect(chunkBytes);
                    directBytesAllocated += chunkBytes;
                } catch (OutOfMemoryError e) {
                    // The JVM's direct budget is shared (Netty, gRPC, the JDK): when the others hold it, the
                    // log goes on in heap chunks, and stops asking (each refusal costs a System.gc and sleeps).
                    directExhausted = true;
                }
            }
            if (c == null) c = ByteBuffer.allocate(chunkBytes);
        }
        if (!c.isDirect()) heapChunksHeld++;
        chunks[(chunkHead + chunkCount) & (chunks.length - 1)] = c;
        chunkCount++;
    }

    private void releaseFirstChunk() {
        ByteBuffer c = chunks[chunkHead];
        chunks[chunkHead] = null;
        chunkHead = (chunkHead + 1) & (chunks.length - 1);
        chunkCount--;
        firstChunkNo++;
        release(c);
    }

    private void releaseLastChunk() {
        int s = (chunkHead + chunkCount - 1) & (chunks.length - 1);
        ByteBuffer c = chunks[s];
        chunks[s] = null;
        chunkCount--;
        release(c);
    }

    /** Direct chunks go back to the free list (bounded: they all count against the ceiling); heap ones to the GC. */
    private void release(ByteBuffer c) {
        if (c.isDirect()) {
            freeChunks.addLast(c);
        } else {
            heapChunksHeld--;
        }
    }

    private long ceilDiv(long pos) {
        return (pos + chunkBytes - 1) / chunkBytes;
    }

    private void checkChunks() {
        long want = ceilDiv(tailPos) - headPos / chunkBytes;
        if (firstChunkNo != headPos / chunkBytes || chunkCount != want || headPos > tailPos) {
            throw Util.violated("log chunks: first " + firstChunkNo + " count " + chunkCount + " for stream ["
                    + headPos + ", " + tailPos + ") of " + chunkBytes + " B chunks");
        }
    }
}
