package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;

import java.util.LinkedHashMap;
import java.util.Map;

/** GET /v1/agent/version: the agent's build, in the fields of Consul's answer. */
final class AgentVersionEndpoint {
    void handle(Call call) {
        if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("SKU", "oss");
        out.put("BuildDate", "");
        out.put("Version", Agent.VERSION);
        out.put("Revision", "failoverkit");
        out.put("FIPS", "");
        out.put("HumanVersion", "failoverkit discovery-node v" + Agent.VERSION);
        call.json(200, out);
    }
}
