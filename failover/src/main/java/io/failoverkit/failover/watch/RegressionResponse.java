package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.inst.Servers;

import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Issue 9, hole 4: what the lock-holding manager does about a master whose replication history regressed. The fence
 * comes first and at once, because the replicas are about to resync from it and empty themselves: it becomes a replica
 * of the member that still holds the data (then neither it nor that member serves anyone a sync). The manager then
 * observes again: the holder may have changed (a full sync that finished meanwhile empties a replica), in which case
 * the fence follows it, a bounded number of times. Then the failover to the holder goes through the normal path
 * (hooks, lock checks, epoch, catalog), on the same timeline.
 */
final class RegressionResponse {
    static final int MAX_FENCE_ROUNDS = 3;

    private RegressionResponse() {}

    /**
     * @param decideAgain observes every member again and decides with the same stored state and history
     * @param runFailover the usual failover run (FailoverRun), on the given timeline
     */
    static FailoverRun.Outcome fenceThenFailOver(Action.FenceRegressed first, ClusterDefinition cluster, Servers servers,
                                                 BooleanSupplier isLeader, Supplier<Action> decideAgain,
                                                 BiFunction<Action.Failover, Timeline, FailoverRun.Outcome> runFailover) {
        Timeline t = new Timeline(cluster.name());
        t.add("detected", first.reason());
        Action.FenceRegressed f = first;
        for (int round = 1; ; round++) {
            if (!isLeader.getAsBoolean()) return failed(t, "lost the manager lock before fencing " + f.instance() + "; nothing changed");
            try {
                servers.fenceRegressed(f.instance(), f.holder());
                t.add("fenced", f.instance() + " is a replica of " + f.holder() + " (neither serves a sync while its own link is down),"
                        + " its replicas' and clients' connections cut");
            } catch (RuntimeException e) {
                t.add("fence failed", "could not make " + f.instance() + " a replica of " + f.holder() + ": " + e.getMessage());
            }
            Action again = decideAgain.get();
            if (again instanceof Action.FenceRegressed g && g.holder().equals(f.holder())) {
                f = g;
                break;
            }
            if (!(again instanceof Action.FenceRegressed g) || round == MAX_FENCE_ROUNDS) {
                return failed(t, "not failing over: after the fence, " + again.reason());
            }
            t.add("holder changed", f.holder() + " no longer holds the most of the old history: " + g.reason());
            f = g;
        }
        if (f.failover() == null) return failed(t, "fenced, but not failing over: " + f.reason());
        return runFailover.apply(f.failover(), t);
    }

    private static FailoverRun.Outcome failed(Timeline t, String message) {
        t.add("FAILED", message);
        return new FailoverRun.Outcome(false, message, t, 0);
    }
}
