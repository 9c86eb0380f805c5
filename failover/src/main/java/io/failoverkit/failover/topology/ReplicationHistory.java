package io.failoverkit.failover.topology;

/**
 * Where a Redis data set sits in replication history, as the server reports it (INFO server and replication):
 * {@code replid} is the id of the stream it holds, {@code offset} how far into that stream its data goes
 * ({@code master_repl_offset}, on a replica too: it stays the data set's offset while a full sync is pending, where
 * {@code slave_repl_offset} falls to 1), and {@code replid2} the stream it continued from, valid up to
 * {@code replid2Until} (a promoted replica, or a master that reloaded an RDB file carrying replication info).
 * {@code runId} identifies the server process: it changes on every restart.
 *
 * <p>{@link #rank} and {@link #covers} compare offsets only, as {@link Position.Offset} does, so candidates are ranked
 * as before; whether one history contains another is {@link #continues}.
 */
public record ReplicationHistory(long offset, String replid, String replid2, long replid2Until, String runId) implements Position {
    /** What Redis reports as replid2 when the stream continues no earlier one. */
    public static final String NO_REPLID = "0000000000000000000000000000000000000000";

    /** True when this data set holds stream {@code id} at least up to {@code upTo}: what a replica there could PSYNC from. */
    public boolean continues(String id, long upTo) {
        if (id == null) return false;
        if (id.equals(replid)) return upTo <= offset;
        return !NO_REPLID.equals(id) && id.equals(replid2) && upTo <= replid2Until;
    }

    /** This process started a stream of its own and continues none (a fresh start without persistence, or a new server). */
    public boolean freshStream() { return replid2 == null || NO_REPLID.equals(replid2); }

    @Override public long rank() { return offset; }

    @Override public boolean covers(Position other) {
        return (other instanceof Offset || other instanceof ReplicationHistory) && offset >= other.rank();
    }

    @Override public String text() { return "offset " + offset + " replid " + shortId(replid); }

    /** The first 8 characters of a replication or run id, enough to tell them apart in a log line. */
    public static String shortId(String id) { return id == null ? "?" : id.length() <= 8 ? id : id.substring(0, 8); }
}
