package io.failoverkit.discovery.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.failoverkit.discovery.cli.AgentHttp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a dependency from the agent's HTTP API with a Consul blocking query ({@code ?index=&wait=}) and turns the
 * answer into the values consul-template's templates see (its field names, its sorting, its health filtering).
 */
public final class AgentReader {
    /** A fetched value and the X-Consul-Index it came with. */
    public record Result(Object value, long index) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The agent: its address and ACL token (X-Consul-Token, never logged) as every CLI command resolves them. */
    private final AgentHttp http;
    private volatile String localNode;

    /** For a fixed address (HOST:PORT or http://HOST:PORT); the token, if any, from the environment. */
    public AgentReader(String httpAddr) {
        this(AgentHttp.to(httpAddr));
    }

    public AgentReader(AgentHttp http) {
        this.http = http;
        http.base(); // a bad address fails here, not at the first query
    }

    public String address() { return http.base().toString(); }

    private static String enc(String s) { return AgentHttp.encode(s, false); }

    private static String encPath(String key) { return AgentHttp.encode(key, true); }

    public Result fetch(Dependency d, long index, Duration wait) throws IOException, InterruptedException {
        StringBuilder q = new StringBuilder();
        String path = switch (d.kind()) {
            case HEALTH_SERVICE -> {
                if (d.filters().equals(List.of("passing"))) q.append("&passing=1");
                if (d.tag() != null) q.append("&tag=").append(enc(d.tag()));
                if (d.near() != null) q.append("&near=").append(enc(d.near()));
                yield "/v1/health/service/" + enc(d.name());
            }
            case CATALOG_SERVICES -> "/v1/catalog/services";
            case CATALOG_NODES -> {
                if (d.near() != null) q.append("&near=").append(enc(d.near()));
                yield "/v1/catalog/nodes";
            }
            case CATALOG_NODE -> "/v1/catalog/node/" + enc(d.name().isEmpty() ? localNode() : d.name());
            case KV_BLOCK, KV_GET -> "/v1/kv/" + encPath(d.name());
            case KV_LIST -> { q.append("&recurse=1"); yield "/v1/kv/" + encPath(d.name()); }
        };
        if (d.dc() != null) q.append("&dc=").append(enc(d.dc()));
        if (index > 0) q.append("&index=").append(index).append("&wait=").append(wait.toMillis()).append("ms");
        AgentHttp.Response r = http.send("GET", path + (q.isEmpty() ? "" : "?" + q.substring(1)), null,
                wait.plus(wait.dividedBy(16)).plusSeconds(10));
        boolean kv = d.kind() == Dependency.Kind.KV_BLOCK || d.kind() == Dependency.Kind.KV_GET || d.kind() == Dependency.Kind.KV_LIST;
        if (r.status() == 404 && (kv || d.kind() == Dependency.Kind.CATALOG_NODE)) {
            return new Result(d.kind() == Dependency.Kind.KV_LIST ? List.of() : null, r.index());
        }
        if (r.status() != 200) throw new IOException(d + ": GET " + path + ": " + r.status() + " " + r.body().strip());
        JsonNode body = JSON.readTree(r.body());
        return new Result(convert(d, body), r.index());
    }

    private String localNode() throws IOException, InterruptedException {
        if (localNode == null) {
            AgentHttp.Response r = http.send("GET", "/v1/agent/self", null, Duration.ofSeconds(10));
            if (r.status() != 200) throw new IOException("GET /v1/agent/self: " + r.status() + " " + r.body().strip());
            localNode = JSON.readTree(r.body()).path("Config").path("NodeName").asText();
        }
        return localNode;
    }

    static Object convert(Dependency d, JsonNode body) {
        return switch (d.kind()) {
            case HEALTH_SERVICE -> healthServices(d, body);
            case CATALOG_SERVICES -> {
                List<Object> list = new ArrayList<>();
                List<String> names = new ArrayList<>();
                body.fieldNames().forEachRemaining(names::add);
                names.sort(null);
                for (String n : names) {
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("Name", n);
                    f.put("Tags", sortedStrings(body.get(n)));
                    list.add(new GoStruct("dependency.CatalogSnippet", f));
                }
                yield list;
            }
            case CATALOG_NODES -> {
                List<GoStruct> list = new ArrayList<>();
                for (JsonNode n : body) list.add(node(n));
                if (d.near() == null) list.sort(Comparator.comparing((GoStruct s) -> (String) s.get("Node")));
                yield List.copyOf(list);
            }
            case CATALOG_NODE -> {
                if (body == null || body.isNull() || body.path("Node").isNull() || body.path("Node").isMissingNode()) yield null;
                List<GoStruct> services = new ArrayList<>();
                JsonNode svcs = body.path("Services");
                for (JsonNode s : svcs) {
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("ID", s.path("ID").asText());
                    f.put("Service", s.path("Service").asText());
                    f.put("Tags", sortedStrings(s.path("Tags")));
                    f.put("Meta", strings(s.path("Meta")));
                    f.put("Port", s.path("Port").asLong());
                    f.put("Address", s.path("Address").asText());
                    services.add(new GoStruct("dependency.CatalogNodeService", f));
                }
                services.sort(Comparator.comparing((GoStruct s) -> (String) s.get("Service")).thenComparing(s -> (String) s.get("ID")));
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("Node", node(body.path("Node")));
                f.put("Services", List.copyOf(services));
                yield new GoStruct("dependency.CatalogNode", f);
            }
            case KV_BLOCK, KV_GET -> {
                if (!body.isArray() || body.isEmpty()) yield null;
                yield value(body.get(0));
            }
            case KV_LIST -> {
                List<Object> list = new ArrayList<>();
                for (JsonNode p : body) {
                    String full = p.path("Key").asText();
                    String key = full.startsWith(d.name()) ? full.substring(d.name().length()) : full;
                    key = key.replaceFirst("^/+", "");
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("Path", full);
                    f.put("Key", key);
                    f.put("Value", value(p));
                    f.put("CreateIndex", p.path("CreateIndex").asLong());
                    f.put("ModifyIndex", p.path("ModifyIndex").asLong());
                    f.put("LockIndex", p.path("LockIndex").asLong());
                    f.put("Flags", p.path("Flags").asLong());
                    f.put("Session", p.path("Session").asText(""));
                    list.add(new GoStruct("dependency.KeyPair", f));
                }
                yield List.copyOf(list);
            }
        };
    }

