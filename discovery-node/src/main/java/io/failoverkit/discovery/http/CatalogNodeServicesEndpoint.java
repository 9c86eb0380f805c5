package io.failoverkit.discovery.http;

import io.failoverkit.discovery.state.Model.Service;
import io.failoverkit.discovery.state.Table;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GET /v1/catalog/node-services/&lt;node&gt;: a node and its services as a list (Consul's CatalogNodeServiceList), the
 * newer form of /v1/catalog/node/&lt;node&gt;. A node the catalog does not know answers {"Node": null, "Services": null},
 * as Consul's does; blocking queries work as on every catalog read.
 */
final class CatalogNodeServicesEndpoint {
    private final ServerSide server;

    CatalogNodeServicesEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        String name = call.path.substring("node-services/".length());
        if (name.isEmpty()) throw HttpError.badRequest("Missing node name");
        Filter filter = Selection.filter(call, Selection.NODE_SERVICE);
        server.read(call, EnumSet.of(Table.NODES, Table.SERVICES), null, () -> server.store.nodeServices(name), (c, r) -> {
            Map<String, Object> out = new LinkedHashMap<>();
            var authorizer = c.identity().authorizer();
            // As /v1/catalog/node/<n>: a node the token may not read is not there; its services filtered by service:read.
            boolean visible = r.value() != null && Permissions.mayRead(authorizer, r.value().node());
            if (r.value() != null && !visible) c.filtered();
            out.put("Node", visible ? r.value().node() : null);
            if (visible) {
                List<Service> all = List.copyOf(r.value().services().values());
                List<Service> readable = c.visible(all, x -> Permissions.mayReadService(authorizer, x.service()));
                out.put("Services", Selection.apply(filter, readable, x -> x).stream().map(CatalogNodeServicesEndpoint::service).toList());
            } else {
                out.put("Services", null);
            }
            c.json(200, out);
        });
    }

    /** Consul's NodeService as this endpoint lists it. */
    static Map<String, Object> service(Service s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Kind", s.kind());
        m.put("ID", s.id());
        m.put("Service", s.service());
        m.put("Tags", s.tags() == null ? List.of() : s.tags());
        m.put("Address", s.address());
        m.put("TaggedAddresses", s.taggedAddresses().isEmpty() ? null : s.taggedAddresses());
        m.put("Meta", s.meta());
        m.put("Port", s.port());
        m.put("Weights", s.weights());
        m.put("EnableTagOverride", s.enableTagOverride());
        m.put("CreateIndex", s.createIndex());
        m.put("ModifyIndex", s.modifyIndex());
        return m;
    }
}
