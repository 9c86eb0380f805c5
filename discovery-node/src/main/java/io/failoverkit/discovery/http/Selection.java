package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.http.Filter.ListOf;
import io.failoverkit.discovery.http.Filter.MapOf;
import io.failoverkit.discovery.http.Filter.Scalar;
import io.failoverkit.discovery.http.Filter.Struct;
import io.failoverkit.discovery.state.Json;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The query parameters that narrow a read, as Consul's: {@code ?filter=} (with the fields each endpoint documents),
 * {@code ?node-meta=k:v} (repeatable, all must match) and {@code ?near=} (refused until coordinates exist).
 */
final class Selection {
    private Selection() {}

    private static final Struct WEIGHTS = Struct.of("Passing", Scalar.INT, "Warning", Scalar.INT);
    private static final Struct SERVICE_ADDRESS = Struct.of("Address", Scalar.STRING, "Port", Scalar.INT);
    private static final Struct CONNECT = Struct.of("Native", Scalar.BOOL);

    /** A node: /v1/catalog/nodes, and health's {@code Node}. */
    static final Struct NODE = Struct.of("ID", Scalar.STRING, "Node", Scalar.STRING, "Address", Scalar.STRING, "Datacenter", Scalar.STRING,
            "TaggedAddresses", new MapOf(Scalar.STRING), "Meta", new MapOf(Scalar.STRING));

    /** A service on its node: /v1/agent/services, /v1/catalog/node/&lt;n&gt;, and health's {@code Service}. */
    static final Struct NODE_SERVICE = Struct.of("ID", Scalar.STRING, "Service", Scalar.STRING, "Tags", new ListOf(Scalar.STRING),
            "Address", Scalar.STRING, "TaggedAddresses", new MapOf(SERVICE_ADDRESS), "Meta", new MapOf(Scalar.STRING), "Port", Scalar.INT,
            "Weights", WEIGHTS, "EnableTagOverride", Scalar.BOOL, "Kind", Scalar.STRING, "Connect", CONNECT);

    /** The flat service-and-node shape of /v1/catalog/service/&lt;s&gt; (and what /v1/catalog/services filters on). */
    static final Struct SERVICE_NODE = Struct.of("ID", Scalar.STRING, "Node", Scalar.STRING, "Address", Scalar.STRING, "Datacenter", Scalar.STRING,
            "TaggedAddresses", new MapOf(Scalar.STRING), "NodeMeta", new MapOf(Scalar.STRING), "ServiceKind", Scalar.STRING,
            "ServiceID", Scalar.STRING, "ServiceName", Scalar.STRING, "ServiceTags", new ListOf(Scalar.STRING), "ServiceAddress", Scalar.STRING,
            "ServiceTaggedAddresses", new MapOf(SERVICE_ADDRESS), "ServiceWeights", WEIGHTS, "ServiceMeta", new MapOf(Scalar.STRING),
            "ServicePort", Scalar.INT, "ServiceEnableTagOverride", Scalar.BOOL, "ServiceConnect", CONNECT);

    /** A check: /v1/health/node|checks|state, /v1/agent/checks, and health's {@code Checks}. */
    static final Struct HEALTH_CHECK = Struct.of("Node", Scalar.STRING, "CheckID", Scalar.STRING, "Name", Scalar.STRING, "Status", Scalar.STRING,
            "Notes", Scalar.STRING, "Output", Scalar.STRING, "ServiceID", Scalar.STRING, "ServiceName", Scalar.STRING,
            "ServiceTags", new ListOf(Scalar.STRING), "Type", Scalar.STRING, "ExposedPort", Scalar.INT);

    /** An entry of /v1/health/service/&lt;s&gt;. */
    static final Struct CHECK_SERVICE_NODE = Struct.of("Node", NODE, "Service", NODE_SERVICE, "Checks", new ListOf(HEALTH_CHECK));

    /** The call's {@code ?filter=} for items of {@code schema}, or null without one; a bad expression is a 400. */
    static Filter filter(Call call, Struct schema) {
        if (!call.has("filter")) return null;
        String text = call.param("filter");
        if (text == null || text.isBlank()) return null;
        try {
            return Filter.parse(text, schema);
        } catch (Filter.FilterException e) {
            throw HttpError.badRequest(e.getMessage());
        }
    }

    /** The items {@code filter} keeps (all of them when it is null); {@code shape} is the JSON returned for one. */
    static <T> List<T> apply(Filter filter, List<T> items, Function<T, Object> shape) {
        if (filter == null) return items;
        return filter.select(items, t -> tree(shape.apply(t)));
    }

    /** The entries of a map whose values {@code filter} keeps, in order (agent services and checks). */
    static <V> Map<String, V> applyToValues(Filter filter, Map<String, V> items, Function<V, Object> shape) {
        if (filter == null) return items;
        Map<String, V> out = new LinkedHashMap<>();
        items.forEach((k, v) -> { if (filter.matches(tree(shape.apply(v)))) out.put(k, v); });
        return out;
    }

    static JsonNode tree(Object o) {
        return o instanceof JsonNode j ? j : Json.MAPPER.valueToTree(o);
    }

    /** {@code ?node-meta=k:v}, repeatable: every pair must match (Consul: a value without ':' means the empty value). */
    static Map<String, String> nodeMeta(Call call) {
        Map<String, String> want = new LinkedHashMap<>();
        for (String pair : call.params("node-meta")) {
            int colon = pair.indexOf(':');
            if (colon < 0) want.put(pair, "");
            else want.put(pair.substring(0, colon), pair.substring(colon + 1));
        }
        return want;
    }

    static boolean metaMatches(Map<String, String> want, Map<String, String> have) {
        if (want.isEmpty()) return true;
        if (have == null) return false;
        for (var e : want.entrySet()) if (!e.getValue().equals(have.get(e.getKey()))) return false;
        return true;
    }

    /**
     * {@code ?near=}: Consul sorts by network coordinates (Vivaldi); this agent keeps none yet, so sorting cannot be
     * honoured and the parameter is refused rather than ignored.
     */
    static void refuseNear(Call call) {
        if (call.has("near")) {
            throw HttpError.badRequest("?near sorts by network coordinates, which this cluster does not compute yet (there is no /v1/coordinate); "
                    + "leave ?near out");
        }
    }
}
