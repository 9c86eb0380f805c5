package io.failoverkit.discovery.testing;

import java.lang.management.ManagementFactory;

/** The heap a test's objects keep alive: what is in use after full collections, repeated until it settles. */
public final class LiveHeap {
    private LiveHeap() {}

    /** Heap in use after full collections (repeated: a collection can free what finalization let go in the one before). */
    public static long bytes() {
        var memory = ManagementFactory.getMemoryMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            memory.gc();
            long used = memory.getHeapMemoryUsage().getUsed();
            if (used >= last - 64 * 1024) return used;
            last = used;
        }
        return last;
    }
}
