package io.failoverkit.failover.act;

/**
 * The cluster lock a run acts under. {@link #valid} says whether its holder may still act (renewed recently enough,
 * see {@code cluster.Timings}); {@link #session} is the discovery session holding the lock, which every epoch write
 * checks in the same transaction (a holder whose session was invalidated cannot write an epoch, whatever its clock says).
 */
public interface LockHold {
    boolean valid();

    /** The session holding the lock now, or null when there is none (then no epoch can be written). */
    String session();
}
