package io.failoverkit.discovery.gossip.serf;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A Lamport clock as Serf keeps three of (members, user events, queries). Times are Go uint64s on the wire: they are
 * held in a {@code long} and always compared unsigned, so a peer's value above 2^63 orders like Go would order it.
 *
 * <p>{@link #witness} moves the clock past a time seen from another node (to {@code seen + 1} when it is not already
 * beyond it), so the next local {@link #time} is later than every message observed.
 */
public final class LamportClock {
    /**
     * How far ahead of this clock a time seen from a peer may be. Real clocks move by one per intent or event, so a
     * peer 2^32 ahead is garbled or forged: witnessing it would freeze what it orders (nothing later could be newer)
     * and at 2^64 - 1 wrap the clock to 0.
     */
    public static final long MAX_AHEAD = 1L << 32;

    private final AtomicLong counter;

    public LamportClock() {
        this(0);
    }

    /** A clock already at {@code start} (tests). */
    LamportClock(long start) {
        this.counter = new AtomicLong(start);
    }

    /** The current time (what a message sent now carries). */
    public long time() {
        return counter.get();
    }

    /** Advances the clock by one and returns the new time. */
    public long increment() {
        return counter.incrementAndGet();
    }

    /** False when {@code seen} is more than {@link #MAX_AHEAD} beyond this clock: such a time must be ignored. */
    public boolean plausible(long seen) {
        long cur = counter.get();
        return Long.compareUnsigned(seen, cur) <= 0 || Long.compareUnsigned(seen - cur, MAX_AHEAD) <= 0;
    }

    /**
     * Records a time seen in a message: afterwards {@code time() > seen} unless the clock was already ahead. An
     * implausible time ({@link #plausible}) is ignored, so the clock never wraps and never jumps to a forged value.
     */
    public void witness(long seen) {
        while (true) {
            long cur = counter.get();
            if (Long.compareUnsigned(seen, cur) < 0) return;
            if (Long.compareUnsigned(seen - cur, MAX_AHEAD) > 0 || seen + 1 == 0) return;
            if (counter.compareAndSet(cur, seen + 1)) return;
        }
    }
}
