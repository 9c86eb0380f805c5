package io.failoverkit.discovery.gossip.swim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.IntSupplier;

/**
 * Broadcasts waiting to be piggybacked, each sent at most {@link #retransmitLimit} times (memberlist's
 * TransmitLimitedQueue). Items sent fewer times go first; among those the larger first (to fill the packet), then
 * the newer. An item queued under a key replaces (invalidates) an older one under the same key: a newer message about
 * a node makes the older one about it moot. Items with a null key are never invalidated.
 *
 * <p>Not thread-safe: used from one scheduler.
 */
public final class TransmitLimitedQueue<T> {
    /** Fewer transmissions first, then larger, then newer. */
    private static final Comparator<Entry<?>> ORDER = (a, b) -> {
        if (a.transmits != b.transmits) return a.transmits < b.transmits ? -1 : 1;
        if (a.size != b.size) return a.size > b.size ? -1 : 1;
        return Long.compare(b.id, a.id);
    };

    private final int retransmitMult;
    private final IntSupplier numNodes;
    private final TreeSet<Entry<T>> queue = new TreeSet<>(ORDER);
    private final Map<String, Entry<T>> byKey = new HashMap<>();
    private long ids;

    public TransmitLimitedQueue(int retransmitMult, IntSupplier numNodes) {
        this.retransmitMult = retransmitMult;
        this.numNodes = numNodes;
    }

    /** retransmitMult x ceil(log10(n + 1)): how many times one broadcast is sent in a pool of n nodes. */
    public static int retransmitLimit(int retransmitMult, int n) {
        return retransmitMult * (int) Math.ceil(Math.log10(n + 1.0));
    }

    /** Queues {@code item} ({@code size} bytes encoded); {@code onFinished} (may be null) runs once it was sent its
     * last time, was invalidated, or the queue was reset. */
    public void queue(T item, String key, int size, Runnable onFinished) {
        if (key != null) {
            Entry<T> old = byKey.remove(key);
            if (old != null) {
                queue.remove(old);
                old.finished();
            }
        }
        Entry<T> e = new Entry<>(item, key, size, ++ids, onFinished);
        queue.add(e);
        if (key != null) byKey.put(key, e);
    }

    /**
     * Takes broadcasts for one packet: as many as fit in {@code limit} bytes, each costing its size plus
     * {@code overhead}. Each taken item counts one transmission; those at the limit leave the queue.
     */
    public List<T> get(int overhead, int limit) {
        if (queue.isEmpty()) return List.of();
        int transmitLimit = retransmitLimit(retransmitMult, numNodes.getAsInt());
        List<T> out = new ArrayList<>();
        List<Entry<T>> reinsert = new ArrayList<>();
        int used = 0;
        int level = queue.first().transmits;
        while (!queue.isEmpty()) {
            int free = limit - used - overhead;
            if (free <= 0) break;
            // the first item at this level that fits: larger sizes sort first, so start at size == free
            Entry<T> probe = new Entry<>(null, null, free, Long.MAX_VALUE, null);
            probe.transmits = level;
            Entry<T> e = queue.ceiling(probe);
            if (e == null) break;
            if (e.transmits != level) {
                level = e.transmits;
                continue;
            }
            queue.remove(e);
            used += overhead + e.size;
            out.add(e.item);
            if (e.transmits + 1 >= transmitLimit) {
                if (e.key != null) byKey.remove(e.key);
                e.finished();
            } else {
                e.transmits++;
                reinsert.add(e);
            }
        }
        queue.addAll(reinsert);
        return out;
    }

    public int size() {
        return queue.size();
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Drops everything (each item's onFinished runs). */
    public void reset() {
        List<Entry<T>> all = new ArrayList<>(queue);
        queue.clear();
        byKey.clear();
        all.forEach(Entry::finished);
    }

    /** Keeps at most {@code maxRetain} items, dropping the most transmitted first. */
    public void prune(int maxRetain) {
        while (queue.size() > maxRetain) {
            Entry<T> e = queue.pollLast();
            if (e.key != null) byKey.remove(e.key);
            e.finished();
        }
    }

    private static final class Entry<T> {
        final T item;
        final String key;
        final int size;
        final long id;
        int transmits;
        Runnable onFinished;

        Entry(T item, String key, int size, long id, Runnable onFinished) {
            this.item = item;
            this.key = key;
            this.size = size;
            this.id = id;
            this.onFinished = onFinished;
        }

        void finished() {
            Runnable r = onFinished;
            onFinished = null;
            if (r != null) r.run();
        }
    }
}
