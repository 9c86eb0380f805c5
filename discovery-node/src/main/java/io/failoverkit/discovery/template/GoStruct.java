package io.failoverkit.discovery.template;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Go struct as templates see it: named fields in declaration order. A field that does not exist is an error
 * ("can't evaluate field"), where a map's missing key is {@code <no value>}.
 */
public final class GoStruct {
    private final String type;
    private final Map<String, Object> fields;

    public GoStruct(String type, Map<String, Object> fields) {
        this.type = type;
        this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    public String type() { return type; }
    public Map<String, Object> fields() { return fields; }
    public boolean has(String name) { return fields.containsKey(name); }
    public Object get(String name) { return fields.get(name); }

    @Override public boolean equals(Object o) { return o instanceof GoStruct s && s.type.equals(type) && s.fields.equals(fields); }
    @Override public int hashCode() { return fields.hashCode(); }
    @Override public String toString() { return GoFormat.print(this); }
}
