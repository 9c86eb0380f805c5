package io.failoverkit.discovery.state;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Parked blocking queries. A watcher costs one small object, no thread: a commit fires the watchers of the tables it
 * changed (for KV, only those whose prefix covers a changed key), each once, on the given executor.
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
    }

    private final Map<Table, Set<Watcher>> byTable = new EnumMap<>(Table.class);
    private final Executor executor;

    Watches(Executor executor) {
        this.executor = executor;
        for (Table t : Table.values()) byTable.put(t, ConcurrentHashMap.newKeySet());
    }

    void add(Watcher w) {
        for (Table t : w.tables) byTable.get(t).add(w);
    }

    void remove(Watcher w) {
        for (Table t : w.tables) byTable.get(t).remove(w);
    }

    int size() {
        return byTable.values().stream().mapToInt(Set::size).sum();
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
            for (Watcher w : byTable.get(t)) {
                if (t == Table.KVS && w.kvPrefix != null && changedKeys != null && changedKeys.stream().noneMatch(k -> k.startsWith(w.kvPrefix))) continue;
                if (t != Table.KVS && t != Table.SESSIONS && w.service != null && changedServices != null && !changedServices.contains(w.service)) continue;
                fire(w);
            }
        }
    }
}
