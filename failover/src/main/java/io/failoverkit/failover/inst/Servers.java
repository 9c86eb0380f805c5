package io.failoverkit.failover.inst;

import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;

import java.time.Duration;
import java.util.List;

/**
 * How failoverkit reads and changes the servers of one kind (orchestrator's "inst" side): observe, promote,
 * re-point, fence, stop and resume writes. Implementations hold no decision logic; every call is bounded by the
 * cluster's timeout so a frozen server costs one timeout, never a stuck manager (a destructive call at most
 * {@code Timings.stepLimit}). Calls that change a server throw
 * {@link RuntimeException} with a message fit for the timeline when they fail.
 */
public interface Servers extends AutoCloseable {
    InstanceState observe(String address);

    default Topology observeAll(List<String> members) {
        return new Topology(members.parallelStream().map(this::observe).toList());
    }

    /**
     * Makes the candidate ready to be compared and promoted: a MySQL replica applies what it already received (its
     * relay log) within {@code max}. Returns the state after that. Redis applies as it receives: nothing to wait for.
     */
    default InstanceState drain(String candidate, Duration max) { return observe(candidate); }

    /**
     * {@link #drain} on every replica of {@code t} at once, so that candidates are compared on what they will hold. Each
     * drain runs on its own virtual thread (not the common ForkJoin pool, which other work shares and which a few
     * blocked drains exhaust); a drain that has not returned after {@code max} plus a grace period counts as unreachable.
     */
    default Topology drainAll(Topology t, Duration max) {
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<InstanceState>> fs = t.instances().stream()
                    .map(i -> pool.submit(() -> i.isReplica() ? drain(i.address(), max) : i)).toList();
            long deadline = System.nanoTime() + max.plusSeconds(5).toNanos();
            List<InstanceState> out = new java.util.ArrayList<>();
            for (int n = 0; n < fs.size(); n++) {
                try {
                    out.add(fs.get(n).get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS));
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    fs.get(n).cancel(true);
                    out.add(InstanceState.unreachable(t.instances().get(n).address(), "drain did not finish: " + e));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    out.add(InstanceState.unreachable(t.instances().get(n).address(), "drain interrupted"));
                }
            }
            pool.shutdownNow();
            return new Topology(out);
        }
    }

    /** The instance stops replicating and takes writes. */
    void promote(String address);

    /**
     * {@link #promote(String)}; {@code force} (an operator's --force) lets a kind go on where it would refuse to lose
     * data, e.g. a MySQL replica whose relay log was received but not applied. Kinds with nothing to refuse ignore it.
     */
    default void promote(String address, boolean force) { promote(address); }

    /** The instance becomes (or stays) a read-only replica of {@code master}. */
    void repoint(String address, String master);

    /**
     * First step with a reachable old master, before anything is promoted: it stops taking writes until
     * {@link #resumeWrites} or {@link #demote}, and its client connections are killed so none keeps writing through an
     * old connection (Redis: writes refused with an unsatisfiable min-replicas-to-write; MySQL: read-only). It keeps
     * its replication role: nothing replicates from a candidate that still replicates from it.
     */
    void fence(String address);

    /**
     * Last step with a fenced old master, after {@code newMaster} was promoted. {@code covered}: the new master holds
     * every write of this one (a switchover that waited for it). Redis: it becomes a replica of the new master (its
     * writes the new master lacks are discarded, as Redis always does) and its paused clients are released. MySQL: a
     * covered one replicates from the new master; otherwise it stays fenced for `failover rejoin`, since it may hold
     * transactions the new master lacks.
     */
    void demote(String address, String newMaster, boolean covered);

    /** For a switchover: the master stops acknowledging writes for at most {@code max} (Redis pauses them, MySQL refuses them). */
    void stopWrites(String master, Duration max);

    /** Undoes {@link #stopWrites} and {@link #fence} when a switchover is abandoned, or re-opens a read-only master. */
    void resumeWrites(String master);

    /**
     * Called by the manager on every healthy cycle: keeps the kind's own safety settings on the master (Redis:
     * min-replicas-to-write so a frozen master cannot take writes after it resumes). Returns what it changed, for the
     * log, or null when nothing changed; never throws (a failure is returned as text).
     */
    default String guard(Topology topology, String master) { return null; }

    /**
     * Waits up to {@code max} before the manager's next cycle; returns early when the kind noticed something the
     * manager should observe at once (Redis: the master came back from a restart; issue 9, hole 4).
     */
    default void awaitNextCycle(Duration max) throws InterruptedException { Thread.sleep(max.toMillis()); }

    /**
     * Fences a master whose replication history regressed (it came back from a restart with less than it had; issue 9,
     * hole 4) so that it can neither take writes nor hand its replicas its data set: it becomes a replica of
     * {@code holder}, the member that still holds the data (default: {@link #fence}). Throws like {@link #fence}.
     */
    default void fenceRegressed(String address, String holder) { fence(address); }

    @Override
    default void close() {}
}
