package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.Topology;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A graceful switchover while the master is alive (`failover promote`): pause writes on the master, wait until the
 * candidate has exactly the master's offset, promote it, make the old master its replica, re-point the others, then
 * move the epoch and the catalog. No acknowledged write is lost: every write acknowledged before the pause has
 * reached the candidate before it is promoted. If the candidate does not catch up in time, nothing changes.
 */
public final class Switchover {
    public static final long PAUSE_MILLIS = 5000;

    public record Plan(String master, String candidate, List<String> others, Position masterPosition, Position candidatePosition) {
        public String describe() {
            return "switchover: stop writes on " + master + " (" + masterPosition.text() + "), wait for " + candidate + " ("
                    + candidatePosition.text() + ") to reach it, promote " + candidate + ", make " + master + " its replica, re-point " + others
                    + ", bump the epoch, register " + candidate + " as master." ;
        }
    }

    private final ClusterDefinition cluster;
    private final Servers servers;
    private final Catalog catalog;
    private final EpochStore epochs;

    public Switchover(ClusterDefinition cluster, Servers servers, Catalog catalog, EpochStore epochs) {
        this.cluster = cluster;
        this.servers = servers;
        this.catalog = catalog;
        this.epochs = epochs;
    }

    /** The plan for the current topology, or an exception saying why there is none. */
    public Plan plan(Topology t, String to) {
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
                    .max(java.util.Comparator.comparingLong(InstanceState::offset)
                            .thenComparingInt(r -> cluster.promotion().priority().getOrDefault(r.address(), 0)))
                    .orElseThrow(() -> new IllegalStateException("no replica of " + master + " with a live link may be promoted"));
        }
        if (!candidate.masterLinkUp()) throw new IllegalStateException(candidate.address() + " has lost its link to " + master + ": it cannot catch up");
        if (candidate.position().blocker() != null) throw new IllegalStateException(candidate.address() + " must not be promoted: " + candidate.position().blocker());
        List<String> others = replicas.stream().map(InstanceState::address).filter(a -> !a.equals(candidate.address())).toList();
        return new Plan(master, candidate.address(), others, masters.get(0).position(), candidate.position());
    }

    public FailoverRun.Outcome run(Plan p, Timeline timeline) {
        timeline.add("decided", p.describe());
        EpochStore.Read before;
        try {
            before = epochs.read();
        } catch (IOException e) {
            return fail(timeline, "could not read the epoch: " + e.getMessage(), 0);
        }
        long epoch = before.state().epoch() + 1;
        servers.stopWrites(p.master(), Duration.ofMillis(PAUSE_MILLIS));
        timeline.add("writes stopped", p.master() + " acknowledges no write for at most " + PAUSE_MILLIS + " ms");
        Position target = servers.observe(p.master()).position();
        long deadline = System.nanoTime() + (PAUSE_MILLIS - 1000) * 1_000_000L;
        Position caughtUp = null;
        while (System.nanoTime() < deadline) {
            InstanceState c = servers.drain(p.candidate(), Duration.ofMillis(200));
            // Issue 9 hole 1: a blocker means received but not applied, and promote would refuse.
            if (c.reachable() && c.position().blocker() == null && c.position().covers(target)) { caughtUp = c.position(); break; }
            try { Thread.sleep(5); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        if (caughtUp == null) {
            servers.resumeWrites(p.master());
            return fail(timeline, p.candidate() + " did not reach " + target.text() + " in time; writes resumed on " + p.master() + ", nothing changed", epoch);
        }
        timeline.add("caught up", p.candidate() + " at " + caughtUp.text() + ", covering the master's " + target.text());
        try {
            catalog.deregisterMaster();
            if (!epochs.bump(before, new StoredState(epoch, p.candidate(), 0, true), timeline.asRecords(), "switchover by an operator")) {
                servers.resumeWrites(p.master());
                return fail(timeline, "another manager changed the epoch meanwhile; writes resumed, nothing changed", epoch);
            }
        } catch (IOException e) {
            servers.resumeWrites(p.master());
            return fail(timeline, "discovery node failed before the switch (" + e.getMessage() + "); writes resumed on " + p.master(), epoch);
        }
        timeline.add("epoch", "epoch " + epoch + " names " + p.candidate());
        servers.promote(p.candidate());
        timeline.add("promoted", p.candidate() + " is master");
        servers.fence(p.master(), p.candidate());
        servers.repoint(p.master(), p.candidate());
        servers.afterSwitchover(p.master());
        timeline.add("fenced", p.master() + " is a replica of " + p.candidate() + "; its paused clients are released and disconnected");
        List<String> failed = FailoverRun.repointAll(servers, p.others(), p.candidate());
        List<String> replicas = new ArrayList<>(p.others());
        replicas.add(p.master());
        try {
            catalog.register(p.candidate(), replicas);
        } catch (IOException e) {
            return fail(timeline, "switched, but the catalog could not be updated: " + e.getMessage(), epoch);
        }
        timeline.add("dns moved", "master." + cluster.service() + " answers " + p.candidate());
        if (!failed.isEmpty()) return fail(timeline, "switched, but some replicas could not be re-pointed: " + failed, epoch);
        return new FailoverRun.Outcome(true, "switchover to " + p.candidate() + " done (epoch " + epoch + ")", timeline, epoch);
    }

    private static FailoverRun.Outcome fail(Timeline t, String message, long epoch) { return FailoverRun.fail(t, message, epoch); }
}
