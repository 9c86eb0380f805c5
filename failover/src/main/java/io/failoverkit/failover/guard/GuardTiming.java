package io.failoverkit.failover.guard;

import io.failoverkit.failover.cluster.ClusterDefinition;

/**
 * The guard's timing and the relation it must keep with the manager's, so that a primary cut off from the manager,
 * the replicas and the discovery servers stops taking writes before a new master can be promoted.
 *
 * <p>The guard reads the epoch every {@code intervalMs}, each read bounded by {@code timeoutMs} (the local instance is
 * observed in parallel), and fences once {@code graceMs} passed since the read that last confirmed it was sent. A
 * confirmation sent at S is the newest the guard has when the partition starts at T0 >= S, so it fences by
 * <pre>  S + grace + interval + timeout + fence  <=  T0 + {@link #worstFenceMs}</pre>
 * (the round that finds the grace over may start up to one interval after it ended, and its read may take the
 * timeout; the fence itself, killing the clients and setting read-only on a local server, is allowed
 * {@link #FENCE_ALLOWANCE_MS}).
 *
 * <p>The earliest a manager on the other side can promote after T0: it counts an unreachable master once per
 * detection interval and fails over at {@code failures} in a row, so its first promotion comes no sooner than
 * {@code (failures - 1) x intervalMs} after T0 (the first failed observation may start right at T0 and a refused
 * connection fails at once; the replicas' confirmation, a drain and the epoch write only add to it, and are taken as
 * zero here). With the default detection (300 ms x 3) that is 600 ms. When the manager itself was cut off with the
 * primary or died, another one first waits out the session's TTL and its lock delay ({@code cluster.Timings}),
 * which only adds to it. So the guard keeps {@code worstFenceMs < earliestPromotionMs}; defaults 250 + 100 + 150 + 50
 * = 550 ms < 600 ms. The one case this bound cannot cover: the manager lost the primary earlier (a partition between
 * them alone, on which it rightly does not fail over) and the replicas are cut later; then the promotion follows the
 * replicas' confirmation with nothing to wait for, and only semi-sync keeps the old primary from acknowledging a
 * write: its rpl_semi_sync_master_timeout must exceed {@link #worstFenceMs} (see the README).
 */
public record GuardTiming(long intervalMs, long timeoutMs, long graceMs) {
    public static final GuardTiming DEFAULT = new GuardTiming(100, 150, 250);
    /** Time allowed for the fence itself on a local server (measured: a few ms for MariaDB's kill + read_only). */
    public static final long FENCE_ALLOWANCE_MS = 50;

    /** From the send of the last confirming read to the fence, at worst. */
    public long worstFenceMs() { return graceMs + intervalMs + timeoutMs + FENCE_ALLOWANCE_MS; }

    /** The earliest a manager can promote another master after the guard's host was cut off (see the class comment). */
    public static long earliestPromotionMs(ClusterDefinition.Detection d) {
        return (d.failures() - 1L) * d.intervalMs();
    }

    /** Why these timings cannot protect {@code cluster}, or null when they can. */
    public String problem(ClusterDefinition cluster) {
        if (intervalMs < 10 || timeoutMs < 10 || graceMs < 10) return "interval, timeout and grace must each be at least 10 ms";
        if (graceMs < intervalMs + timeoutMs) {
            return "grace " + graceMs + " ms is shorter than interval + timeout (" + (intervalMs + timeoutMs)
                    + " ms): one slow read would fence a healthy master; give it at least two reads";
        }
        ClusterDefinition.Detection d = cluster.detection();
        long earliest = earliestPromotionMs(d);
        if (worstFenceMs() >= earliest) {
            return "the guard could fence only " + worstFenceMs() + " ms after losing contact (grace " + graceMs + " + interval " + intervalMs
                    + " + timeout " + timeoutMs + " + fence " + FENCE_ALLOWANCE_MS + "), but cluster " + cluster.name()
                    + " can promote a new master " + earliest + " ms after it (detection " + d.failures() + " failures x "
                    + d.intervalMs() + " ms, counted from the first: (" + d.failures() + " - 1) x " + d.intervalMs()
                    + "); shorten --grace-ms/--interval-ms/--timeout-ms or slow the cluster's detection";
        }
        return null;
    }

    /** The relation with its numbers, for the guard's first log line. */
    public String relation(ClusterDefinition cluster) {
        long earliest = earliestPromotionMs(cluster.detection());
        return "fences within " + worstFenceMs() + " ms of losing contact (grace " + graceMs + " + interval " + intervalMs + " + timeout "
                + timeoutMs + " + fence " + FENCE_ALLOWANCE_MS + "), before the earliest promotion " + earliest + " ms ("
                + cluster.detection().failures() + " - 1 failures x " + cluster.detection().intervalMs() + " ms): margin "
                + (earliest - worstFenceMs()) + " ms";
    }
}
