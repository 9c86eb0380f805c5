package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.ReplicationHistory;
import io.failoverkit.failover.topology.Topology;

import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

import static io.failoverkit.failover.topology.ReplicationHistory.shortId;

/**
 * Issue 9, hole 4: a master whose replication history went back is never followed. A Redis master with persistence
 * off that a supervisor restarts inside the detection window answers again at once, with a new run id, a new
 * replication id and an empty data set; its replicas reconnect within about a second, find they cannot continue
 * their stream there, and full-resync from it: every copy of the data set is gone, while the master looks healthy.
 *
 * <p>A master's history regressed when its process changed (a new run id) since the manager last saw it healthy, and
 * its data set does not continue what it held then (the recorded stream at the recorded offset), or does not continue
 * what a replica still holds of that stream. Without a record (a manager that never saw this master healthy), a
 * master whose stream continues no earlier one (replid2 unset: a fresh start, not a promotion or a reload with
 * replication info) regressed when one of its own replicas holds another stream it does not continue, further than
 * the master's offset. A replica on the master's current stream is never evidence (see {@link #onCurrentStream}). Such a master is fenced as a replica of the member that still holds the old history (the most
 * advanced), and the cluster fails over to it; if no member holds it any more, the loss is reported and the master
 * is not followed (not registered, its write fencing left as it is).
 */
public final class Regression {
    private Regression() {}

    /** What a healthy master's observation contributes to the record, or null when it carries no replication history. */
    public static MasterHistory historyOf(InstanceState master) {
        if (!master.reachable() || !(master.position() instanceof ReplicationHistory h) || h.runId() == null) return null;
        return new MasterHistory(master.address(), h.runId(), h.replid(), h.offset());
    }

    /**
     * {@link Action.FenceRegressed} or {@link Action.DataLost} when {@code master}'s history regressed; null when it
     * did not, or when it cannot be judged (unreachable, or a kind without replication ids). Pure.
     */
    public static Action judge(ClusterDefinition cluster, Topology topology, String master, MasterHistory recorded) {
        InstanceState m = topology.get(master).orElse(null);
        if (m == null || !m.reachable() || !(m.position() instanceof ReplicationHistory now)) return null;
        MasterHistory rec = recorded != null && master.equals(recorded.address()) ? recorded : null;
        Predicate<InstanceState> holdsOld;
        String was;
        if (rec != null) {
            // The same process cannot have lost its stream (FLUSHALL is a write, replicated like any other).
            if (rec.runId() == null || rec.runId().equals(now.runId())) return null;
            Predicate<ReplicationHistory> shares = h -> rec.replid().equals(h.replid()) || rec.replid().equals(h.replid2());
            holdsOld = i -> history(i) != null && shares.test(history(i)) && history(i).offset() > 0
                    && !onCurrentStream(now, history(i)) && !now.continues(history(i).replid(), history(i).offset());
            boolean recordedLost = !now.continues(rec.replid(), rec.offset());
            if (!recordedLost && others(topology, master).stream().noneMatch(holdsOld)) return null;
            was = "it held replid " + shortId(rec.replid()) + " up to offset " + rec.offset() + " as run " + shortId(rec.runId())
                    + "; it now runs as " + shortId(now.runId());
        } else {
            if (!now.freshStream()) return null;
            holdsOld = i -> master.equals(i.masterAddress()) && history(i) != null && history(i).offset() > now.offset()
                    && !onCurrentStream(now, history(i)) && !now.continues(history(i).replid(), history(i).offset());
            if (others(topology, master).stream().noneMatch(holdsOld)) return null;
            was = "no healthy history of it was recorded, but its replicas hold a stream it does not continue; it runs as "
                    + shortId(now.runId());
        }
        String state = "master " + master + " came back with a regressed data set (" + was + " with replid " + shortId(now.replid())
                + " at offset " + now.offset() + ")";
        List<InstanceState> holders = others(topology, master).stream().filter(holdsOld).toList();
        if (holders.isEmpty()) {
            List<String> unreachable = topology.instances().stream().filter(i -> !i.reachable()).map(InstanceState::address).toList();
            return new Action.DataLost(master, "data set lost: master restarted empty and the replicas resynced from it; restore from backup. "
                    + state + " and no reachable member holds the old history"
                    + (unreachable.isEmpty() ? "" : " (unreachable, not checked: " + unreachable + ")")
                    + "; not following it: it is not registered and its write fencing is left as it is; `failover ack` once the"
                    + " data set is restored or its loss accepted");
        }
        Comparator<InstanceState> best = Comparator.<InstanceState>comparingLong(i -> history(i).offset())
                .thenComparingInt(i -> cluster.promotion().priority().getOrDefault(i.address(), 0))
                .thenComparing(InstanceState::address, Comparator.reverseOrder());
        List<InstanceState> allowed = holders.stream().filter(i -> !cluster.promotion().never().contains(i.address())).toList();
        InstanceState holder = (allowed.isEmpty() ? holders : allowed).stream().max(best).orElseThrow();
        String held = holder.address() + " holds the old history (replid " + shortId(history(holder).replid()) + " at offset "
                + history(holder).offset() + ")";
        String reason = state + ": its replicas would resync from it and empty themselves; " + held;
        if (allowed.isEmpty()) {
            return new Action.FenceRegressed(master, holder.address(), null, reason + ", but every member holding it is marked"
                    + " never-promote; fencing " + master + " as its replica; promote one by hand (failover promote --to ... --force)");
        }
        List<String> rest = topology.instances().stream().filter(InstanceState::isReplica).map(InstanceState::address)
                .filter(a -> !a.equals(master) && !a.equals(holder.address())).toList();
        Action.Failover failover = new Action.Failover(master, holder.address(), rest, reason + "; failing over to it");
        return new Action.FenceRegressed(master, holder.address(), failover, reason + "; fencing " + master
                + " as its replica, then failing over to it");
    }

    /**
     * A replica on the master's current stream (same replication id) is no evidence against it, whatever the offsets:
     * the master and its replicas are read one after the other, not at one instant, and under writes a replica read
     * later is ahead of the master's earlier reading. A CI run under load fenced a healthy master that way (its replica
     * at offset 331 on the master's own stream, the master read at 279). A restart that lost writes changes the stream
     * (a fresh start gets a new id) or falls behind the manager's record, and is judged by those.
     */
    private static boolean onCurrentStream(ReplicationHistory master, ReplicationHistory replica) {
        return master.replid() != null && master.replid().equals(replica.replid());
    }

    private static List<InstanceState> others(Topology topology, String master) {
        return topology.instances().stream().filter(i -> i.reachable() && !i.address().equals(master)).toList();
    }

    private static ReplicationHistory history(InstanceState i) {
        return i.position() instanceof ReplicationHistory h ? h : null;
    }
}
