package io.failoverkit.discovery.gossip.swim;

/**
 * Lifeguard's local health awareness: a score from 0 (healthy) to {@code max - 1}. Failed probes, missed nacks and
 * having to refute raise it; successful probes lower it. Probe intervals and timeouts are multiplied by score + 1,
 * so a node that is itself slow (overloaded, paused, losing packets) probes less eagerly and waits longer before it
 * suspects others.
 */
final class Awareness {
    private final int max;
    private volatile int score;

    Awareness(int max) {
        this.max = max;
    }

    /** Only from the node's scheduler. */
    void apply(int delta) {
        int s = score + delta;
        score = Math.max(0, Math.min(max - 1, s));
    }

    int score() {
        return score;
    }

    long scale(long nanos) {
        return nanos * (score + 1L);
    }
}
