package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Carries out one failover step by step: before hook, fence, epoch, promote, re-point, after hook. Every step is on
 * the timeline with its time and reason. It stops at the first failed step (unless forced, for the before hook)
 * and reports the failover as failed, never as a success; before each change it checks the lock is still held.
 */
public final class FailoverRun {
    static final java.time.Duration DRAIN_MAX = java.time.Duration.ofSeconds(10);

    public record Outcome(boolean success, String message, Timeline timeline, long epoch) {}

    private final ClusterDefinition cluster;
    private final Servers servers;
    private final Catalog catalog;
    private final EpochStore epochs;
    private final BooleanSupplier stillLeader;

    public FailoverRun(ClusterDefinition cluster, Servers servers, Catalog catalog, EpochStore epochs, BooleanSupplier stillLeader) {
        this.cluster = cluster;
        this.servers = servers;
        this.catalog = catalog;
        this.epochs = epochs;
        this.stillLeader = stillLeader;
    }

    public Outcome run(Action.Failover f, Timeline timeline, boolean force) {
        EpochStore.Read before;
        try {
            before = epochs.read();
        } catch (IOException e) {
            return fail(timeline, "could not read the epoch: " + e.getMessage(), 0);
        }
        long epoch = before.state().epoch() + 1;
        Map<String, String> env = Map.of("FAILOVER_CLUSTER", cluster.name(), "FAILOVER_OLD_MASTER", f.oldMaster(),
                "FAILOVER_NEW_MASTER", f.candidate(), "FAILOVER_EPOCH", Long.toString(epoch), "FAILOVER_REASON", f.reason());
        timeline.add("decided", f.reason());
        if (!stillLeader.getAsBoolean()) return fail(timeline, "lost the manager lock before acting; nothing changed", epoch);

        String beforeError;
        try {
            catalog.deregisterMaster();
            beforeError = Hooks.run(cluster.hooks().before(), env, cluster.hooks().timeoutMs());
        } catch (IOException e) {
            beforeError = "deregistering the master from the catalog failed: " + e.getMessage();
        }
        if (beforeError != null) {
            if (!force) return fail(timeline, "before hook failed, failover aborted (nothing changed on the servers): " + beforeError, epoch);
            timeline.add("before hook failed (forced on)", beforeError);
        } else {
            timeline.add("master deregistered", "before hook done: master." + cluster.service() + " no longer answers " + f.oldMaster());
        }

        InstanceState old = servers.observe(f.oldMaster());
        if (old.reachable()) {
            try {
                servers.fence(f.oldMaster(), f.candidate());
                timeline.add("fenced", f.oldMaster() + " no longer takes writes (" + cluster.kind() + ": "
                        + ("mysql".equals(cluster.kind()) ? "read-only, left for failover rejoin" : "a replica of " + f.candidate()) + "), its clients disconnected");
            } catch (RuntimeException e) {
                return fail(timeline, "could not fence reachable old master " + f.oldMaster() + ": " + e.getMessage() + "; not promoting (two masters would take writes)", epoch);
            }
        } else {
            timeline.add("fence deferred", f.oldMaster() + " unreachable (" + old.error() + "); it is fenced when it returns (epoch " + epoch + " names the new master)");
        }

        // Whatever the candidate received from the old master is applied before it takes writes (a MySQL relay log).
        InstanceState drained = servers.drain(f.candidate(), DRAIN_MAX);
        if (!drained.reachable()) return fail(timeline, "candidate " + f.candidate() + " became unreachable: " + drained.error() + "; not promoting", epoch);
        // Issue 9 hole 1 (mysql/): a candidate that has not applied what it received is not caught up.
        if (drained.position().blocker() != null) {
            if (!force) return fail(timeline, "candidate " + f.candidate() + " is not ready: " + drained.position().blocker() + "; not promoting", epoch);
            timeline.add("NOT caught up (forced on)", f.candidate() + ": " + drained.position().blocker());
        } else {
            timeline.add("caught up", f.candidate() + " applied what it received: " + drained.position().text());
        }

        if (!stillLeader.getAsBoolean()) return fail(timeline, "lost the manager lock before promoting", epoch);
        try {
            if (!epochs.bump(before, new StoredState(epoch, f.candidate(), System.currentTimeMillis(), false), timeline.asRecords(), f.reason())) {
                return fail(timeline, "another manager changed the epoch meanwhile; not promoting", epoch);
            }
        } catch (IOException e) {
            return fail(timeline, "could not write epoch " + epoch + ": " + e.getMessage() + "; not promoting", epoch);
        }
        timeline.add("epoch", "epoch " + epoch + " names " + f.candidate());

        try {
            servers.promote(f.candidate(), force); // issue 9 hole 1: force reaches the kind's own refusal
        } catch (RuntimeException e) {
            return fail(timeline, "promoting " + f.candidate() + " failed: " + e.getMessage(), epoch);
        }
        timeline.add("promoted", f.candidate() + " is master");
        List<String> failedRepoints = repointAll(servers, f.others(), f.candidate());
        timeline.add("replicas re-pointed", f.others() + (failedRepoints.isEmpty() ? "" : ", failed: " + failedRepoints));

        List<String> replicas = new ArrayList<>(f.others());
        replicas.add(f.oldMaster());
        String afterError;
        try {
            catalog.register(f.candidate(), replicas);
            afterError = Hooks.run(cluster.hooks().after(), env, cluster.hooks().timeoutMs());
        } catch (IOException e) {
            afterError = "registering the new master in the catalog failed: " + e.getMessage();
        }
        if (afterError != null) return fail(timeline, "after hook failed: the new master runs but clients may not find it: " + afterError, epoch);
        timeline.add("dns moved", "master." + cluster.service() + " answers " + f.candidate());
        if (!failedRepoints.isEmpty()) return fail(timeline, "promoted, but some replicas could not be re-pointed: " + failedRepoints, epoch);
        return new Outcome(true, "failover to " + f.candidate() + " done (epoch " + epoch + ")", timeline, epoch);
    }

    /** Re-points each of {@code others} to {@code master}; returns the ones that failed, with why (one failure does not stop the rest). */
    static List<String> repointAll(Servers servers, List<String> others, String master) {
        List<String> failed = new ArrayList<>();
        for (String other : others) {
            try {
                servers.repoint(other, master);
            } catch (RuntimeException e) {
                failed.add(other + " (" + e.getMessage() + ")");
            }
        }
        return failed;
    }

    /** Ends a run as failed: the message goes on the timeline as its last step. */
    static Outcome fail(Timeline timeline, String message, long epoch) {
        timeline.add("FAILED", message);
        return new Outcome(false, message, timeline, epoch);
    }
}
