package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Model;

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
                             boolean enableTagOverride, List<CheckDef> checks, String kind, Model.Weights weights,
                             Map<String, Model.ServiceAddress> taggedAddresses) {}

    /** How an HTTP check asks: Consul's Method, Header, Body, TLSSkipVerify and TLSServerName. */
    public record HttpOptions(String method, Map<String, List<String>> header, String body, boolean tlsSkipVerify, String tlsServerName) {
        public static final HttpOptions DEFAULT = new HttpOptions("GET", Map.of(), "", false, "");
    }

    /** One check; exactly one kind is set (args, http, tcp, udp, grpc, an alias, or ttl). */
    public record CheckDef(String id, String name, String serviceId, List<String> args, String http, String tcp, Duration ttl,
                           Duration interval, Duration timeout, String notes, String initialStatus, HttpOptions httpOptions,
                           String udp, String grpc, boolean grpcUseTls, String aliasNode, String aliasService,
                           Duration deregisterCriticalServiceAfter) {
        public String kind() {
            if (args != null) return "script";
            if (http != null) return "http";
            if (tcp != null) return "tcp";
            if (udp != null) return "udp";
            if (grpc != null) return "grpc";
            if (aliasNode != null || aliasService != null) return "alias";
            return "ttl";
        }
    }

    /** Consul's limits on service (and node) metadata. */
    public static final int META_MAX_PAIRS = 64, META_KEY_MAX = 128, META_VALUE_MAX = 512;
    public static final String META_RESERVED_PREFIX = "consul-";
    /** The service kinds Consul knows ("" is a typical service). */
    public static final java.util.Set<String> SERVICE_KINDS = java.util.Set.of("", "connect-proxy", "mesh-gateway", "terminating-gateway",
            "ingress-gateway", "api-gateway");

    /**
     * Consul's checks on metadata: at most 64 pairs; keys of letters, digits, '-' and '_', at most 128 characters and
     * not starting with "consul-"; values at most 512 characters. The message is Consul's (for a 400).
     */
    public static void validateMeta(Map<String, String> meta, String what) {
        if (meta.size() > META_MAX_PAIRS) {
            throw new IllegalArgumentException("Invalid " + what + " Meta: Node metadata cannot contain more than " + META_MAX_PAIRS + " key/value pairs");
        }
        for (Map.Entry<String, String> e : meta.entrySet()) {
            String problem = metaPairProblem(e.getKey(), e.getValue());
            if (problem != null) {
                throw new IllegalArgumentException("Invalid " + what + " Meta: Couldn't load metadata pair ('" + e.getKey() + "', '" + e.getValue() + "'): " + problem);
            }
        }
    }

    private static String metaPairProblem(String key, String value) {
        if (key.isEmpty()) return "Key cannot be blank";
        if (!key.matches("[a-zA-Z0-9_-]+")) return "Key contains invalid characters";
        if (key.length() > META_KEY_MAX) return "Key is too long (limit: " + META_KEY_MAX + " characters)";
        if (key.startsWith(META_RESERVED_PREFIX)) return "Key prefix '" + META_RESERVED_PREFIX + "' is reserved for internal use";
        if (value.length() > META_VALUE_MAX) return "Value is too long (limit: " + META_VALUE_MAX + " characters)";
        return null;
    }

    /** A service's Weights: Passing at least 1 and Warning at least 0 (Consul's rule); absent means 1/1. */
    public static Model.Weights weights(JsonNode w) {
        if (w == null) return Model.Weights.DEFAULT;
        if (!w.isObject()) throw new IllegalArgumentException("\"Weights\" must be an object");
        int passing = integer(w, "Passing", 1);
        int warning = integer(w, "Warning", 1);
        if (passing < 1) throw new IllegalArgumentException("Passing must be greater than 0");
        if (warning < 0) throw new IllegalArgumentException("Warning must be greater or equal than 0");
        return new Model.Weights(passing, warning);
    }

    /** A service's TaggedAddresses: name to {Address, Port}. */
    public static Map<String, Model.ServiceAddress> serviceAddresses(JsonNode obj, String name) {
        JsonNode n = field(obj, name);
        Map<String, Model.ServiceAddress> out = new java.util.TreeMap<>();
        if (n == null) return out;
        if (!n.isObject()) throw new IllegalArgumentException("\"" + name + "\" must be an object of {\"Address\", \"Port\"}");
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isObject()) throw new IllegalArgumentException("\"" + name + "." + e.getKey() + "\" must be an object of {\"Address\", \"Port\"}");
            int port = integer(e.getValue(), "Port", 0);
            if (port < 0 || port > 65535) throw new IllegalArgumentException("\"" + name + "." + e.getKey() + ".Port\" must be 0-65535");
            out.put(e.getKey(), new Model.ServiceAddress(text(e.getValue(), "Address", ""), port));
        }
        return out;
    }

    /** A service's Kind: "" or one Consul knows. */
    public static String kind(JsonNode obj) {
        String kind = text(obj, "kind", "");
        if (!SERVICE_KINDS.contains(kind)) throw new IllegalArgumentException("Invalid Service Kind: \"" + kind + "\"");
        return kind;
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
        // Consul numbers a service's checks (service:ID:1, :2, ...) only when it has more than one.
        List<JsonNode> defs = new ArrayList<>();
        JsonNode one = field(s, "check");
        if (one != null) defs.add(one);
        JsonNode many = field(s, "checks");
        if (many != null) {
            if (!many.isArray()) throw new IllegalArgumentException("\"Checks\" must be an array");
            many.forEach(defs::add);
        }
        List<CheckDef> checks = new ArrayList<>();
        for (int i = 0; i < defs.size(); i++) checks.add(check(defs.get(i), id, name, defs.size() > 1 ? i + 1 : 0));
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (CheckDef c : checks) if (!ids.add(c.id())) throw new IllegalArgumentException("service \"" + id + "\" has two checks with ID \"" + c.id() + "\"");
        Map<String, String> meta = stringMap(s, "meta");
        validateMeta(meta, "Service");
        Model.Weights weights;
        try {
            weights = weights(field(s, "weights"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid Weights: " + e.getMessage());
        }
        return new ServiceDef(id, name, tags == null ? List.of() : List.copyOf(tags), text(s, "address", ""), port,
                meta, bool(s, "enable_tag_override", false), List.copyOf(checks), kind(s), weights,
                Map.copyOf(serviceAddresses(s, "tagged_addresses")));
    }

    /**
     * A check; {@code serviceId} is set when it is nested in a service definition (else read from the check).
     * {@code ordinal} numbers the default ID (service:ID:n) when the service has several checks; 0 for none.
     */
    public static CheckDef check(JsonNode c, String serviceId, String serviceName, int ordinal) {
        if (c == null || !c.isObject()) throw new IllegalArgumentException("a check definition must be a JSON object");
        String sid = serviceId != null ? serviceId : text(c, "service_id", "");
        List<String> args = strings(c, "args");
        if (args == null) args = strings(c, "script_args"); // the Go client's and older configs' spelling
        String script = text(c, "script", null);
        if (args == null && script != null) args = List.of("/bin/sh", "-c", script);
        if (args != null && args.isEmpty()) throw new IllegalArgumentException("check \"Args\" must not be empty");
        String http = text(c, "http", null);
        String tcp = text(c, "tcp", null);
        String udp = text(c, "udp", null);
        String grpc = text(c, "grpc", null);
        String aliasNode = text(c, "alias_node", null);
        String aliasService = text(c, "alias_service", null);
        Duration ttl = duration(c, "ttl");
        boolean alias = aliasNode != null || aliasService != null;
        int kinds = (args != null ? 1 : 0) + (http != null ? 1 : 0) + (tcp != null ? 1 : 0) + (ttl != null ? 1 : 0) + (udp != null ? 1 : 0)
                + (grpc != null ? 1 : 0) + (alias ? 1 : 0);
        if (kinds != 1) {
            throw new IllegalArgumentException("a check needs exactly one of \"Args\" (or \"Script\"), \"HTTP\", \"TCP\", \"UDP\", \"GRPC\", \"TTL\", "
                    + "\"AliasService\"/\"AliasNode\"");
        }
        Duration interval = duration(c, "interval");
        if (ttl == null && !alias && (interval == null || interval.toMillis() < 100)) {
            throw new IllegalArgumentException("script, http, tcp, udp and grpc checks need an \"Interval\" of at least 100ms");
        }
        Duration timeout = duration(c, "timeout");
        if (timeout == null) timeout = Duration.ofSeconds(10);
        HttpOptions httpOptions = httpOptions(c);
        Duration reapAfter = duration(c, "deregister_critical_service_after");
        // A check registered on its own takes its Name as ID (as Consul's agent); one nested in a service, service:ID[:n].
        String dfltId = serviceId == null ? text(c, "name", "check") : "service:" + sid + (ordinal > 0 ? ":" + ordinal : "");
        String id = text(c, "check_id", text(c, "id", dfltId));
        String name = text(c, "name", sid.isEmpty() ? id : "Service '" + serviceName + "' check");
        String status = text(c, "status", "critical");
        if (!io.failoverkit.discovery.state.Model.isValidStatus(status)) throw new IllegalArgumentException("\"Status\" must be passing, warning or critical");
        if (alias && aliasService == null) aliasService = "";
        if (alias && aliasNode == null) aliasNode = "";
        return new CheckDef(id, name, sid, args == null ? null : List.copyOf(args), http, tcp, ttl, interval, timeout, text(c, "notes", ""), status,
                httpOptions, udp, grpc, bool(c, "grpc_use_tls", false), aliasNode, aliasService, reapAfter);
    }

    private static HttpOptions httpOptions(JsonNode c) {
        String method = text(c, "method", "GET");
        if (method.isBlank() || !method.matches("[A-Za-z]+")) throw new IllegalArgumentException("\"Method\" must be an HTTP method such as GET or POST");
        Map<String, List<String>> header = new LinkedHashMap<>();
        JsonNode h = field(c, "header");
        if (h != null) {
            if (!h.isObject()) throw new IllegalArgumentException("\"Header\" must be an object of string arrays");
            for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
                var e = it.next();
                List<String> values = new ArrayList<>();
                if (e.getValue().isTextual()) values.add(e.getValue().asText());
                else if (e.getValue().isArray()) {
                    for (JsonNode v : e.getValue()) {
                        if (!v.isTextual()) throw new IllegalArgumentException("\"Header." + e.getKey() + "\" must hold only strings");
                        values.add(v.asText());
                    }
                } else throw new IllegalArgumentException("\"Header." + e.getKey() + "\" must be an array of strings");
                header.put(e.getKey(), List.copyOf(values));
            }
        }
        return new HttpOptions(method.toUpperCase(java.util.Locale.ROOT), Map.copyOf(header), text(c, "body", ""),
                bool(c, "tls_skip_verify", false), text(c, "tls_server_name", ""));
    }
}
