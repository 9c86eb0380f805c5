package io.failoverkit.discovery.raft;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;

/**
 * When this server takes its snapshots: once every {@code threshold} entries, at the log indexes {@code p} with
 * {@code (p + offset) % threshold == 0}. The servers of a group get offsets spread evenly by their rank among the
 * peers' names (a server not among them, e.g. one joining, by a hash of its name), so three servers snapshot a third
 * of the threshold apart and never all at the same index, however long they run. Ratis is told to ask every quarter
 * threshold ({@link #ratisThreshold}); {@link #due} says whether this server's turn has come.
 */
final class SnapshotSchedule {
    private final long threshold;
    private final long offset;
    /** The index of the last snapshot taken or loaded (-1: none). */
    private volatile long lastTaken = -1;

    SnapshotSchedule(long threshold, long offset) {
        if (threshold < 1) throw new IllegalArgumentException("snapshot threshold must be positive: " + threshold);
        this.threshold = threshold;
        this.offset = Math.floorMod(offset, threshold);
    }

    /** The schedule of server {@code self} in a group of {@code peers} (their names). */
    static SnapshotSchedule forServer(String self, List<String> peers, long threshold) {
        List<String> sorted = peers.stream().sorted().distinct().toList();
        int rank = sorted.indexOf(self);
        long offset;
        if (rank >= 0) {
            offset = rank * threshold / sorted.size();
        } else {
            CRC32 crc = new CRC32();
            crc.update(self.getBytes(StandardCharsets.UTF_8));
            offset = crc.getValue();
        }
        return new SnapshotSchedule(threshold, offset);
    }

    /** Ratis' auto-trigger threshold: it asks again only this many entries after the last snapshot it was told of. */
    long ratisThreshold() {
        return Math.max(1, threshold / 4);
    }

    long offset() {
        return offset;
    }

    /** The first index after {@code index} at which this server's turn comes. */
    long nextAfter(long index) {
        long from = Math.max(index, 0);
        return from + threshold - Math.floorMod(from + offset, threshold);
    }

    /** True when the applied index has reached this server's next turn after its last snapshot. */
    boolean due(long applied) {
        return applied >= nextAfter(lastTaken);
    }

    /** A snapshot at {@code index} was taken, or loaded (restart, install from the leader). */
    void taken(long index) {
        if (index > lastTaken) lastTaken = index;
    }
}
