package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * KV tombstone GC, on the leader, as Consul's: a deleted key's tombstone is kept at least {@code ttl} (Consul: 15
 * minutes), so a blocking query on that key or its prefix sees the delete's index, and then reaped through Raft
 * ({@link Command.TombstoneReap}). Each tick (every {@code granularity}, Consul: 30 s) notes the highest tombstone
 * index with the time; a note older than the TTL reaps every tombstone up to its index. Notes live in the leader's
 * memory: a new leader starts afresh, so a leader change only keeps tombstones longer.
 */
public final class TombstoneGc {
    private static final Logger LOG = LoggerFactory.getLogger(TombstoneGc.class);
    public static final Duration DEFAULT_TTL = Duration.ofMinutes(15);
    public static final Duration DEFAULT_GRANULARITY = Duration.ofSeconds(30);

    private record Note(long atNanos, long index) {}

    private final StateStore store;
    private final BooleanSupplier isLeader;
    private final Function<Command, CompletableFuture<ApplyResult>> propose;
    private final LongSupplier nanoClock;
    private final long ttlNanos;
    private final ArrayDeque<Note> notes = new ArrayDeque<>();
    private boolean leading;
    private long reapedUpTo;
    private CompletableFuture<ApplyResult> inFlight;

    public TombstoneGc(StateStore store, BooleanSupplier isLeader, Function<Command, CompletableFuture<ApplyResult>> propose,
                       LongSupplier nanoClock, Duration ttl) {
        this.store = store;
        this.isLeader = isLeader;
        this.propose = propose;
        this.nanoClock = nanoClock;
        this.ttlNanos = ttl.toNanos();
    }

    /** One pass (call every granularity): note the current tombstones, reap those noted more than a TTL ago. */
    public synchronized void tick() {
        if (!isLeader.getAsBoolean()) {
            if (leading) notes.clear();
            leading = false;
            return;
        }
        leading = true;
        long now = nanoClock.getAsLong();
        long max = store.maxTombstoneIndex();
        if (max > reapedUpTo && (notes.isEmpty() || notes.peekLast().index() < max)) notes.addLast(new Note(now, max));
        long reap = 0;
        while (!notes.isEmpty() && now - notes.peekFirst().atNanos() >= ttlNanos) reap = notes.pollFirst().index();
        if (reap <= reapedUpTo || (inFlight != null && !inFlight.isDone())) {
            if (reap > reapedUpTo) notes.addFirst(new Note(now - ttlNanos, reap)); // retry next tick
            return;
        }
        long upTo = reap;
        inFlight = propose.apply(new Command.TombstoneReap(upTo));
        inFlight.whenComplete((r, err) -> {
            if (err != null) {
                LOG.debug("tombstone reap up to {} not committed ({}); retried next tick", upTo, err.toString());
                synchronized (this) { notes.addFirst(new Note(nanoClock.getAsLong() - ttlNanos, upTo)); }
            } else {
                synchronized (this) { reapedUpTo = Math.max(reapedUpTo, upTo); }
                LOG.debug("reaped {} KV tombstone(s) up to index {}", r.value(), upTo);
            }
        });
    }
}
