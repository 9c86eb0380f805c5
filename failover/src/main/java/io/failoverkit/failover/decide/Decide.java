package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The HA decision, a pure function of what was observed and what is stored (as Patroni's cycle and orchestrator's
 * logic): no I/O, so every rule is tested without servers. When unsure, it does not promote.
 */
public final class Decide {
    private Decide() {}

    /**
     * @param masterFailures how many observations in a row could not reach the master
     * @param nowMillis      the manager's clock, for the anti-flapping block only
     */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, int masterFailures, long nowMillis) {
        return decide(cluster, topology, stored, masterFailures, nowMillis, null);
    }

    /**
     * As above, with {@code history}: the master's last healthy replication history as the manager recorded it (null:
     * none), so that a master that came back with less is never followed (issue 9, hole 4; see {@link Regression}).
     */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, int masterFailures, long nowMillis,
                                MasterHistory history) {
        List<InstanceState> masters = topology.masters();
        String master = stored.master() != null ? stored.master() : masters.size() == 1 ? masters.get(0).address() : null;

        if (masters.size() > 1) {
            if (master == null || masters.stream().noneMatch(m -> m.address().equals(master))) {
                return new Action.Refuse("split brain: " + masters.size() + " writable masters " + addresses(masters)
                        + " and no epoch master among them to keep; an operator must choose (failover promote --to)");
            }
            InstanceState extra = masters.stream().filter(m -> !m.address().equals(master)).findFirst().orElseThrow();
            return new Action.Demote(extra.address(), master, "split brain: " + extra.address() + " is writable but epoch "
                    + stored.epoch() + " names " + master + " as master");
        }
        if (master == null) {
            return new Action.Refuse("no master: none of " + cluster.members() + " is a master and no epoch names one");
        }
        // Issue 9, hole 4: before the master is taken as healthy (or as a replica an operator must check), its history.
        // Not held back by the block period: following a regressed master loses the data set for good.
        Action regressed = Regression.judge(cluster, topology, master, history);
        if (regressed != null) return regressed;
        Optional<InstanceState> m = topology.get(master);
        if (m.isPresent() && m.get().isMaster()) return new Action.Healthy(master, "master " + master + " is up");
        if (m.isPresent() && m.get().isReplica()) {
            return new Action.Refuse("epoch master " + master + " runs as a replica of " + m.get().masterAddress() + "; an operator must check");
        }
        if (masterFailures < cluster.detection().failures()) {
            return new Action.Wait("master " + master + " unreachable (" + masterFailures + "/" + cluster.detection().failures() + "): "
                    + m.map(InstanceState::error).orElse("not observed"));
        }
        // Confirmation: the replicas that can be reached must all have lost their link to the master.
        List<InstanceState> replicas = topology.instances().stream().filter(InstanceState::isReplica).toList();
        if (replicas.isEmpty()) return new Action.Refuse("master " + master + " unreachable but no replica can be reached to confirm or promote");
        // A replica linked to an address that is no member may name the master differently (a hostname, another IP):
        // it counts as still linked, so a manager cut off from the master never takes that for a death.
        List<InstanceState> stillLinked = replicas.stream().filter(r -> r.masterLinkUp()
                && (master.equals(r.masterAddress()) || !cluster.members().contains(r.masterAddress()))).toList();
        if (!stillLinked.isEmpty()) {
            return new Action.Refuse("master " + master + " unreachable from this manager, but replicas " + addresses(stillLinked)
                    + " still replicate from it: this manager is cut off, not the master dead; no failover");
        }
        if (stored.lastFailoverMillis() > 0 && !stored.acknowledged()
                && nowMillis - stored.lastFailoverMillis() < cluster.blockPeriodSeconds() * 1000) {
            return new Action.Refuse("master " + master + " confirmed dead, but the last failover (epoch " + stored.epoch() + ") was "
                    + (nowMillis - stored.lastFailoverMillis()) / 1000 + " s ago, within the " + cluster.blockPeriodSeconds()
                    + " s block period; acknowledge it (failover ack) or promote by hand");
        }
        List<InstanceState> synced = replicas.stream().filter(InstanceState::synced).toList();
        if (synced.isEmpty()) {
            return new Action.Refuse("master " + master + " is dead but no reachable replica ever completed a sync with it: promoting one would lose every write");
        }
        List<InstanceState> allowed = synced.stream().filter(r -> !cluster.promotion().never().contains(r.address())).toList();
        if (allowed.isEmpty()) return new Action.Refuse("master " + master + " is dead but every synced replica is marked never-promote");
        Comparator<InstanceState> best = Comparator.<InstanceState>comparingLong(InstanceState::offset)
                .thenComparingInt(r -> cluster.promotion().priority().getOrDefault(r.address(), 0))
                .thenComparing(InstanceState::address, Comparator.reverseOrder());
        InstanceState candidate = allowed.stream().max(best).orElseThrow();
        if (candidate.position().blocker() != null) {
            return new Action.Refuse("master " + master + " is dead but the best candidate " + candidate.address() + " must not be promoted: "
                    + candidate.position().blocker() + "; an operator must check it (failover promote --to ... --force)");
        }
        List<InstanceState> notCovered = replicas.stream().filter(r -> !candidate.position().covers(r.position())).toList();
        if (!notCovered.isEmpty()) {
            return new Action.Refuse("no allowed candidate holds every write the reachable replicas hold: " + candidate.address() + " ("
                    + candidate.position().text() + ") lacks some of " + notCovered.stream().map(r -> r.address() + " (" + r.position().text() + ")").toList()
                    + "; promoting it would lose writes; promote by hand with --force");
        }
        List<String> others = replicas.stream().map(InstanceState::address).filter(a -> !a.equals(candidate.address())).toList();
        return new Action.Failover(master, candidate.address(), others, "master " + master + " unreachable " + masterFailures
                + " times and every reachable replica lost its link; promoting " + candidate.address() + " at " + candidate.position().text());
    }

    private static List<String> addresses(List<InstanceState> list) {
        return list.stream().map(InstanceState::address).toList();
    }
}
