package io.failoverkit.discovery.state;

import io.failoverkit.discovery.config.Durations;

import java.time.Duration;

/**
 * What a session may hold, as Consul's session create checks it: TTL empty or 10s..24h, Behavior release or delete,
 * LockDelay 0..60s. Session create (HTTP) and snapshot restore (state.bin) apply the same rules, so the TTL timers and
 * lock-delay never meet a session they cannot handle.
 */
public final class SessionRules {
    public static final Duration MIN_TTL = Duration.ofSeconds(10);
    public static final Duration MAX_TTL = Duration.ofHours(24);
    public static final Duration MAX_LOCK_DELAY = Duration.ofSeconds(60);

    private SessionRules() {}

    /** The session's TTL as a duration, or null when it has none; IllegalArgumentException when it breaks the rules. */
    public static Duration ttl(String ttl) {
        if (ttl == null || ttl.isEmpty()) return null;
        Duration d;
        try {
            d = Durations.parse(ttl);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("\"TTL\": " + e.getMessage());
        }
        if (d.compareTo(MIN_TTL) < 0 || d.compareTo(MAX_TTL) > 0) throw new IllegalArgumentException("\"TTL\" must be between 10s and 24h, got " + ttl);
        return d;
    }

    /** Null when the session keeps the rules, else what is wrong with it. */
    public static String problem(Model.Session s) {
        try {
            ttl(s.ttl());
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (!"release".equals(s.behavior()) && !"delete".equals(s.behavior())) return "\"Behavior\" must be \"release\" or \"delete\", got " + s.behavior();
        if (s.lockDelayNanos() < 0 || s.lockDelayNanos() > MAX_LOCK_DELAY.toNanos()) return "\"LockDelay\" must be 0-60s, got " + s.lockDelayNanos() + "ns";
        return null;
    }
}
