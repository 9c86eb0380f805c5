package io.failoverkit.discovery.http;

import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.Table;

import java.util.EnumSet;
import java.util.LinkedHashMap;
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
            String tag = call.param("tag");
            boolean passing = call.has("passing") && !"false".equalsIgnoreCase(call.param("passing"));
            server.read(call, EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS), null, () -> server.store.serviceInstances(name, tag),
                    (c, r) -> c.json(200, c.visible(r.value(), i -> Permissions.mayRead(c.identity().authorizer(), i)).stream()
                            .filter(i -> !passing || i.checks().stream().allMatch(k -> Model.PASSING.equals(k.status())))
                            .map(HealthEndpoint::entry).toList()));
        } else if (p.startsWith("checks/") && p.length() > 7) {
            String service = p.substring(7);
            server.read(call, EnumSet.of(Table.CHECKS), null, () -> server.store.checks(k -> k.serviceName().equals(service)), (c, r) -> c.json(200, visibleChecks(c, r.value())));
        } else if (p.startsWith("node/") && p.length() > 5) {
            String node = p.substring(5);
            server.read(call, EnumSet.of(Table.CHECKS), null, () -> server.store.checks(k -> k.node().equals(node)), (c, r) -> c.json(200, visibleChecks(c, r.value())));
        } else if (p.startsWith("state/") && p.length() > 6) {
            String state = p.substring(6);
            if (!STATES.contains(state)) throw HttpError.badRequest("unknown check state \"" + state + "\" (any, passing, warning, critical)");
            server.read(call, EnumSet.of(Table.CHECKS), null, () -> server.store.checks(k -> state.equals("any") || k.status().equals(state)), (c, r) -> c.json(200, visibleChecks(c, r.value())));
        } else {
            throw HttpError.notFound("unknown health endpoint /v1/health/" + p);
        }
    }

    static java.util.List<Model.Check> visibleChecks(Call c, java.util.List<Model.Check> checks) {
        return c.visible(checks, k -> Permissions.mayRead(c.identity().authorizer(), k));
    }

    static Map<String, Object> entry(StateStore.Instance i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Node", i.node());
        m.put("Service", i.service());
        m.put("Checks", i.checks());
        return m;
    }
}