    private static String value(JsonNode pair) {
        JsonNode v = pair.path("Value");
        if (v.isNull() || v.isMissingNode()) return "";
        return new String(Base64.getDecoder().decode(v.asText()), StandardCharsets.UTF_8);
    }

    private static GoStruct node(JsonNode n) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("ID", n.path("ID").asText(""));
        f.put("Node", n.path("Node").asText());
        f.put("Address", n.path("Address").asText());
        f.put("Datacenter", n.path("Datacenter").asText(""));
        f.put("TaggedAddresses", strings(n.path("TaggedAddresses")));
        f.put("Meta", strings(n.path("Meta")));
        return new GoStruct("dependency.Node", f);
    }

    private static List<Object> sortedStrings(JsonNode arr) {
        List<String> l = new ArrayList<>();
        if (arr != null) for (JsonNode t : arr) l.add(t.asText());
        l.sort(null);
        return List.copyOf(l);
    }

    private static Map<String, Object> strings(JsonNode obj) {
        Map<String, Object> m = new java.util.TreeMap<>();
        if (obj != null && obj.isObject()) obj.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Consul's aggregate of a service instance's checks: maintenance, then critical, then warning, else passing. */
    static String aggregate(JsonNode checks) {
        boolean warning = false, critical = false, maint = false;
        for (JsonNode c : checks) {
            String id = c.path("CheckID").asText();
            if (id.equals("_node_maintenance") || id.startsWith("_service_maintenance:")) maint = true;
            switch (c.path("Status").asText()) {
                case "critical" -> critical = true;
                case "warning" -> warning = true;
                default -> { }
            }
        }
        return maint ? "maintenance" : critical ? "critical" : warning ? "warning" : "passing";
    }

    private static Object healthServices(Dependency d, JsonNode body) {
        List<GoStruct> list = new ArrayList<>();
        for (JsonNode e : body) {
            JsonNode node = e.path("Node"), svc = e.path("Service"), checks = e.path("Checks");
            String status = aggregate(checks);
            if (!d.filters().contains("any") && !d.filters().contains(status)) continue;
            String address = svc.path("Address").asText("");
            if (address.isEmpty()) address = node.path("Address").asText();
            List<Object> checkList = new ArrayList<>();
            for (JsonNode c : checks) {
                Map<String, Object> f = new LinkedHashMap<>();
                for (String k : List.of("Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName")) f.put(k, c.path(k).asText(""));
                f.put("ServiceTags", sortedStrings(c.path("ServiceTags")));
                checkList.add(new GoStruct("api.HealthCheck", f));
            }
            Map<String, Object> weights = new LinkedHashMap<>();
            weights.put("Passing", svc.path("Weights").path("Passing").asLong(1));
            weights.put("Warning", svc.path("Weights").path("Warning").asLong(1));
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("Node", node.path("Node").asText());
            f.put("NodeID", node.path("ID").asText(""));
            f.put("NodeAddress", node.path("Address").asText());
            f.put("NodeDatacenter", node.path("Datacenter").asText(""));
            f.put("NodeTaggedAddresses", strings(node.path("TaggedAddresses")));
            f.put("NodeMeta", strings(node.path("Meta")));
            f.put("ServiceMeta", strings(svc.path("Meta")));
            f.put("Address", address);
            f.put("ServiceTaggedAddresses", strings(svc.path("TaggedAddresses")));
            f.put("ID", svc.path("ID").asText());
            f.put("Name", svc.path("Service").asText());
            f.put("Tags", sortedStrings(svc.path("Tags")));
            f.put("Checks", List.copyOf(checkList));
            f.put("Status", status);
            f.put("Port", svc.path("Port").asLong());
            f.put("Weights", new GoStruct("api.AgentWeights", weights));
            list.add(new GoStruct("dependency.HealthService", f));
        }
        if (d.near() == null) list.sort(Comparator.comparing((GoStruct s) -> (String) s.get("Node")).thenComparing(s -> (String) s.get("ID")));
        return List.copyOf(list);
    }
}
