package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.SemiSync;
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
     * @param trigger   what asks: the HA loop after {@link Trigger.Detected#failures} observations in a row in which the
     *                  epoch's master was not a writable master, or an operator ({@link Trigger.Requested}: no count to
     *                  wait for, no block period; the same safety rules)
     * @param nowMillis the manager's clock, for the anti-flapping block only
     */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, Trigger trigger, long nowMillis) {
        return decide(cluster, topology, stored, null, trigger, nowMillis, null);
    }

    /** @param semiSync who could acknowledge the master's commits, as recorded while it was healthy (null: not known) */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, SemiSync semiSync, Trigger trigger,
                                long nowMillis) {
        return decide(cluster, topology, stored, semiSync, trigger, nowMillis, null);
    }

    /** With the master's recorded history only (see below). */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, Trigger trigger, long nowMillis,
                                MasterHistory history) {
        return decide(cluster, topology, stored, null, trigger, nowMillis, history);
    }

    /**
     * What the manager recorded while the master was healthy joins what it observes now: {@code semiSync}, who could
     * acknowledge the master's commits (null: not known; issue 9 hole 2, see {@link SemiSyncRule}), and {@code history},
     * the master's last healthy replication history (null: none), so that a master that came back with less is never
     * followed (issue 9 hole 4, see {@link Regression}).
     */
    public static Action decide(ClusterDefinition cluster, Topology topology, StoredState stored, SemiSync semiSync, Trigger trigger,
                                long nowMillis, MasterHistory history) {
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
        if (m.isPresent() && m.get().servesWrites()) return new Action.Healthy(master, "master " + master + " is up");
        // The epoch's master may still be writable by admins only (MariaDB read_only): that is no master for the
        // application, and no split brain either; it goes the read-only way below.
        List<InstanceState> others = masters.stream().filter(x -> !x.address().equals(master)).toList();
        if (others.size() == 1 && stored.master() != null && m.isPresent() && m.get().isReplica()
                && others.get(0).address().equals(m.get().masterAddress()) && others.get(0).servesWrites()) {
            // A run wrote the epoch and died (or lost the lock) before promoting, and the old master, unreachable
            // then, came back writable: its candidate still replicates from it, so it holds everything. The epoch
            // names the one writable master again rather than leaving the cluster without a master in DNS.
            String upstream = others.get(0).address();
            return new Action.Reopen(upstream, "epoch " + stored.epoch() + " names " + master + ", which was never promoted and still"
                    + " replicates from " + upstream + ", the one writable master: the epoch names " + upstream + " again");
        }
        if (others.size() == 1) {
            return new Action.Refuse(others.get(0).address() + " takes writes but epoch " + stored.epoch() + " names " + master
                    + " (" + m.map(Decide::describe).orElse("not a member") + "); not promoting anything: an operator must check");
        }
        if (m.isPresent() && m.get().isReplica()) {
            String upstream = m.get().masterAddress();
            if (masters.isEmpty() && stored.master() != null && cluster.members().contains(upstream) && !upstream.equals(master)) {
                // A failover that moved the epoch but never promoted its candidate (its manager died or lost the lock
                // in between): nobody takes writes. Decide as if the epoch still named the master it replicates from;
                // finishing that failover is no new one, so its block period does not hold it.
                Action a = decide(cluster, topology, new StoredState(stored.epoch(), upstream, 0, true), semiSync, trigger, nowMillis, history);
                String prefix = "epoch " + stored.epoch() + " names " + master + ", which was never promoted (it replicates from " + upstream + "); ";
                return switch (a) {
                    case Action.Failover f -> new Action.Failover(f.oldMaster(), f.candidate(), f.others(), prefix + f.reason(), f.trigger());
                    case Action.Reopen r -> new Action.Reopen(r.master(), prefix + r.reason());
                    case Action.Wait w -> new Action.Wait(prefix + w.reason());
                    case Action.Refuse r -> new Action.Refuse(prefix + r.reason());
                    case Action.Healthy h -> new Action.Refuse(prefix + "but " + h.master() + " is up; an operator must check");
                    case Action.Demote d -> new Action.Refuse(prefix + d.reason() + "; an operator must check");
                    case Action.FenceRegressed r -> r;
                    case Action.DataLost l -> l;
                };
            }
            return new Action.Refuse("epoch master " + master + " runs as a replica of " + upstream + "; an operator must check");
        }
        boolean readOnly = m.isPresent() && m.get().reachable() && m.get().role() == InstanceState.Role.MASTER;
        String problem = readOnly
                ? "master " + master + " is reachable but takes no writes (read-only, or fenced by an aborted failover) and no other instance does"
                : "master " + master + " unreachable";
        if (trigger instanceof Trigger.Detected d && d.failures() < cluster.detection().failures()) {
            return new Action.Wait(problem + " (" + d.failures() + "/" + cluster.detection().failures() + ")"
                    + (readOnly ? "" : ": " + m.map(InstanceState::error).orElse("not observed")));
        }
        if (m.isPresent() && m.get().reachable() && !readOnly) {
            return new Action.Refuse("master " + master + " is reachable but its role is unknown (" + m.get().detail() + "); not acting");
        }
        List<InstanceState> replicas = topology.instances().stream().filter(InstanceState::isReplica).toList();
        String why = problem + ", " + trigger.describe();
        if (readOnly) {
            InstanceState old = m.get();
            List<InstanceState> ahead = replicas.stream().filter(r -> !old.position().covers(r.position())).toList();
            if (trigger instanceof Trigger.Detected && ahead.isEmpty()) {
                return new Action.Reopen(master, why + "; it holds every write its reachable replicas hold (" + old.position().text()
                        + "): it takes writes again");
            }
            if (replicas.isEmpty()) return new Action.Refuse(why + "; no replica can be reached to promote");
            return choose(cluster, topology, semiSync, master, old, replicas,
                    why + (ahead.isEmpty() ? "" : "; replicas " + addresses(ahead) + " hold writes it lacks"), trigger);
        }
        // Confirmation: the replicas that can be reached must all have lost their link to the master.
        if (replicas.isEmpty()) return new Action.Refuse("master " + master + " unreachable but no replica can be reached to confirm or promote");
        // A replica linked to an address that is no member may name the master differently (a hostname, another IP):
        // it counts as still linked, so a manager cut off from the master never takes that for a death.
        List<InstanceState> stillLinked = replicas.stream().filter(r -> r.masterLinkUp()
                && (master.equals(r.masterAddress()) || !cluster.members().contains(r.masterAddress()))).toList();
        if (!stillLinked.isEmpty()) {
            return new Action.Refuse("master " + master + " unreachable from this manager, but replicas " + addresses(stillLinked)
                    + " still replicate from it: this manager is cut off, not the master dead; no failover");
        }
        if (trigger instanceof Trigger.Detected && stored.lastFailoverMillis() > 0 && !stored.acknowledged()) {
            // A clock that went back (another manager's host ahead of this one) must not make the age negative.
            long ageMillis = Math.max(0, nowMillis - stored.lastFailoverMillis());
            if (ageMillis < cluster.blockPeriodSeconds() * 1000) {
                return new Action.Refuse("master " + master + " confirmed dead, but the last failover (epoch " + stored.epoch() + ") was "
                        + ageMillis / 1000 + " s ago, within the " + cluster.blockPeriodSeconds()
                        + " s block period; acknowledge it (failover ack) or promote by hand");
            }
        }
        return choose(cluster, topology, semiSync, master, null, replicas, why + " and every reachable replica lost its link", trigger);
    }

    /**
     * The most advanced allowed replica, if it holds every write of the reachable replicas and of the old master when it
     * can be read ({@code old}, a read-only master); else a refusal saying why.
     */
    private static Action choose(ClusterDefinition cluster, Topology topology, SemiSync semiSync, String master, InstanceState old,
                                 List<InstanceState> replicas, String why, Trigger trigger) {
        // Every replica that may hold an acknowledged commit must be among those compared (semi-sync, issue 9 hole 2).
        Optional<String> unacknowledgeable = SemiSyncRule.refusal(semiSync, master, topology);
        if (unacknowledgeable.isPresent()) return new Action.Refuse(why + "; but " + unacknowledgeable.get());
        List<InstanceState> synced = replicas.stream().filter(InstanceState::synced).toList();
        if (synced.isEmpty()) {
            return new Action.Refuse(why + "; but no reachable replica ever completed a sync with it: promoting one would lose every write");
        }
        List<InstanceState> allowed = synced.stream().filter(r -> !cluster.promotion().never().contains(r.address())).toList();
        if (allowed.isEmpty()) return new Action.Refuse(why + "; but every synced replica is marked never-promote");
        Comparator<InstanceState> best = Comparator.<InstanceState>comparingLong(InstanceState::offset)
                .thenComparingInt(r -> cluster.promotion().priority().getOrDefault(r.address(), 0))
                .thenComparing(InstanceState::address, Comparator.reverseOrder());
        InstanceState candidate = allowed.stream().max(best).orElseThrow();
        if (candidate.position().blocker() != null) {
            return new Action.Refuse(why + "; but the best candidate " + candidate.address() + " must not be promoted: "
                    + candidate.position().blocker() + "; an operator must check it (failover promote --to ... --force)");
        }
        List<InstanceState> mustCover = new java.util.ArrayList<>(replicas);
        if (old != null) mustCover.add(old);
        List<InstanceState> notCovered = mustCover.stream().filter(r -> !candidate.position().covers(r.position())).toList();
        if (!notCovered.isEmpty()) {
            return new Action.Refuse(why + "; but no allowed candidate holds every write the reachable instances hold: " + candidate.address() + " ("
                    + candidate.position().text() + ") lacks some of " + notCovered.stream().map(r -> r.address() + " (" + r.position().text() + ")").toList()
                    + "; promoting it would lose writes; promote by hand with --force");
        }
        List<String> others = replicas.stream().map(InstanceState::address).filter(a -> !a.equals(candidate.address())).toList();
        return new Action.Failover(master, candidate.address(), others, why + "; promoting " + candidate.address() + " at "
                + candidate.position().text() + SemiSyncRule.warning(semiSync, master).map(w -> "; " + w).orElse(""), trigger);
    }

    private static String describe(InstanceState i) {
        if (!i.reachable()) return "unreachable";
        return i.role() == InstanceState.Role.MASTER ? (i.writable() ? "writable" : "read-only") : i.role().name().toLowerCase();
    }

    private static List<String> addresses(List<InstanceState> list) {
        return list.stream().map(InstanceState::address).toList();
    }
}
