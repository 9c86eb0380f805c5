package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Service and check definitions, read from Consul's config-file format ({@code "service": {"name": ..., "check": {...}}})
 * and from the agent HTTP API's format ({@code "Name", "Check": {...}}): keys match ignoring case and underscores.
 * Every method throws {@link IllegalArgumentException} with a message fit for an HTTP 400 or a startup error.
 */
public final class Definitions {
    private Definitions() {}

    public record ServiceDef(String id, String name, List<String> tags, String address, int port, Map<String, String> meta,
                             boolean enableTagOverride, List<CheckDef> checks) {}

    /** One check; exactly one of args/http/tcp/ttl is set (the kind). */
    public record CheckDef(String id, String name, String serviceId, List<String> args, String http, String tcp, Duration ttl,
                           Duration interval, Duration timeout, String notes, String initialStatus) {
        public String kind() {
            if (args != null) return "script";
            if (http != null) return "http";
            if (tcp != null) return "tcp";
            return "ttl";
        }
    }

    /** Looks up a field ignoring case and underscores: "service_id", "ServiceID" and "serviceid" are one key. */
    public static JsonNode field(JsonNode obj, String name) {
        if (obj == null || !obj.isObject()) return null;
        String want = norm(name);
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (norm(e.getKey()).equals(want)) return e.getValue().isNull() ? null : e.getValue();
        }
        return null;
    }

    private static String norm(String s) {
        return s.replace("_", "").replace("-", "").toLowerCase(java.util.Locale.ROOT);
    }

    public static String text(JsonNode obj, String name, String dflt) {
        JsonNode n = field(obj, name);
        if (n == null) return dflt;
        if (!n.isTextual()) throw new IllegalArgumentException("\"" + name + "\" must be a string, got " + n.getNodeType().toString().toLowerCase());
        return n.asText();
    }

    public static int integer(JsonNode obj, String name, int dflt) {
        JsonNode n = field(obj, name);
        if (n == null) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw new IllegalArgumentException("\"" + name + "\" must be an integer, got " + n);
        return n.asInt();
    }

    public static boolean bool(JsonNode obj, String name, boolean dflt) {
        JsonNode n = field(obj, name);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw new IllegalArgumentException("\"" + name + "\" must be true or false, got " + n);
        return n.asBoolean();
    }

    public static List<String> strings(JsonNode obj, String name) {
        JsonNode n = field(obj, name);
        if (n == null) return null;
        if (!n.isArray()) throw new IllegalArgumentException("\"" + name + "\" must be an array of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw new IllegalArgumentException("\"" + name + "\" must hold only strings, got " + e);
            out.add(e.asText());
        }
        return out;
    }

    public static Map<String, String> stringMap(JsonNode obj, String name) {
        JsonNode n = field(obj, name);
        Map<String, String> out = new LinkedHashMap<>();
        if (n == null) return out;
        if (!n.isObject()) throw new IllegalArgumentException("\"" + name + "\" must be an object of strings");
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isTextual()) throw new IllegalArgumentException("\"" + name + "." + e.getKey() + "\" must be a string");
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    static Duration duration(JsonNode obj, String name) {
        JsonNode n = field(obj, name);
        if (n == null) return null;
        if (n.isIntegralNumber()) return Duration.ofNanos(n.asLong());
        if (!n.isTextual()) throw new IllegalArgumentException("\"" + name + "\" must be a duration such as \"10s\"");
        try {
            return Durations.parse(n.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + name + "\": " + e.getMessage());
        }
    }

    public static ServiceDef service(JsonNode s) {
        if (s == null || !s.isObject()) throw new IllegalArgumentException("a service definition must be a JSON object");
        String name = text(s, "name", null);
        if (name == null || name.isBlank()) throw new IllegalArgumentException("service definition needs a \"Name\"");
        if (!name.matches("[A-Za-z0-9_-]+") && !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("service name \"" + name + "\" may hold only letters, digits, '-', '_' and '.'");
        }
        String id = text(s, "id", name);
        List<String> tags = strings(s, "tags");
        int port = integer(s, "port", 0);
        if (port < 0 || port > 65535) throw new IllegalArgumentException("\"Port\" must be 0-65535, got " + port);
        List<CheckDef> checks = new ArrayList<>();
        JsonNode one = field(s, "check");
        int n = 0;
        if (one != null) checks.add(check(one, id, name, ++n));
        JsonNode many = field(s, "checks");
        if (many != null) {
            if (!many.isArray()) throw new IllegalArgumentException("\"Checks\" must be an array");
            for (JsonNode c : many) checks.add(check(c, id, name, ++n));
        }
        return new ServiceDef(id, name, tags == null ? List.of() : List.copyOf(tags), text(s, "address", ""), port,
                stringMap(s, "meta"), bool(s, "enable_tag_override", false), List.copyOf(checks));
    }

    /** A check; {@code serviceId} is set when it is nested in a service definition (else read from the check). */
    public static CheckDef check(JsonNode c, String serviceId, String serviceName, int ordinal) {
        if (c == null || !c.isObject()) throw new IllegalArgumentException("a check definition must be a JSON object");
        String sid = serviceId != null ? serviceId : text(c, "service_id", "");
        List<String> args = strings(c, "args");
        if (args == null) args = strings(c, "script_args"); // Consul's older name for Args
        String script = text(c, "script", null);
        if (args == null && script != null) args = List.of("/bin/sh", "-c", script);
        if (args != null && args.isEmpty()) throw new IllegalArgumentException("check \"Args\" must not be empty");
        String http = text(c, "http", null);
        String tcp = text(c, "tcp", null);
        Duration ttl = duration(c, "ttl");
        int kinds = (args != null ? 1 : 0) + (http != null ? 1 : 0) + (tcp != null ? 1 : 0) + (ttl != null ? 1 : 0);
        if (kinds != 1) throw new IllegalArgumentException("a check needs exactly one of \"Args\" (or \"ScriptArgs\", \"Script\"), \"HTTP\", \"TCP\", \"TTL\"");
        Duration interval = duration(c, "interval");
        if (ttl == null && (interval == null || interval.toMillis() < 100)) throw new IllegalArgumentException("script, http and tcp checks need an \"Interval\" of at least 100ms");
        Duration timeout = duration(c, "timeout");
        if (timeout == null) timeout = Duration.ofSeconds(10);
        String dfltId = sid.isEmpty() ? text(c, "name", "check") : "service:" + sid + (ordinal > 1 ? ":" + ordinal : "");
        String id = text(c, "check_id", text(c, "id", dfltId));
        String name = text(c, "name", sid.isEmpty() ? id : "Service '" + serviceName + "' check");
        String status = text(c, "status", "critical");
        if (!io.failoverkit.discovery.state.Model.isValidStatus(status)) throw new IllegalArgumentException("\"Status\" must be passing, warning or critical");
        return new CheckDef(id, name, sid, args == null ? null : List.copyOf(args), http, tcp, ttl, interval, timeout, text(c, "notes", ""), status);
    }
}
