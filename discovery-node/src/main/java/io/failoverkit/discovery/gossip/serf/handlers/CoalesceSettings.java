package io.failoverkit.discovery.gossip.serf.handlers;

import java.time.Duration;

/**
 * Serf's event coalescing: member events within {@code coalescePeriod} (flushed early once {@code quiescentPeriod}
 * passes with no new one) are merged, the latest state of each member winning; user events fired with
 * coalesce=true likewise per event name, the latest event time winning. Each kind is off when either of its two
 * periods is zero. Serf's library leaves both off; its agent sets 3 s / 1 s for both ({@link #serfAgent()}).
 * The quiescent period should be shorter than the coalesce period (else the coalesce period alone bounds the delay).
 */
public record CoalesceSettings(Duration coalescePeriod, Duration quiescentPeriod,
                               Duration userCoalescePeriod, Duration userQuiescentPeriod) {

    public CoalesceSettings {
        for (Duration d : new Duration[]{coalescePeriod, quiescentPeriod, userCoalescePeriod, userQuiescentPeriod})
            if (d.isNegative()) throw new IllegalArgumentException("coalesce periods must not be negative");
    }

    /** What Serf's agent uses: 3 s coalesce, 1 s quiescent, for member and user events. */
    public static CoalesceSettings serfAgent() {
        return new CoalesceSettings(Duration.ofSeconds(3), Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(1));
    }

    public static CoalesceSettings off() {
        return new CoalesceSettings(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    public boolean members() { return coalescePeriod.isPositive() && quiescentPeriod.isPositive(); }

    public boolean users() { return userCoalescePeriod.isPositive() && userQuiescentPeriod.isPositive(); }
}
