package io.failoverkit.discovery.state;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Parked blocking queries. A watcher costs one small object, no thread: a commit fires the watchers of the tables it
 * changed (for KV, only those whose prefix covers a changed key; for a service's reads, only that service's), each
 * once, on the given executor.
 *
 * <p>Watchers are indexed by what narrows them, so a commit looks only at the watchers it may concern: with thousands
 * parked (a 10,000-node catalog with 5,000 watchers, bench/scale.sh), a check flip of one service costs the lookups of
 * that service's watchers, not a pass over every watcher of the CHECKS table.
 */
final class Watches {
    /**
     * A parked query; {@code kvPrefix} narrows a KVS watch (null = any key), {@code service} a catalog watch to the
     * changes that touch that service's instances, their nodes or checks (null = any).
     */
    static final class Watcher {
        final Set<Table> tables;
        final String kvPrefix;
        final String service;
        final Runnable onChange;
        private final java.util.concurrent.atomic.AtomicBoolean fired = new java.util.concurrent.atomic.AtomicBoolean();

        Watcher(Set<Table> tables, String kvPrefix, Runnable onChange) {
            this(tables, kvPrefix, null, onChange);
        }

        Watcher(Set<Table> tables, String kvPrefix, String service, Runnable onChange) {
            this.tables = tables;
            this.kvPrefix = kvPrefix;
            this.service = service;
            this.onChange = onChange;
        }

        boolean claim() { return fired.compareAndSet(false, true); }

        /** True when a change to table {@code t} wakes this watcher whatever keys or services it touched. */
        boolean anyChangeTo(Table t) {
            if (t == Table.KVS) return kvPrefix == null;
            return service == null || t == Table.SESSIONS;
        }
    }

    /** The catalog tables a service's reads come from: a service-narrowed watcher is found through {@link #byService}. */
    private static final Set<Table> SERVICE_TABLES = EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS);

    /** Per table, the watchers that any change to it wakes. */
    private final Map<Table, Set<Watcher>> byTable = new EnumMap<>(Table.class);
    /** Watchers narrowed to one service (for the catalog tables), by that service's name. */
    private final ConcurrentHashMap<String, Set<Watcher>> byService = new ConcurrentHashMap<>();
    /** Watchers narrowed to a KV prefix (for the KVS table), by that prefix. */
    private final ConcurrentHashMap<String, Set<Watcher>> byKvPrefix = new ConcurrentHashMap<>();
    private final Set<Watcher> all = ConcurrentHashMap.newKeySet();
    private final Executor executor;

    Watches(Executor executor) {
        this.executor = executor;
        for (Table t : Table.values()) byTable.put(t, ConcurrentHashMap.newKeySet());
    }

    void add(Watcher w) {
        all.add(w);
        for (Table t : w.tables) {
            if (w.anyChangeTo(t)) byTable.get(t).add(w);
            else if (t == Table.KVS) addTo(byKvPrefix, w.kvPrefix, w);
            else addTo(byService, w.service, w);
        }
    }

    /**
     * Adds inside the map's atomic step for the key, as {@link #removeFrom} drops an emptied set inside its own: an add
     * outside it could land in a set just dropped from the map, and that watcher would miss every wake for its key
     * until its wait ran out (review: 143 of 200,000 racing adds were lost that way).
     */
    private static void addTo(ConcurrentHashMap<String, Set<Watcher>> index, String key, Watcher w) {
        index.compute(key, (k, set) -> {
            Set<Watcher> s = set == null ? ConcurrentHashMap.newKeySet() : set;
            s.add(w);
            return s;
        });
    }

    void remove(Watcher w) {
        if (!all.remove(w)) return;
        for (Table t : w.tables) {
            if (w.anyChangeTo(t)) byTable.get(t).remove(w);
            else if (t == Table.KVS) removeFrom(byKvPrefix, w.kvPrefix, w);
            else removeFrom(byService, w.service, w);
        }
    }

    private static void removeFrom(ConcurrentHashMap<String, Set<Watcher>> index, String key, Watcher w) {
        // Drops the set once empty, atomically per key with addTo: an add either lands before (the set stays) or after
        // (a new set is made).
        index.computeIfPresent(key, (k, set) -> {
            set.remove(w);
            return set.isEmpty() ? null : set;
        });
    }

    /** Parked watchers, each counted once per table it watches. */
    int size() {
        return all.stream().mapToInt(w -> w.tables.size()).sum();
    }

    void fire(Watcher w) {
        if (!w.claim()) return;
        remove(w);
        executor.execute(w.onChange);
    }

    /** Fires watchers of the changed tables; {@code changedKeys} are the KV keys this commit touched (null: all). */
    void fire(Set<Table> changed, Set<String> changedKeys) {
        fire(changed, changedKeys, null);
    }

    /** As above; {@code changedServices} are the service names whose reads this commit changed (null: all). */
    void fire(Set<Table> changed, Set<String> changedKeys, Set<String> changedServices) {
        for (Table t : changed) {
            for (Watcher w : byTable.get(t)) fire(w);
        }
        if (changed.contains(Table.KVS)) {
            if (changedKeys == null) {
                byKvPrefix.values().forEach(set -> set.forEach(this::fire));
            } else if (!byKvPrefix.isEmpty()) {
                for (String key : changedKeys) {
                    for (int end = 0; end <= key.length(); end++) {
                        Set<Watcher> set = byKvPrefix.get(key.substring(0, end));
                        if (set != null) set.forEach(this::fire);
                    }
                }
            }
        }
        boolean catalog = false;
        for (Table t : SERVICE_TABLES) catalog |= changed.contains(t);
        if (!catalog) return;
        if (changedServices == null) {
            byService.values().forEach(set -> set.forEach(w -> { if (touches(w, changed)) fire(w); }));
        } else {
            for (String s : changedServices) {
                Set<Watcher> set = byService.get(s);
                if (set != null) set.forEach(w -> { if (touches(w, changed)) fire(w); });
            }
        }
    }

    private static boolean touches(Watcher w, Set<Table> changed) {
        for (Table t : w.tables) if (changed.contains(t) && !w.anyChangeTo(t)) return true;
        return false;
    }
}
