package io.quorumlab.mvcc.backend;

import java.util.Comparator;
import jnr.ffi.Pointer;
import jnr.ffi.provider.MemoryManager;
import org.lmdbjava.BufferProxy;
import org.lmdbjava.ByteArrayProxy;
import org.lmdbjava.DbiFlags;

/**
 * lmdbjava's byte-array proxy, with its use-after-free fixed. lmdbjava 0.9.0's {@code ByteArrayProxy}
 * copies a key or value into transient native memory and keeps no reference to it, so the garbage
 * collector's cleaner may free that memory while {@code mdb_put} still reads it (lmdbjava issue #252:
 * crashes in {@code mdb_put}, or freed bytes written to the database). The fix upstream (0.9.2) needs a
 * newer glibc than Debian 12 ships, so this proxy copies into native buffers of its own: a ring of
 * {@link #KEEP} per thread, each reused only {@code KEEP} copies later (an LMDB call makes at most two
 * before it returns, and LMDB copies what it keeps). Reusing them matters as much as keeping them: each
 * jnr allocation is a malloc plus a finalizable object, and at four per put (key and value of the
 * revision and of the consistent index) those objects survived young collections waiting for their
 * finalizer and filled the old generation with garbage.
 */
final class SafeByteArrayProxy extends BufferProxy<byte[]> {
    static final SafeByteArrayProxy INSTANCE = new SafeByteArrayProxy();
    private static final MemoryManager MEM = jnr.ffi.Runtime.getSystemRuntime().getMemoryManager();
    /** Native copies per thread that stay valid: far more than one LMDB call needs. */
    private static final int KEEP = 16;
    /** Larger copies get a buffer of their own (kept reachable as long as a reused one): bounds each thread's ring to 64 KB. */
    private static final int REUSE_MAX_BYTES = 4096;
    private static final int MIN_BUFFER_BYTES = 64;
    private static final ThreadLocal<Ring> RECENT = ThreadLocal.withInitial(Ring::new);

    private static final class Ring {
        final Pointer[] slots = new Pointer[KEEP];
        /** Usable bytes of each slot's buffer; -1 for a one-off buffer larger than {@link #REUSE_MAX_BYTES}. */
        final int[] capacity = new int[KEEP];
        int next;

        /** A native copy of {@code bytes}, neither freed nor overwritten during this thread's next KEEP - 1 copies. */
        Pointer copyOf(byte[] bytes) {
            int i = next;
            next = (next + 1) % KEEP;
            int n = bytes.length;
            if (n > REUSE_MAX_BYTES) {
                slots[i] = MEM.allocateDirect(n);
                capacity[i] = -1;
            } else if (slots[i] == null || capacity[i] < n) {
                int cap = Math.max(MIN_BUFFER_BYTES, n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1);
                slots[i] = MEM.allocateDirect(cap);
                capacity[i] = cap;
            }
            Pointer p = slots[i];
            p.put(0, bytes, 0, n);
            return p;
        }
    }

    private SafeByteArrayProxy() {}

    @Override
    protected byte[] allocate() {
        return new byte[0];
    }

    @Override
    protected Comparator<byte[]> getComparator(DbiFlags... flags) {
        return ByteArrayProxy::compareArrays;
    }

    @Override
    protected void deallocate(byte[] buff) {
        // byte arrays are garbage collected
    }

    @Override
    protected byte[] getBytes(byte[] buffer) {
        return java.util.Arrays.copyOf(buffer, buffer.length);
    }

    @Override
    protected void in(byte[] buffer, Pointer ptr, long ptrAddr) {
        Pointer copy = RECENT.get().copyOf(buffer); // the point of this class: valid until the LMDB call has returned
        ptr.putLong(STRUCT_FIELD_OFFSET_SIZE, buffer.length);
        ptr.putAddress(STRUCT_FIELD_OFFSET_DATA, copy.address());
    }

    @Override
    protected void in(byte[] buffer, int size, Pointer ptr, long ptrAddr) {
        // Only used for MDB_RESERVE, which this backend does not use (as in lmdbjava's own proxy).
    }

    @Override
    protected byte[] out(byte[] buffer, Pointer ptr, long ptrAddr) {
        long addr = ptr.getAddress(STRUCT_FIELD_OFFSET_DATA);
        int size = (int) ptr.getLong(STRUCT_FIELD_OFFSET_SIZE);
        byte[] bytes = new byte[size];
        MEM.newPointer(addr, size).get(0, bytes, 0, size);
        return bytes;
    }
}
