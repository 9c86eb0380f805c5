package io.failoverkit.discovery.gossip.serf;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Serf's own broadcast queues (memberlist's TransmitLimitedQueue, used by Serf for intents and user events): each
 * message is handed to the gossip layer up to {@code retransmitMult x ceil(log10(N + 1))} times (N = members Serf
 * knows), least-sent first, and then dropped, running its {@code onDone} (a leave waits on it). Serf's messages
 * never invalidate each other. Not thread-safe: used only on the Serf scheduler thread.
 */
final class BroadcastQueue {
    private static final class Item {
        final byte[] message;
        final Runnable onDone;
        final long id;
        int transmits;

        Item(byte[] message, Runnable onDone, long id) {
            this.message = message;
            this.onDone = onDone;
            this.id = id;
        }
    }

    // least transmitted first; among equals the longer message first (fills the packet), then the newest
    private static final Comparator<Item> ORDER = Comparator.<Item>comparingInt(i -> i.transmits)
            .thenComparing(i -> -i.message.length)
            .thenComparing(i -> -i.id);

    private final List<Item> items = new ArrayList<>();
    private final IntSupplier numNodes;
    private final int retransmitMult;
    private long nextId;

    BroadcastQueue(IntSupplier numNodes, int retransmitMult) {
        this.numNodes = numNodes;
        this.retransmitMult = retransmitMult;
    }

    void queue(byte[] message, Runnable onDone) {
        items.add(new Item(message, onDone, nextId++));
    }

    int size() { return items.size(); }

    /** How many times each message is sent before it is dropped. */
    int transmitLimit() {
        int n = Math.max(0, numNodes.getAsInt());
        return retransmitMult * (int) Math.ceil(Math.log10(n + 1.0));
    }

    /**
     * Messages to piggyback: the total of (overhead + length) stays within {@code limit}. Each one taken counts as
     * a transmission.
     */
    List<byte[]> take(int overhead, int limit) {
        if (items.isEmpty()) return List.of();
        int maxTransmits = Math.max(1, transmitLimit());
        items.sort(ORDER);
        List<byte[]> out = new ArrayList<>();
        int used = 0;
        List<Item> finished = new ArrayList<>();
        for (Item i : items) {
            int cost = overhead + i.message.length;
            if (used + cost > limit) continue;
            used += cost;
            out.add(i.message);
            if (++i.transmits >= maxTransmits) finished.add(i);
        }
        items.removeAll(finished);
        for (Item i : finished) done(i);
        return out;
    }

    /** Keeps the {@code max} newest messages, dropping (and finishing) the rest (Serf's queue depth limit). */
    int prune(int max) {
        if (items.size() <= max) return 0;
        items.sort(Comparator.comparingLong(i -> -i.id));
        List<Item> dropped = new ArrayList<>(items.subList(max, items.size()));
        items.subList(max, items.size()).clear();
        for (Item i : dropped) done(i);
        return dropped.size();
    }

    /** Drops everything, finishing each. */
    void clear() {
        List<Item> all = new ArrayList<>(items);
        items.clear();
        for (Item i : all) done(i);
    }

    private static void done(Item i) {
        if (i.onDone != null) i.onDone.run();
    }
}
