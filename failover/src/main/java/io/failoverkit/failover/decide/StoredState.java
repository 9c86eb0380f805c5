package io.failoverkit.failover.decide;

/**
 * What the discovery KV says of a cluster: the current epoch, which master it names, when the last automatic
 * failover happened, and whether an operator acknowledged it (which lifts the anti-flapping block).
 */
public record StoredState(long epoch, String master, long lastFailoverMillis, boolean acknowledged) {
    public static final StoredState NONE = new StoredState(0, null, 0, true);
}
