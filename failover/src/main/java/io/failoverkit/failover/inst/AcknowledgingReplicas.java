package io.failoverkit.failover.inst;

import io.failoverkit.failover.topology.SemiSync;
import io.failoverkit.failover.topology.Topology;

import java.util.Optional;

/**
 * An optional capability of a {@link Servers} kind whose master may wait for replicas to acknowledge commits (MySQL
 * semi-sync): who can acknowledge {@code master}'s commits, as seen in the last observation of {@code topology}.
 * Empty when the kind cannot tell (the master's own settings could not be read).
 */
public interface AcknowledgingReplicas {
    Optional<SemiSync> semiSync(Topology topology, String master, long nowMillis);
}
