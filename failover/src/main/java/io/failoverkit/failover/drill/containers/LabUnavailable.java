package io.failoverkit.failover.drill.containers;

/**
 * A container lab cannot be had here: no Docker engine answers, a local lab image is not built, or (MySQL 8) no
 * {@code mysql} image is in the engine. The drills' tests skip on it, saying why ({@code drills}' LabUnavailableSkips);
 * {@code failover drill --lab containers} stops with it as its error. Under {@code CI=true} a missing engine or lab
 * image is no such case but an {@link IllegalStateException}: CI must run the container drills.
 */
public final class LabUnavailable extends RuntimeException {
    public LabUnavailable(String reason) {
        super(reason);
    }
}
