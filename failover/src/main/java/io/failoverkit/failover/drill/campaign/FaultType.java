package io.failoverkit.failover.drill.campaign;

import java.util.EnumSet;
import java.util.Set;

/** The faults a campaign run draws from; each run injects one of them (with its own drawn timing), so the summary attributes every violation to one fault. */
public enum FaultType {
    /** SIGKILL of the master. */
    MASTER_SIGKILL,
    /** SIGSTOP of the master, SIGCONT after a drawn time (shorter or longer than detection). */
    MASTER_SIGSTOP,
    /** Redis: the master SIGKILLed and started again empty (persistence off) after a drawn delay, as a supervisor would. */
    RESTART_EMPTY,
    /** Only the manager loses its path to the master (replicas and clients still reach it). */
    PARTITION_MANAGER,
    /** Only the replicas lose their path to the master (the manager and clients still reach it). */
    PARTITION_REPLICAS,
    /** The manager and the replicas lose the master; its clients still reach it (hole 6's old primary). */
    PARTITION_ALL_BUT_CLIENTS,
    /** MySQL: a replica's SQL thread stopped (relay log piling up), then the master SIGKILLed. */
    SQL_THREAD_STOPPED,
    /** The manager process SIGKILLed and another started (optionally the master SIGKILLed while none runs). */
    MANAGER_SIGKILL,
    /** The discovery cluster's Raft leader SIGKILLed and restarted (optionally the master SIGKILLed meanwhile). */
    DISCOVERY_LEADER_SIGKILL,
    /**
     * The master's host cut off from the manager, its replicas and the discovery cluster (its guard included), its
     * clients still connected: its `failover guard` must fence it (needs the guard; behind a flag).
     */
    GUARD_HOST_CUT;

    /** The faults that apply to {@code kind} (redis or mysql); the guard's only when asked for. */
    public static Set<FaultType> forKind(String kind, boolean withGuard) {
        Set<FaultType> s = EnumSet.of(MASTER_SIGKILL, MASTER_SIGSTOP, PARTITION_MANAGER, PARTITION_REPLICAS, PARTITION_ALL_BUT_CLIENTS,
                MANAGER_SIGKILL, DISCOVERY_LEADER_SIGKILL);
        if (kind.equals("redis")) s.add(RESTART_EMPTY);
        if (kind.equals("mysql")) s.add(SQL_THREAD_STOPPED);
        if (withGuard) s.add(GUARD_HOST_CUT);
        return s;
    }
}
