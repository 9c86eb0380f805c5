package io.failoverkit.discovery.state;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Lock-delay, kept outside the replicated state as Consul keeps it: when an invalidated session releases a key, each
 * server notes in memory, on its own monotonic clock, when the key may be acquired again. The server that proposes an
 * acquire (the leader, normally) asks here first; apply never reads a clock.
 *
 * <p>Every server stamps at the moment it applies (or loads from a snapshot) the release, which is never earlier than
 * the moment the release was committed, so whichever server checks, and a new leader after a failover, holds the key
 * at least the full delay after the release. Restarts and snapshot loads only lengthen it.
 */
public final class LockDelays {
    private final LongSupplier nanoClock;
    private final Map<String, Long> notBefore = new ConcurrentHashMap<>();

    public LockDelays(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** A session invalidation released {@code key}: nobody acquires it for {@code delayNanos} from now. */
    void released(String key, long delayNanos) {
        if (delayNanos <= 0) return;
        long now = nanoClock.getAsLong();
        // Keys nobody asks about again would stay: drop the expired ones now and then.
        if (notBefore.size() > 4096) notBefore.values().removeIf(until -> until - now <= 0);
        notBefore.merge(key, now + delayNanos, (a, b) -> a - b > 0 ? a : b);
    }

    /** How long {@code key} is still held back by lock-delay on this server (zero when it may be acquired). */
    public Duration remaining(String key) {
        Long until = notBefore.get(key);
        if (until == null) return Duration.ZERO;
        long left = until - nanoClock.getAsLong();
        if (left <= 0) {
            notBefore.remove(key, until);
            return Duration.ZERO;
        }
        return Duration.ofNanos(left);
    }
}
