package io.failoverkit.failover.inst;

import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;

import java.time.Duration;
import java.util.List;

/**
 * How failoverkit reads and changes the servers of one kind (orchestrator's "inst" side): observe, promote,
 * re-point, fence, stop and resume writes. Implementations hold no decision logic; every call is bounded by the
 * cluster's timeout so a frozen server costs one timeout, never a stuck manager. Calls that change a server throw
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

    /** {@link #drain} on every replica of {@code t} at once, so that candidates are compared on what they will hold. */
    default Topology drainAll(Topology t, Duration max) {
        return new Topology(t.instances().parallelStream().map(i -> i.isReplica() ? drain(i.address(), max) : i).toList());
    }

    /** The instance stops replicating and takes writes. */
    void promote(String address);

    /** The instance becomes (or stays) a read-only replica of {@code master}. */
    void repoint(String address, String master);

    /**
     * Fences an old master so that it cannot acknowledge another write, and disconnects its clients. {@code newMaster}
     * is where it should replicate from when that is safe for the kind (Redis: always; MySQL: it is made read-only and
     * left for `failover rejoin`, since it may hold transactions the new master lacks).
     */
    void fence(String address, String newMaster);

    /** For a switchover: the master stops acknowledging writes for at most {@code max} (Redis pauses them, MySQL refuses them). */
    void stopWrites(String master, Duration max);

    /** Undoes {@link #stopWrites} when a switchover is abandoned. */
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
     * {@code holder}, the member that still holds the data. Throws like {@link #fence}.
     */
    default void fenceRegressed(String address, String holder) { fence(address, holder); }

    /** Called on the old master after a switchover, once the candidate took over: releases what {@link #stopWrites} held. */
    default void afterSwitchover(String oldMaster) {}

    @Override
    default void close() {}
}
