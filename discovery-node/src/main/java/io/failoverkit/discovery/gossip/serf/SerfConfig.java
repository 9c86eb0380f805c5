package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.swim.SwimConfig;

import java.time.Duration;
import java.util.Map;

/**
 * Serf's settings (serf/config.go defaults in {@link #defaults}): how long failed members are retried and kept,
 * how long left ones are remembered, the user event buffer and size limit.
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
        int userEventSizeLimit) {

    public static SerfConfig defaults(SwimConfig swim, Map<String, String> tags) {
        return new SerfConfig(swim, Map.copyOf(tags), Duration.ofSeconds(15), Duration.ofSeconds(30),
                Duration.ofHours(24), Duration.ofHours(24), Duration.ofSeconds(1), 512, 512);
    }
}
