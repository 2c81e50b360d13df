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
 * newer glibc than Debian 12 ships, so this proxy keeps each thread's most recent native copies
 * reachable; an LMDB call makes at most two before it returns.
 */
final class SafeByteArrayProxy extends BufferProxy<byte[]> {
    static final SafeByteArrayProxy INSTANCE = new SafeByteArrayProxy();
    private static final MemoryManager MEM = jnr.ffi.Runtime.getSystemRuntime().getMemoryManager();
    /** Native copies kept alive per thread: far more than one LMDB call needs. */
    private static final int KEEP = 16;
    private static final ThreadLocal<Ring> RECENT = ThreadLocal.withInitial(Ring::new);

    private static final class Ring {
        final Pointer[] slots = new Pointer[KEEP];
        int next;

        void keep(Pointer p) {
            slots[next] = p;
            next = (next + 1) % KEEP;
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
        Pointer copy = MEM.allocateDirect(buffer.length);
        copy.put(0, buffer, 0, buffer.length);
        RECENT.get().keep(copy); // the point of this class: reachable until the LMDB call has returned
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
