package io.failoverkit.failover.decide;

import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.SemiSync;
import io.failoverkit.failover.topology.Topology;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Semi-sync's promise at failover time. With semi-sync in effect, a commit was acknowledged to its client only after
 * one replica acknowledged it, and that may be any member able to acknowledge. The candidates and the "covers" check
 * only see reachable replicas, so each possible acknowledger must be among them; otherwise the one replica holding
 * an acknowledged commit may be the one left out. Pure.
 */
public final class SemiSyncRule {
    private SemiSyncRule() {}

    /** Why promoting now could lose an acknowledged commit (a refusal), or empty. */
    public static Optional<String> refusal(SemiSync s, String deadMaster, Topology t) {
        if (s == null || !s.enabled() || !s.active() || !deadMaster.equals(s.master())) return Optional.empty();
        List<String> missing = new ArrayList<>();
        for (String acker : s.ackers()) {
            if (acker.equals(deadMaster)) continue;
            Optional<InstanceState> i = t.get(acker);
            if (i.isEmpty()) missing.add(acker + " (not observed)");
            else if (!i.get().reachable()) missing.add(acker + " (unreachable: " + i.get().error() + ")");
            else if (!i.get().isReplica()) missing.add(acker + " (reachable but not a replica, so not compared)");
        }
        if (missing.isEmpty()) return Optional.empty();
        return Optional.of("semi-sync was in effect on " + deadMaster + " (recorded " + Instant.ofEpochMilli(s.updatedAtMillis())
                + "), and a commit may have been acknowledged by " + missing + " alone: no reachable replica can be shown to hold every"
                + " acknowledged commit, so promoting one could lose writes clients were told are safe. Bring it back (or promote by hand"
                + " with --force, accepting that loss)");
    }

    /** A warning for the timeline when the master had fallen back to async, or empty. */
    public static Optional<String> warning(SemiSync s, String deadMaster) {
        if (s == null || !s.enabled() || s.active() || !deadMaster.equals(s.master())) return Optional.empty();
        return Optional.of("WARNING: semi-sync on " + deadMaster + " had fallen back to async (recorded "
                + Instant.ofEpochMilli(s.updatedAtMillis()) + "): writes acknowledged since then may be lost");
    }
}
