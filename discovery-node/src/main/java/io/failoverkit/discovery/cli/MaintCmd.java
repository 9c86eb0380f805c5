package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code discovery-node maint}: Consul's {@code consul maint}. With -enable or -disable it puts the agent's node (or one
 * of its services, with -service) into or out of maintenance mode through PUT /v1/agent/maintenance and
 * /v1/agent/service/maintenance/:id; with neither it lists what this agent has in maintenance. Maintenance is a critical
 * check ({@code _node_maintenance}, {@code _service_maintenance:ID}) whose Notes hold the reason, so the node or service
 * leaves every ?passing query and DNS answer until it is disabled.
 */
@Command(name = "maint", mixinStandardHelpOptions = true,
        description = {"Puts this agent's node, or one of its services, into or out of maintenance mode (Consul's `consul maint`).",
                "With neither -enable nor -disable, lists what is in maintenance (nothing printed when nothing is)."})
public final class MaintCmd implements Callable<Integer> {
    @CommandLine.Mixin AgentHttp http;

    @Option(names = "-enable", description = "Enable maintenance mode.") boolean enable;
    @Option(names = "-disable", description = "Disable maintenance mode.") boolean disable;
    @Option(names = "-reason", paramLabel = "TEXT", description = "Why (kept in the maintenance check's Notes); only with -enable.") String reason;
    @Option(names = "-service", paramLabel = "ID", description = "A service ID of this agent, instead of the whole node.") String serviceId;

    @Override
    public Integer call() throws Exception {
        if (enable && disable) throw http.usage("Only one of -enable or -disable may be provided");
        if (!enable && reason != null && !reason.isEmpty()) throw http.usage("Reason may only be provided with -enable");
        if (!enable && !disable && serviceId != null) throw http.usage("Service requires either -enable or -disable");
        if (serviceId != null && serviceId.isBlank()) throw http.usage("-service needs a service ID");
        PrintWriter out = http.out();
        String nodeName = http.getJson("querying agent", "/v1/agent/self").path("Config").path("NodeName").asText();

        if (!enable && !disable) {
            JsonNode checks = http.getJson("getting checks", "/v1/agent/checks");
            List<JsonNode> sorted = new ArrayList<>();
            checks.forEach(sorted::add);
            sorted.sort(java.util.Comparator.comparing(c -> c.path("CheckID").asText()));
            for (JsonNode c : sorted) {
                String id = c.path("CheckID").asText();
                if (id.equals("_node_maintenance")) {
                    out.println("Node:");
                    out.println("  Name:   " + nodeName);
                    out.println("  Reason: " + c.path("Notes").asText());
                    out.println();
                } else if (id.startsWith("_service_maintenance:")) {
                    out.println("Service:");
                    out.println("  ID:     " + c.path("ServiceID").asText());
                    out.println("  Reason: " + c.path("Notes").asText());
                    out.println();
                }
            }
            out.flush();
            return 0;
        }

        String q = "?enable=" + enable + (enable && reason != null ? "&reason=" + AgentHttp.q(reason) : "");
        if (serviceId == null) {
            http.call((enable ? "enabling" : "disabling") + " node maintenance", "PUT", "/v1/agent/maintenance" + q);
            out.println("Node maintenance is now " + (enable ? "enabled" : "disabled"));
        } else {
            http.call((enable ? "enabling" : "disabling") + " service maintenance", "PUT",
                    "/v1/agent/service/maintenance/" + AgentHttp.encode(serviceId, false) + q);
            out.println("Service maintenance is now " + (enable ? "enabled" : "disabled") + " for \"" + serviceId + "\"");
        }
        out.flush();
        return 0;
    }
}
