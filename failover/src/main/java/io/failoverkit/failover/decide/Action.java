package io.failoverkit.failover.decide;

import java.util.List;

/** What the HA loop should do after one observation. Each carries its reason, for the log and the audit record. */
public sealed interface Action {
    String reason();

    /** The master is up and the only writable instance. */
    record Healthy(String master, String reason) implements Action {}

    /** Something looks wrong but is not confirmed yet: observe again. */
    record Wait(String reason) implements Action {}

    /** A failover would be needed but is not safe or not allowed: do nothing, report loudly. */
    record Refuse(String reason) implements Action {}

    /**
     * Promote {@code candidate}, re-point {@code others} to it, fence {@code oldMaster} when it can be reached (before the
     * promotion) and demote it after. {@code trigger} says who asked.
     */
    record Failover(String oldMaster, String candidate, List<String> others, String reason, Trigger trigger) implements Action {
        public Failover(String oldMaster, String candidate, List<String> others, String reason) {
            this(oldMaster, candidate, others, reason, new Trigger.Detected(0));
        }
    }

    /**
     * No instance takes writes, but the epoch's master is reachable and still holds every write its replicas hold (a
     * read-only master, or the state an aborted failover leaves): it takes writes again.
     */
    record Reopen(String master, String reason) implements Action {}

    /** Split brain: {@code instance} takes writes but is not the epoch's master; make it a replica of {@code master}. */
    record Demote(String instance, String master, String reason) implements Action {}

    // Issue 9, hole 4 (a Redis master restarted empty inside the detection window); decided by Regression.

    /**
     * The master came back with a regressed replication history (restarted empty, or from an old file): make
     * {@code instance} a replica of {@code holder}, which still holds the data, before the replicas resync from it and
     * empty themselves; then run {@code failover} to the holder (null when no holder may be promoted: an operator must).
     */
    record FenceRegressed(String instance, String holder, Failover failover, String reason) implements Action {}

    /** The master's history regressed and no reachable member holds the old data set any more: report, never follow. */
    record DataLost(String master, String reason) implements Action {}
}
