package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A server's DNS view: each service's instances are read from the state store once per catalog generation and
 * served from memory until the catalog changes, so a query costs a map lookup, not a locked walk of the catalog.
 * An answer is never older than the last applied change: the generation is read before the data.
 */
final class CachingDnsView implements DnsView {
    private static final int MAX_NAMES = 65_536;

    private record Cached(long generation, List<StateStore.Instance> instances) {}

    private final Supplier<StateStore> store;
    private final ConcurrentHashMap<String, Cached> byService = new ConcurrentHashMap<>();

    CachingDnsView(Supplier<StateStore> store) {
        this.store = store;
    }

    @Override
    public Model.Node node(String name) {
        return store.get().node(name).value();
    }

    @Override
    public List<StateStore.Instance> instances(String service, String tag) {
        long generation = generation();
        StateStore s = store.get();
        Cached c = byService.get(service);
        if (c == null || c.generation() != generation) {
            c = new Cached(generation, List.copyOf(s.serviceInstances(service, null).value()));
            if (byService.size() > MAX_NAMES) byService.clear();
            byService.put(service, c);
        }
        if (tag == null) return c.instances();
        return c.instances().stream().filter(i -> i.service().tags().stream().anyMatch(t -> t.equalsIgnoreCase(tag))).toList();
    }

    /** The store last seen, and how many times it was replaced (the generation restarts with a new store). */
    private volatile StateStore lastStore;
    private volatile long storeEpoch;

    @Override
    public long generation() {
        StateStore s = store.get();
        if (s == null) return -1;
        if (s != lastStore) {
            synchronized (this) {
                if (s != lastStore) { storeEpoch++; lastStore = s; }
            }
        }
        return (storeEpoch << 44) + s.catalogGeneration();
    }

    @Override
    public boolean ready() {
        return store.get() != null;
    }
}
