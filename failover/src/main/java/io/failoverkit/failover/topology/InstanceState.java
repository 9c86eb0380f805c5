package io.failoverkit.failover.topology;

/**
 * One instance as observed at one moment. {@code reachable} false means the observation failed ({@code error} says
 * why) and nothing else is known. {@code role} is MASTER for an instance that replicates from nobody; {@code writable}
 * says whether it takes client writes (a fenced MySQL primary is a MASTER that is not writable). For a replica,
 * {@code masterAddress} and {@code masterLinkUp} are what it says of its master; {@code position} is how far its
 * data set goes; {@code synced} is false for a replica that never completed a sync with its master (it holds no
 * usable data set). {@code detail} is kind-specific text for status output (lag, GTID, semi-sync), never decided on.
 */
public record InstanceState(String address, boolean reachable, String error, Role role, boolean writable, String masterAddress,
                            boolean masterLinkUp, Position position, int connectedReplicas, boolean synced, String detail) {
    public enum Role { MASTER, REPLICA, UNKNOWN }

    public static InstanceState unreachable(String address, String error) {
        return new InstanceState(address, false, error, Role.UNKNOWN, false, null, false, Position.Offset.UNKNOWN, 0, false, "");
    }

    /** Reachable, replicating from nobody, and taking writes. */
    public boolean isMaster() { return reachable && role == Role.MASTER && writable; }

    public boolean isReplica() { return reachable && role == Role.REPLICA; }

    /** The position's rank (the Redis offset; the number of transactions of a GTID set). */
    public long offset() { return position.rank(); }
}
