package io.failoverkit.failover.topology;

/**
 * How far an instance's data set goes: a Redis replication offset, or a MySQL/MariaDB GTID set. {@link #covers}
 * answers "does this hold every write the other holds?", which for offsets of one replication stream is {@code >=}
 * and for GTID sets is "superset of". {@link #rank} orders positions for choosing among candidates and for display
 * only; safety decisions use {@link #covers}.
 */
public interface Position {
    long rank();

    boolean covers(Position other);

    String text();

    /**
     * Why this data set must not be promoted, found when it was observed (a MySQL replica's errant transactions, GTID
     * off), or null. {@code decide} refuses such a candidate unless an operator forces it.
     */
    default String blocker() { return null; }

    /** A Redis replication offset (master_repl_offset / slave_repl_offset). */
    record Offset(long value) implements Position {
        public static final Offset UNKNOWN = new Offset(-1);

        @Override public long rank() { return value; }

        @Override public boolean covers(Position other) { return other instanceof Offset o && value >= o.value; }

        @Override public String text() { return "offset " + value; }
    }
}
