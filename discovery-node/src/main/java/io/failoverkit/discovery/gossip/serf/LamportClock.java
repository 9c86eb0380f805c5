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
    private final AtomicLong counter = new AtomicLong();

    /** The current time (what a message sent now carries). */
    public long time() {
        return counter.get();
    }

    /** Advances the clock by one and returns the new time. */
    public long increment() {
        return counter.incrementAndGet();
    }

    /** Records a time seen in a message: afterwards {@code time() > seen} unless the clock was already ahead. */
    public void witness(long seen) {
        while (true) {
            long cur = counter.get();
            if (Long.compareUnsigned(seen, cur) < 0) return;
            if (counter.compareAndSet(cur, seen + 1)) return;
        }
    }
}
