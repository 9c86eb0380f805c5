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
 *
 * <p>And at most once per {@code minInterval} (Consul's {@code raft_snapshot_interval}, 30 s by default there and in
 * the agent): under a steady write load the threshold alone came every 5-15 s per server, each snapshot writing and
 * fsync'ing tens of MB beside the log's own fsyncs, and the writes' p99 doubled whenever one landed (bench/kv.sh: leader
 * at 16 connections 59 ms with snapshots at the threshold, 36 ms without). A turn that comes sooner waits for the
 * interval; the log keeps what it has meanwhile (purged at the next snapshot).
 */
final class SnapshotSchedule {
    private final long threshold;
    private final long offset;
    private final long minIntervalNanos;
    private final java.util.function.LongSupplier nanoClock;
    /** The index of the last snapshot taken or loaded (-1: none). */
    private volatile long lastTaken = -1;
    /** When this server last began a snapshot of its own (nanoClock); none yet: no wait. */
    private volatile long lastBegunAt;
    private volatile boolean begun;

    SnapshotSchedule(long threshold, long offset) {
        this(threshold, offset, java.time.Duration.ZERO, System::nanoTime);
    }

    SnapshotSchedule(long threshold, long offset, java.time.Duration minInterval, java.util.function.LongSupplier nanoClock) {
        if (threshold < 1) throw new IllegalArgumentException("snapshot threshold must be positive: " + threshold);
        if (minInterval.isNegative()) throw new IllegalArgumentException("snapshot interval must not be negative: " + minInterval);
        this.threshold = threshold;
        this.offset = Math.floorMod(offset, threshold);
        this.minIntervalNanos = minInterval.toNanos();
        this.nanoClock = nanoClock;
    }

    /** The schedule of server {@code self} in a group of {@code peers} (their names). */
    static SnapshotSchedule forServer(String self, List<String> peers, long threshold) {
        return forServer(self, peers, threshold, java.time.Duration.ZERO);
    }

    /** As above, at most one snapshot of its own per {@code minInterval}. */
    static SnapshotSchedule forServer(String self, List<String> peers, long threshold, java.time.Duration minInterval) {
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
        return new SnapshotSchedule(threshold, offset, minInterval, System::nanoTime);
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

    /**
     * True when the applied index has reached this server's next turn after its last snapshot, and the interval since
     * this server last began one has passed.
     */
    boolean due(long applied) {
        if (applied < nextAfter(lastTaken)) return false;
        return !begun || nanoClock.getAsLong() - lastBegunAt >= minIntervalNanos;
    }

    /** This server begins a snapshot of its own at {@code index} (not one loaded or installed: those cost no write). */
    void begin(long index) {
        taken(index);
        lastBegunAt = nanoClock.getAsLong();
        begun = true;
    }

    /** A snapshot at {@code index} was taken, or loaded (restart, install from the leader). */
    void taken(long index) {
        if (index > lastTaken) lastTaken = index;
    }
}
