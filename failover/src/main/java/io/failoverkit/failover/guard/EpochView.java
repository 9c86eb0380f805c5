package io.failoverkit.failover.guard;

/**
 * What the guard could learn of the cluster's epoch ({@code failover/<cluster>/epoch}) in one consistent read: the
 * master it names, that no epoch was ever written, or that no discovery server answered in time (unreachable, no
 * leader, no quorum). Only {@link Names} read within the grace period can keep a writable instance writable.
 */
public sealed interface EpochView {
    /** Epoch {@code epoch} names {@code master}; {@code via} is the server that answered. */
    record Names(long epoch, String master, String via) implements EpochView {}

    /** The key does not exist: no manager has recorded a master yet, so no failover has promoted anyone. */
    record None(String via) implements EpochView {}

    /** No consistent answer within the read timeout; {@code why} says what each server did. */
    record Unconfirmed(String why) implements EpochView {}
}
