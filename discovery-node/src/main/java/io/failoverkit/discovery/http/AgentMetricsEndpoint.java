package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;

import java.nio.charset.StandardCharsets;

/**
 * GET /v1/agent/metrics: this agent's telemetry in Consul's JSON (Timestamp, Gauges, Points, Counters, Samples), or
 * with {@code ?format=prometheus} in Prometheus' text format, which a Prometheus scrape job reads as it reads Consul's.
 */
final class AgentMetricsEndpoint {
    private final Agent agent;

    AgentMetricsEndpoint(Agent agent) {
        this.agent = agent;
    }

    void handle(Call call) {
        if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
        String format = call.param("format");
        if (format == null || format.isEmpty()) {
            call.json(200, agent.metrics().json());
        } else if (format.equals("prometheus")) {
            call.send(200, agent.metrics().prometheus().getBytes(StandardCharsets.UTF_8), "text/plain; version=0.0.4; charset=utf-8");
        } else {
            throw HttpError.badRequest("Invalid format \"" + format + "\": only \"prometheus\" is supported (or none, for JSON)");
        }
    }
}
