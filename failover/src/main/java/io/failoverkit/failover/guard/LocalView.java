package io.failoverkit.failover.guard;

/** The guard's local instance as observed in one round: whether it takes writes, and the kind's own words for the log. */
public record LocalView(State state, String detail) {
    public enum State {
        /** Replicates from nobody and takes client writes: the state the guard exists to end when unconfirmed. */
        WRITABLE,
        /** Replicates from nobody but refuses writes (read-only, or fenced by the guard or the manager). */
        FENCED,
        /** A replica: takes no client writes. */
        REPLICA,
        /** Could not be observed; {@code detail} says why. */
        UNREACHABLE
    }

    public static LocalView unreachable(String why) { return new LocalView(State.UNREACHABLE, why); }
}
