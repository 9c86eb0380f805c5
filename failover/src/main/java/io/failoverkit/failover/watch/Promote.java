package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Switchover;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.Decide;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.Topology;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * `failover promote`: a switchover when the master is alive, a failover when it is dead. Runs only while holding the
 * cluster's lock, so it never acts at the same time as a `failover watch` manager (stop that one, or let it act).
 */
public final class Promote {
    public record Result(boolean success, String message, Timeline timeline) {}

    private Promote() {}

    public static Result run(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, String to, boolean dryRun, boolean force) throws IOException {
        Topology t = servers.observeAll(cluster.members());
        Catalog catalog = new Catalog(discovery, cluster.service());
        EpochStore epochs = new EpochStore(discovery, cluster.name());
        Timeline timeline = new Timeline(cluster.name());
        boolean masterAlive = t.masters().size() == 1;
        Switchover switchover = new Switchover(cluster, servers, catalog, epochs);
        Switchover.Plan plan = null;
        Action.Failover failover = null;
        if (masterAlive) {
            try {
                plan = switchover.plan(t, to);
            } catch (IllegalStateException e) {
                return new Result(false, "no switchover possible: " + e.getMessage(), timeline);
            }
            if (dryRun) return new Result(true, "dry run, nothing changed. Plan: " + plan.describe(), timeline);
        } else {
            Action a = Decide.decide(cluster, servers.drainAll(t, Duration.ofSeconds(10)), epochs.read().state(), Integer.MAX_VALUE, System.currentTimeMillis());
            if (!(a instanceof Action.Failover f)) return new Result(false, "no failover: " + a.reason(), timeline);
            if (to != null && !to.equals(f.candidate()) && !force) {
                return new Result(false, "the most advanced replica is " + f.candidate() + ", not " + to + "; use --force to promote " + to + " anyway", timeline);
            }
            failover = to == null ? f : new Action.Failover(f.oldMaster(), to, f.others().stream().filter(o -> !o.equals(to)).toList(), f.reason() + "; operator chose " + to);
            if (dryRun) return new Result(true, "dry run, nothing changed. Plan: failover: " + failover.reason(), timeline);
        }
        String session = discovery.createSession("failover promote " + cluster.name(), Duration.ofSeconds(30));
        try {
            Optional<DiscoveryClient.KvEntry> lock = discovery.get(epochs.lockKey());
            if (lock.isPresent() && lock.get().session() != null && !lock.get().session().isEmpty()) {
                return new Result(false, "a manager holds " + epochs.lockKey() + " (" + lock.get().text() + "); stop it first", timeline);
            }
            if (!discovery.acquire(epochs.lockKey(), session, "failover promote")) return new Result(false, "could not take " + epochs.lockKey(), timeline);
            long validUntil = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            FailoverRun.Outcome o = plan != null ? switchover.run(plan, timeline)
                    : new FailoverRun(cluster, servers, catalog, epochs, () -> System.nanoTime() < validUntil).run(failover, timeline, force);
            return new Result(o.success(), o.message(), timeline);
        } finally {
            try { discovery.release(epochs.lockKey(), session); } finally { discovery.destroySession(session); }
        }
    }
}
