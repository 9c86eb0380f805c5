package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.Model.Check;
import io.failoverkit.discovery.state.Model.Node;
import io.failoverkit.discovery.state.Model.Service;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.Table;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/catalog/...: Consul's catalog API. */
final class CatalogEndpoint {
    private final ServerSide server;

    CatalogEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        String p = call.path;
        switch (p) {
            case "register" -> { requireWrite(call); register(call); }
            case "deregister" -> { requireWrite(call); deregister(call); }
            case "datacenters" -> call.json(200, List.of(server.datacenter));
            case "nodes" -> {
                Selection.refuseNear(call);
                Filter filter = Selection.filter(call, Selection.NODE);
                Map<String, String> meta = Selection.nodeMeta(call);
                server.read(call, EnumSet.of(Table.NODES), null, server.store::nodes, (c, r) -> c.json(200,
                        Selection.apply(filter, c.visible(r.value(), n -> Permissions.mayRead(c.identity().authorizer(), n)).stream()
                                .filter(n -> Selection.metaMatches(meta, n.meta())).toList(), n -> n)));
            }
            case "services" -> {
                Filter filter = Selection.filter(call, Selection.SERVICE_NODE);
                Map<String, String> meta = Selection.nodeMeta(call);
                if (filter == null && meta.isEmpty()) {
                    server.read(call, EnumSet.of(Table.SERVICES), null, server.store::serviceNames, (c, r) -> c.json(200, visibleServices(c, r.value())));
                } else {
                    server.read(call, EnumSet.of(Table.NODES, Table.SERVICES), null, server.store::allServiceInstances, (c, r) -> {
                        java.util.TreeMap<String, java.util.TreeSet<String>> names = new java.util.TreeMap<>();
                        for (StateStore.Instance i : Selection.apply(filter, c.visible(r.value(), i -> Permissions.mayRead(c.identity().authorizer(), i)).stream().filter(i -> Selection.metaMatches(meta, i.node().meta())).toList(),
                                CatalogEndpoint::serviceNode)) {
                            names.computeIfAbsent(i.service().service(), n -> new java.util.TreeSet<>()).addAll(i.service().tags());
                        }
                        Map<String, List<String>> out = new LinkedHashMap<>();
                        names.forEach((k, v) -> out.put(k, List.copyOf(v)));
                        c.json(200, out);
                    });
                }
            }
            default -> {
                if (p.startsWith("service/") && p.length() > "service/".length()) {
                    String name = p.substring("service/".length());
                    Selection.refuseNear(call);
                    // Repeated ?tag= means every one of them (Prometheus' consul_sd sends its tags list so).
                    List<String> tags = call.params("tag");
                    Filter filter = Selection.filter(call, Selection.SERVICE_NODE);
                    Map<String, String> meta = Selection.nodeMeta(call);
                    server.readService(call, EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS), name, () -> server.store.serviceInstancesTagged(name, tags),
                            (c, r) -> c.json(200, Selection.apply(filter, c.visible(r.value(), i -> Permissions.mayRead(c.identity().authorizer(), i)).stream()
                                    .filter(i -> Selection.metaMatches(meta, i.node().meta()))
                                    .map(CatalogEndpoint::serviceNode).toList(), m -> m)));
                } else if (p.startsWith("node-services/")) {
                    new CatalogNodeServicesEndpoint(server).handle(call);
                } else if (p.startsWith("node/") && p.length() > "node/".length()) {
                    String name = p.substring("node/".length());
                    Filter filter = Selection.filter(call, Selection.NODE_SERVICE);
                    server.read(call, EnumSet.of(Table.NODES, Table.SERVICES), null, () -> server.store.nodeServices(name),
                            (c, r) -> c.json(200, visibleNode(c, r.value(), filter)));
                } else {
                    throw HttpError.notFound("unknown catalog endpoint /v1/catalog/" + p);
                }
            }
        }
    }

    /** The service names the token may read (Consul filters the map by service:read). */
    static Map<String, List<String>> visibleServices(Call c, Map<String, List<String>> all) {
        var a = c.identity().authorizer();
        Map<String, List<String>> out = new java.util.TreeMap<>();
        all.forEach((name, tags) -> { if (Permissions.mayReadService(a, name)) out.put(name, tags); });
        if (out.size() != all.size()) c.filtered();
        return out;
    }

    /** /v1/catalog/node/&lt;n&gt;: null when the node may not be read, its services filtered by service:read. */
    private static Object visibleNode(Call c, StateStore.NodeServices ns, Filter filter) {
        if (ns == null) return null;
        var a = c.identity().authorizer();
        if (!Permissions.mayRead(a, ns.node())) {
            c.filtered();
            return null;
        }
        Map<String, Service> services = new LinkedHashMap<>();
        ns.services().forEach((id, s) -> { if (Permissions.mayReadService(a, s.service())) services.put(id, s); });
        if (services.size() != ns.services().size()) c.filtered();
        return Map.of("Node", ns.node(), "Services", Selection.applyToValues(filter, services, v -> v));
    }

    static void requireWrite(Call call) {
        if (!call.method.equals("PUT") && !call.method.equals("POST")) throw new HttpError(405, "method " + call.method + " not allowed; use PUT");
    }

    /** The flat shape of /v1/catalog/service/&lt;name&gt;. */
    static Map<String, Object> serviceNode(StateStore.Instance i) {
        Map<String, Object> m = new LinkedHashMap<>();
        Node n = i.node();
        Service s = i.service();
        m.put("ID", n.id());
        m.put("Node", n.node());
        m.put("Address", n.address());
        m.put("Datacenter", n.datacenter());
        m.put("TaggedAddresses", n.taggedAddresses());
        m.put("NodeMeta", n.meta());
        m.put("ServiceKind", s.kind());
        m.put("ServiceID", s.id());
        m.put("ServiceName", s.service());
        m.put("ServiceTags", s.tags());
        m.put("ServiceAddress", s.address());
        m.put("ServiceTaggedAddresses", s.taggedAddresses().isEmpty() ? null : s.taggedAddresses());
        m.put("ServiceWeights", s.weights());
        m.put("ServiceMeta", s.meta());
        m.put("ServicePort", s.port());
        m.put("ServiceEnableTagOverride", s.enableTagOverride());
        m.put("CreateIndex", s.createIndex());
        m.put("ModifyIndex", s.modifyIndex());
        return m;
    }

    private void register(Call call) {
        JsonNode body = call.jsonBody(false);
        if (!body.isObject()) throw HttpError.badRequest("request body must be a JSON object");
        Command.Register cmd;
        try {
            cmd = parseRegister(body, server.datacenter);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        server.write(call, cmd, r -> call.json(200, true));
    }

    static Command.Register parseRegister(JsonNode body, String datacenter) {
        String node = Definitions.text(body, "Node", null);
        if (node == null || node.isBlank()) throw new IllegalArgumentException("missing node name (\"Node\")");
        String address = Definitions.text(body, "Address", null);
        if (address == null || address.isBlank()) throw new IllegalArgumentException("missing node address (\"Address\")");
        String dc = Definitions.text(body, "Datacenter", "");
        if (!dc.isEmpty() && !dc.equals(datacenter)) throw new IllegalArgumentException("datacenter \"" + dc + "\" is not this one (" + datacenter + ")");
        String id = Definitions.text(body, "ID", "");
        Node n = new Node(id, node, address, datacenter, Definitions.stringMap(body, "TaggedAddresses"), Definitions.stringMap(body, "NodeMeta"), 0, 0);
        Service svc = null;
        JsonNode s = Definitions.field(body, "Service");
        if (s != null) {
            if (!s.isObject()) throw new IllegalArgumentException("\"Service\" must be an object");
            String name = Definitions.text(s, "Service", null);
            if (name == null || name.isBlank()) throw new IllegalArgumentException("missing service name (\"Service.Service\")");
            List<String> tags = Definitions.strings(s, "Tags");
            int port = Definitions.integer(s, "Port", 0);
            if (port < 0 || port > 65535) throw new IllegalArgumentException("\"Service.Port\" must be 0-65535");
            Model.Weights weights;
            try {
                weights = Definitions.weights(Definitions.field(s, "Weights"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Invalid Weights: " + e.getMessage());
            }
            Map<String, String> meta = Definitions.stringMap(s, "Meta");
            Definitions.validateMeta(meta, "Service");
            svc = new Service(Definitions.text(s, "ID", name), name, tags == null ? List.of() : List.copyOf(tags), Definitions.text(s, "Address", ""),
                    meta, port, weights, Definitions.bool(s, "EnableTagOverride", false), Definitions.kind(s),
                    Map.copyOf(Definitions.serviceAddresses(s, "TaggedAddresses")), 0, 0);
        }
        List<Check> checks = new ArrayList<>();
        JsonNode one = Definitions.field(body, "Check");
        if (one != null) checks.add(parseCheck(one, node));
        JsonNode many = Definitions.field(body, "Checks");
        if (many != null) {
            if (!many.isArray()) throw new IllegalArgumentException("\"Checks\" must be an array");
            for (JsonNode c : many) checks.add(parseCheck(c, node));
        }
        return new Command.Register(n, svc, List.copyOf(checks), Definitions.bool(body, "SkipNodeUpdate", false), System.currentTimeMillis());
    }

    private static Check parseCheck(JsonNode c, String node) {
        if (!c.isObject()) throw new IllegalArgumentException("a check must be an object");
        String checkNode = Definitions.text(c, "Node", node);
        if (!checkNode.equals(node)) throw new IllegalArgumentException("check names node \"" + checkNode + "\" but is registered with node \"" + node + "\"");
        String name = Definitions.text(c, "Name", null);
        String id = Definitions.text(c, "CheckID", name);
        if (id == null || id.isBlank()) throw new IllegalArgumentException("a check needs \"CheckID\" or \"Name\"");
        String status = Definitions.text(c, "Status", Model.CRITICAL);
        if (!Model.isValidStatus(status)) throw new IllegalArgumentException("check status \"" + status + "\" must be passing, warning or critical");
        return new Check(node, id, name == null ? id : name, status, Definitions.text(c, "Notes", ""), Definitions.text(c, "Output", ""),
                Definitions.text(c, "ServiceID", ""), "", List.of(), Definitions.text(c, "Type", ""), 0, 0);
    }

    private void deregister(Call call) {
        Deregistration d = Deregistration.parse(call.jsonBody(false));
        server.write(call, new Command.Deregister(d.node(), d.serviceId(), d.checkId(), System.currentTimeMillis()), r -> call.json(200, true));
    }

    /** The body of /v1/catalog/deregister (read by the route and by its ACL check): the node, maybe a service or check ID. */
    record Deregistration(String node, String serviceId, String checkId) {
        static Deregistration parse(JsonNode body) {
            Deregistration d;
            try {
                d = new Deregistration(Definitions.text(body, "Node", null), Definitions.text(body, "ServiceID", null),
                        Definitions.text(body, "CheckID", null));
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest(e.getMessage());
            }
            if (d.node() == null || d.node().isBlank()) throw HttpError.badRequest("missing node name (\"Node\")");
            return d;
        }
    }
}
