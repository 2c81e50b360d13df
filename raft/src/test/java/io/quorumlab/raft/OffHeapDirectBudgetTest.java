package io.quorumlab.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The direct-memory budget is the JVM's, shared with Netty, gRPC and the JDK: when others hold part of
 * it, an append below the storage's own ceiling must go on in heap chunks, not fail with
 * OutOfMemoryError. A child JVM with -XX:MaxDirectMemorySize=8m holds 7 MiB of direct buffers elsewhere
 * (a peer's snapshot frame, say) and gives a storage a 2 MiB ceiling, then appends 4 MiB of entries.
 * Found by review in session 8.
 */
class OffHeapDirectBudgetTest {

    static final int CHUNK = 64 << 10;

    public static void main(String[] args) {
        List<ByteBuffer> others = new ArrayList<>();
        for (int i = 0; i < 7; i++) others.add(ByteBuffer.allocateDirect(1 << 20));
        OffHeapLogStorage s = new OffHeapLogStorage(CHUNK, 2L << 20);
        try {
            for (long i = 1; i <= 64; i++) s.append(List.of(Entry.normal(1, i, new byte[CHUNK])));
            for (long i = 1; i <= 64; i++) {
                if (s.entries(i, i + 1, Long.MAX_VALUE).get(0).data().length != CHUNK) throw new AssertionError("entry " + i);
            }
            System.out.println("OK lastIndex=" + s.lastIndex() + " direct=" + s.directBytesAllocated() + " heapChunks=" + s.heapChunksInUse());
        } catch (Throwable t) {
            System.out.println("FAILED at lastIndex=" + s.lastIndex() + " direct=" + s.directBytesAllocated() + ": " + t);
        }
        System.out.println("others " + others.size());
    }

    @Test
    void appendsGoOnInHeapChunksWhenOthersHoldTheDirectBudget() throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(java, "-XX:MaxDirectMemorySize=8m", "-cp", System.getProperty("java.class.path"),
                OffHeapDirectBudgetTest.class.getName()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish: " + out);
        Matcher m = Pattern.compile("OK lastIndex=64 direct=(\\d+) heapChunks=(\\d+)").matcher(out);
        assertTrue(m.find(), out);
        long direct = Long.parseLong(m.group(1));
        long heapChunks = Long.parseLong(m.group(2));
        assertTrue(direct < (2L << 20), "the JVM's budget ran out below the ceiling, so fewer direct chunks: " + out);
        assertEquals(64, direct / CHUNK + heapChunks, "every chunk is direct or heap: " + out);
    }
}
