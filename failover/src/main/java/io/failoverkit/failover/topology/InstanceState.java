package io.failoverkit.failover.topology;

/**
 * One instance as observed at one moment. {@code reachable} false means the observation failed ({@code error} says
 * why) and nothing else is known. For a replica, {@code masterAddress} and {@code masterLinkUp} are what it says of
 * its master; {@code offset} is its replication position (Redis: master_repl_offset / slave_repl_offset);
 * {@code synced} is false for a replica that never completed a sync with its master (it holds no usable data set).
 */
public record InstanceState(String address, boolean reachable, String error, Role role, String masterAddress,
                            boolean masterLinkUp, long offset, int connectedReplicas, boolean synced) {
    public enum Role { MASTER, REPLICA, UNKNOWN }

    public static InstanceState unreachable(String address, String error) {
        return new InstanceState(address, false, error, Role.UNKNOWN, null, false, -1, 0, false);
    }

    public boolean isMaster() { return reachable && role == Role.MASTER; }
    public boolean isReplica() { return reachable && role == Role.REPLICA; }
}
