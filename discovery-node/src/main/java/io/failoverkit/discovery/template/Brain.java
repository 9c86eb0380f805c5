package io.failoverkit.discovery.template;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The latest value of every dependency fetched so far (a value may be null: a key or node that does not exist). */
public final class Brain {
    private record Box(Object value) {}

    private final ConcurrentHashMap<Dependency, Box> values = new ConcurrentHashMap<>();

    /** Stores a value; returns true when it differs from what was known (or nothing was). */
    public boolean remember(Dependency d, Object value) {
        Box old = values.put(d, new Box(value));
        return old == null || !java.util.Objects.equals(old.value(), value);
    }

    public void forget(Dependency d) { values.remove(d); }

    /** Empty when the dependency was never fetched; else its value (maybe null). */
    public Optional<Optional<Object>> recall(Dependency d) {
        Box b = values.get(d);
        return b == null ? Optional.empty() : Optional.of(Optional.ofNullable(b.value()));
    }
}
