package io.failoverkit.failover.decide;

/**
 * Why {@link Decide} is asked (as orchestrator forces an analysis code for a manual recovery): the HA loop after
 * observing a problem, or an operator's `failover promote`. The same rules apply to both; the trigger changes what
 * must be confirmed first and what the reason says.
 */
public sealed interface Trigger {
    /** What the reason and FAILOVER_REASON say about it. */
    String describe();

    /**
     * The HA loop: {@code failures} observations in a row found the epoch's master not a writable master (unreachable,
     * or reachable but refusing writes with no other writable instance).
     */
    record Detected(int failures) implements Trigger {
        public Detected {
            if (failures < 0) throw new IllegalArgumentException("failures must not be negative");
        }

        @Override public String describe() { return "detected in " + failures + " observations in a row"; }
    }

    /** An operator asked for a promotion (`failover promote`, by {@code by}): no detection count to wait for, no block period. */
    record Requested(String by) implements Trigger {
        @Override public String describe() { return "requested by an operator" + (by == null || by.isBlank() ? "" : " (" + by + ")"); }
    }
}
