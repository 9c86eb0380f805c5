package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.Topology;

import java.util.Comparator;
import java.util.List;

/**
 * Planning a graceful switchover while the master is alive (`failover promote`). {@link FailoverRun#switchover}
 * carries it out on the same path as a failover, adding two steps: stop writes on the master, and wait until the
 * candidate holds exactly what the master holds. No acknowledged write is lost: every write acknowledged before the
 * stop has reached the candidate before it is promoted. If the candidate does not catch up in time, writes resume and
 * nothing else changes.
 */
public final class Switchover {
    private Switchover() {}

    public record Plan(String master, String candidate, List<String> others, Position masterPosition, Position candidatePosition) {
        public String describe() {
            return "switchover: stop writes on " + master + " (" + masterPosition.text() + "), wait for " + candidate + " ("
                    + candidatePosition.text() + ") to reach it, fence " + master + ", bump the epoch, promote " + candidate
                    + ", make " + master + " its replica, re-point " + others + ", register " + candidate + " as master.";
        }
    }

    /** The plan for the current topology, or an exception saying why there is none. */
    public static Plan plan(ClusterDefinition cluster, Topology t, String to) {
        List<InstanceState> masters = t.masters();
        if (masters.size() != 1) throw new IllegalStateException("a switchover needs exactly one live master; found " + masters.size());
        String master = masters.get(0).address();
        List<InstanceState> replicas = t.replicasOf(master);
        InstanceState candidate;
        if (to != null) {
            candidate = replicas.stream().filter(r -> r.address().equals(to)).findFirst()
                    .orElseThrow(() -> new IllegalStateException(to + " is not a live replica of " + master));
        } else {
            candidate = replicas.stream().filter(r -> r.masterLinkUp() && !cluster.promotion().never().contains(r.address()))
                    .max(Comparator.comparingLong(InstanceState::offset)
                            .thenComparingInt(r -> cluster.promotion().priority().getOrDefault(r.address(), 0)))
                    .orElseThrow(() -> new IllegalStateException("no replica of " + master + " with a live link may be promoted"));
        }
        if (!candidate.masterLinkUp()) throw new IllegalStateException(candidate.address() + " has lost its link to " + master + ": it cannot catch up");
        if (candidate.position().blocker() != null) throw new IllegalStateException(candidate.address() + " must not be promoted: " + candidate.position().blocker());
        List<String> others = replicas.stream().map(InstanceState::address).filter(a -> !a.equals(candidate.address())).toList();
        return new Plan(master, candidate.address(), others, masters.get(0).position(), candidate.position());
    }
}
