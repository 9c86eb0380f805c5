package io.failoverkit.failover.guard;

/**
 * The guard's decision, a pure function of what one round read (as {@code decide.Decide} is for the manager): no I/O
 * and no clock, so every rule is tested without servers. When a writable instance cannot be shown to be the epoch's
 * master within the grace period, it is fenced: the guard prefers a read-only master to two writable ones.
 */
public final class GuardDecision {
    private GuardDecision() {}

    /**
     * @param instance           this guard's instance, as the cluster definition names it
     * @param sinceConfirmedMs   milliseconds since the read that last confirmed this instance was sent; negative when
     *                           none ever did (a guard that just started has no confirmation to lean on)
     * @param graceMs            how long a writable instance may go unconfirmed
     */
    public static Verdict decide(String instance, EpochView epoch, LocalView local, long sinceConfirmedMs, long graceMs) {
        switch (local.state()) {
            case UNREACHABLE -> {
                return new Verdict.Unknown("cannot observe " + instance + ": " + local.detail() + "; nothing changed");
            }
            case REPLICA -> {
                return new Verdict.Replica(instance + " is a replica (" + local.detail() + "): it takes no writes");
            }
            case FENCED -> {
                return new Verdict.Fenced(instance + " takes no writes (" + local.detail() + ") and is no replica; "
                        + describe(epoch) + "; left for the manager (un-fence) or failover rejoin");
            }
            case WRITABLE -> { }
        }
        return switch (epoch) {
            case EpochView.Names n when n.master() != null && n.master().equals(instance) ->
                    new Verdict.Confirmed(n.epoch(), "epoch " + n.epoch() + " names " + instance + " master (read from " + n.via() + ")");
            case EpochView.Names n -> new Verdict.Fence(n.master(), "writable, but epoch " + n.epoch() + " names "
                    + (n.master() == null ? "no master" : n.master()) + " (read from " + n.via() + "): another master may take writes");
            case EpochView.None none -> new Verdict.NoEpoch("no epoch recorded yet (" + none.via() + "): no failover ever promoted "
                    + "another master, nothing to guard against");
            case EpochView.Unconfirmed u when sinceConfirmedMs >= 0 && sinceConfirmedMs < graceMs -> new Verdict.Waiting(
                    graceMs - sinceConfirmedMs, "writable and unconfirmed for " + sinceConfirmedMs + " ms (" + u.why() + "); fencing in "
                    + (graceMs - sinceConfirmedMs) + " ms unless the epoch confirms " + instance);
            case EpochView.Unconfirmed u -> new Verdict.Fence(null, "writable and " + (sinceConfirmedMs < 0 ? "never confirmed"
                    : "unconfirmed for " + sinceConfirmedMs + " ms") + ", longer than the " + graceMs + " ms grace (" + u.why()
                    + "): a manager on the other side may have promoted another master");
        };
    }

    private static String describe(EpochView epoch) {
        return switch (epoch) {
            case EpochView.Names n -> "epoch " + n.epoch() + " names " + n.master();
            case EpochView.None n -> "no epoch recorded";
            case EpochView.Unconfirmed u -> "epoch unconfirmed (" + u.why() + ")";
        };
    }
}
