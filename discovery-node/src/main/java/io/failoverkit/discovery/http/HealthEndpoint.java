package io.failoverkit.discovery.http;

import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.Table;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** /v1/health/...: services with their checks, and checks by service, node or state. */
final class HealthEndpoint {
    private static final Set<String> STATES = Set.of("any", Model.PASSING, Model.WARNING, Model.CRITICAL);
    private final ServerSide server;

    HealthEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        String p = call.path;
        if (p.startsWith("service/") && p.length() > 8) {
            String name = p.substring(8);
            Selection.refuseNear(call);
            // Repeated ?tag= means every one of them (Prometheus' consul_sd sends its tags list so).
            List<String> tags = call.params("tag");
            boolean passing = call.has("passing") && !"false".equalsIgnoreCase(call.param("passing"));
            Filter filter = Selection.filter(call, Selection.CHECK_SERVICE_NODE);
            Map<String, String> meta = Selection.nodeMeta(call);
            server.readService(call, EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS), name, () -> server.store.serviceInstancesTagged(name, tags),
                    (c, r) -> c.json(200, Selection.apply(filter, c.visible(r.value(), i -> Permissions.mayRead(c.identity().authorizer(), i)).stream()
                            .filter(i -> !passing || i.checks().stream().allMatch(k -> Model.PASSING.equals(k.status())))
                            .filter(i -> Selection.metaMatches(meta, i.node().meta()))
                            .map(HealthEndpoint::entry).toList(), e -> e)));
        } else if (p.startsWith("checks/") && p.length() > 7) {
            String service = p.substring(7);
            checks(call, k -> k.serviceName().equals(service));
        } else if (p.startsWith("node/") && p.length() > 5) {
            String node = p.substring(5);
            Filter filter = Selection.filter(call, Selection.HEALTH_CHECK);
            server.read(call, EnumSet.of(Table.CHECKS), null, () -> server.store.nodeChecks(node),
                    (c, r) -> c.json(200, Selection.apply(filter, visibleChecks(c, r.value()), k -> k)));
        } else if (p.startsWith("state/") && p.length() > 6) {
            String state = p.substring(6);
            if (!STATES.contains(state)) throw HttpError.badRequest("unknown check state \"" + state + "\" (any, passing, warning, critical)");
            checks(call, k -> state.equals("any") || k.status().equals(state));
        } else {
            throw HttpError.notFound("unknown health endpoint /v1/health/" + p);
        }
    }

    static java.util.List<Model.Check> visibleChecks(Call c, java.util.List<Model.Check> checks) {
        return c.visible(checks, k -> Permissions.mayRead(c.identity().authorizer(), k));
    }

    /** /v1/health/checks and /v1/health/state: with ?filter, ?node-meta and ?near (refused) as Consul documents them. */
    private void checks(Call call, java.util.function.Predicate<Model.Check> which) {
        Selection.refuseNear(call);
        Filter filter = Selection.filter(call, Selection.HEALTH_CHECK);
        Map<String, String> meta = Selection.nodeMeta(call);
        java.util.function.Supplier<StateStore.Read<List<Model.Check>>> query = () -> {
            if (meta.isEmpty()) return server.store.checks(which);
            Map<String, Map<String, String>> metaByNode = new java.util.HashMap<>();
            server.store.nodes().value().forEach(n -> metaByNode.put(n.node(), n.meta()));
            return server.store.checks(k -> which.test(k) && Selection.metaMatches(meta, metaByNode.get(k.node())));
        };
        server.read(call, EnumSet.of(Table.CHECKS), null, query, (c, r) -> c.json(200, Selection.apply(filter, visibleChecks(c, r.value()), k -> k)));
    }

    static Map<String, Object> entry(StateStore.Instance i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Node", i.node());
        m.put("Service", i.service());
        m.put("Checks", i.checks());
        return m;
    }
}
