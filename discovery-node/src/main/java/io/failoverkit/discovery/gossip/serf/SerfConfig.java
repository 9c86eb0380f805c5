package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.swim.SwimConfig;

import java.time.Duration;
import java.util.Map;

/**
 * Serf's settings (serf/config.go defaults in {@link #defaults}): how long failed members are retried and kept,
 * how long left ones are remembered, the user event buffer and size limit, how long Serf waits for its own
 * broadcasts to go out.
 *
 * <p>How they relate: a failed member is retried every {@code reconnectInterval} until {@code reconnectTimeout}
 * after it failed, then reaped by the next reap pass (every {@code reapInterval}), so it is reaped between
 * reconnectTimeout and reconnectTimeout + reapInterval after it failed; a left one likewise after
 * {@code tombstoneTimeout}. A leave waits at most {@code broadcastTimeout} for its intent to be fully gossiped, at
 * most broadcastTimeout more for memberlist's leave, then {@code leavePropagateDelay} so that its probes are still
 * answered while the news spreads. {@code userEventSizeLimit} is at most {@link #USER_EVENT_SANE_LIMIT} (Serf's
 * hard limit), and the event buffer remembers the last {@code eventBuffer} event times for deduplication.
 */
public record SerfConfig(
        SwimConfig swim,
        Map<String, String> tags,
        Duration reapInterval,
        Duration reconnectInterval,
        Duration reconnectTimeout,
        Duration tombstoneTimeout,
        Duration leavePropagateDelay,
        int eventBuffer,
        int userEventSizeLimit,
        Duration broadcastTimeout,
        Duration recentIntentTimeout,
        Duration queueCheckInterval,
        int maxQueueDepth) {

    /** Serf's UserEventSizeLimit: no configuration may allow more than 9 KB of name + payload. */
    public static final int USER_EVENT_SANE_LIMIT = 9 * 1024;

    public SerfConfig {
        tags = Map.copyOf(tags);
    }

    /** The original nine settings; the rest take Serf's defaults. */
    public SerfConfig(SwimConfig swim, Map<String, String> tags, Duration reapInterval, Duration reconnectInterval,
                      Duration reconnectTimeout, Duration tombstoneTimeout, Duration leavePropagateDelay,
                      int eventBuffer, int userEventSizeLimit) {
        this(swim, tags, reapInterval, reconnectInterval, reconnectTimeout, tombstoneTimeout, leavePropagateDelay,
                eventBuffer, userEventSizeLimit, Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofSeconds(30), 4096);
    }

    public static SerfConfig defaults(SwimConfig swim, Map<String, String> tags) {
        return new SerfConfig(swim, Map.copyOf(tags), Duration.ofSeconds(15), Duration.ofSeconds(30),
                Duration.ofHours(24), Duration.ofHours(24), Duration.ofSeconds(1), 512, 512);
    }

    public SerfConfig withTags(Map<String, String> t) {
        return new SerfConfig(swim, t, reapInterval, reconnectInterval, reconnectTimeout, tombstoneTimeout,
                leavePropagateDelay, eventBuffer, userEventSizeLimit, broadcastTimeout, recentIntentTimeout,
                queueCheckInterval, maxQueueDepth);
    }

    /** Reaping: the reap pass interval, the reconnect interval, and how long failed and left members are kept. */
    public SerfConfig withReaping(Duration reap, Duration reconnect, Duration reconnectTo, Duration tombstone) {
        return new SerfConfig(swim, tags, reap, reconnect, reconnectTo, tombstone, leavePropagateDelay, eventBuffer,
                userEventSizeLimit, broadcastTimeout, recentIntentTimeout, queueCheckInterval, maxQueueDepth);
    }

    public SerfConfig withLeaveTimings(Duration broadcast, Duration propagate) {
        return new SerfConfig(swim, tags, reapInterval, reconnectInterval, reconnectTimeout, tombstoneTimeout,
                propagate, eventBuffer, userEventSizeLimit, broadcast, recentIntentTimeout, queueCheckInterval,
                maxQueueDepth);
    }

    public SerfConfig withUserEvents(int buffer, int sizeLimit) {
        return new SerfConfig(swim, tags, reapInterval, reconnectInterval, reconnectTimeout, tombstoneTimeout,
                leavePropagateDelay, buffer, sizeLimit, broadcastTimeout, recentIntentTimeout, queueCheckInterval,
                maxQueueDepth);
    }

    /** Throws if a setting is out of range (see the class comment). */
    public SerfConfig check() {
        swim.check();
        for (var d : new Duration[]{reapInterval, reconnectInterval, reconnectTimeout, tombstoneTimeout,
                broadcastTimeout, recentIntentTimeout, queueCheckInterval})
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException("serf intervals and timeouts must be positive: " + this);
        if (leavePropagateDelay.isNegative()) throw new IllegalArgumentException("leave propagate delay is negative");
        if (eventBuffer < 1) throw new IllegalArgumentException("event buffer must be >= 1, got " + eventBuffer);
        if (userEventSizeLimit < 1 || userEventSizeLimit > USER_EVENT_SANE_LIMIT)
            throw new IllegalArgumentException("user event size limit must be 1.." + USER_EVENT_SANE_LIMIT + " bytes, got " + userEventSizeLimit);
        if (maxQueueDepth < 1) throw new IllegalArgumentException("max queue depth must be >= 1");
        return this;
    }
}
