package io.failoverkit.failover.topology;

/**
 * One instance as observed at one moment. {@code reachable} false means the observation failed ({@code error} says
 * why) and nothing else is known. {@code role} is MASTER for an instance that replicates from nobody; {@code writable}
 * says whether it takes client writes (a fenced MySQL primary is a MASTER that is not writable). For a replica,
 * {@code masterAddress} and {@code masterLinkUp} are what it says of its master; {@code position} is how far its
 * data set goes; {@code synced} is false for a replica that never completed a sync with its master (it holds no
 * usable data set). {@code detail} is kind-specific text for status output (lag, GTID, semi-sync), never decided on.
 * {@code writableByAdmins}: not writable for applications, but an account can still write (MariaDB's read_only lets
 * READ ONLY ADMIN holders through): such an instance counts as a master for split brain and fencing, but not as a
 * master that serves the application.
 */
public record InstanceState(String address, boolean reachable, String error, Role role, boolean writable, String masterAddress,
                            boolean masterLinkUp, Position position, int connectedReplicas, boolean synced, String detail,
                            boolean writableByAdmins) {
    public enum Role { MASTER, REPLICA, UNKNOWN }

    /** An instance nobody can write beyond what {@code writable} says (every kind but MariaDB's read_only). */
    public InstanceState(String address, boolean reachable, String error, Role role, boolean writable, String masterAddress,
                         boolean masterLinkUp, Position position, int connectedReplicas, boolean synced, String detail) {
        this(address, reachable, error, role, writable, masterAddress, masterLinkUp, position, connectedReplicas, synced, detail, false);
    }

    public static InstanceState unreachable(String address, String error) {
        return new InstanceState(address, false, error, Role.UNKNOWN, false, null, false, Position.Offset.UNKNOWN, 0, false, "");
    }

    /** Reachable, replicating from nobody, and someone can write to it (applications, or only admins): split brain counts these. */
    public boolean isMaster() { return reachable && role == Role.MASTER && (writable || writableByAdmins); }

    /** A master the application can write to: what a healthy cluster needs. */
    public boolean servesWrites() { return reachable && role == Role.MASTER && writable; }

    public boolean isReplica() { return reachable && role == Role.REPLICA; }

    /** The position's rank (the Redis offset; the number of transactions of a GTID set). */
    public long offset() { return position.rank(); }
}
