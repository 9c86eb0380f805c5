package io.failoverkit.failover.guard;

/**
 * What the guard decided in one round, with the sentence it logs. Only {@link Fence} changes the server; nothing the
 * guard decides ever makes an instance writable (un-fencing is the manager's job).
 */
public sealed interface Verdict {
    String reason();

    /** The nagios-style exit code of `failover guard --once` for this verdict. */
    int exitCode();

    /** The epoch names this instance and it takes writes: the confirmation that restarts the grace period. */
    record Confirmed(long epoch, String reason) implements Verdict {
        public int exitCode() { return 0; }
    }

    /** A replica: it takes no writes, there is nothing to guard. */
    record Replica(String reason) implements Verdict {
        public int exitCode() { return 0; }
    }

    /** No epoch was ever recorded: no failover has promoted anyone, so nothing can compete with this instance. */
    record NoEpoch(String reason) implements Verdict {
        public int exitCode() { return 1; }
    }

    /** Writable and not confirmed, but the last confirmation is younger than the grace period. */
    record Waiting(long fenceInMillis, String reason) implements Verdict {
        public int exitCode() { return 2; }
    }

    /**
     * Writable and either the epoch names another instance or no confirmation came within the grace period: stop its
     * writes now. {@code epochMaster} is the master the epoch names, null when unknown.
     */
    record Fence(String epochMaster, String reason) implements Verdict {
        public int exitCode() { return 2; }
    }

    /** Not a replica and not writable: already fenced (by the guard or the manager); left alone. */
    record Fenced(String reason) implements Verdict {
        public int exitCode() { return 2; }
    }

    /** The local instance could not be observed: nothing is known, nothing is changed. */
    record Unknown(String reason) implements Verdict {
        public int exitCode() { return 3; }
    }
}
