package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.state.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * /v1/operator/keyring: the pool's gossip keys, as Consul's. GET lists every key with the number of agents holding
 * it; POST installs a key, PUT makes it the primary, DELETE removes it (body {"Key": "..."}), on every alive agent
 * of the pool (each agent applies it to its own keyring and keeps it in its data dir). The agent that takes the
 * request passes it to the others over their HTTP API; a stock serf agent in the pool is not reached (its keys are
 * managed with serf's own `keys` command).
 */
final class KeyringEndpoint {
    static final String LOCAL_HEADER = "X-Failoverkit-Keyring-Local";

    private final Agent agent;

    KeyringEndpoint(Agent agent) {
        this.agent = agent;
    }

    void handle(Call call) {
        boolean local = call.header(LOCAL_HEADER) != null;
        String key = null;
        if (!call.method.equals("GET")) {
            JsonNode body = call.jsonBody(false);
            JsonNode k = body.get("Key");
            if (k == null || !k.isTextual() || k.asText().isBlank()) throw HttpError.badRequest("request body must be {\"Key\": \"<base64 key>\"}");
            key = k.asText();
            try {
                io.failoverkit.discovery.cluster.GossipKeys.decode(key);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest(e.getMessage());
            }
        }
        if (local) {
            handleLocal(call, key);
            return;
        }
        byte[] body = key == null ? null : json(Map.of("Key", key));
        String token = call.token();
        Map<String, JsonNode> replies = new TreeMap<>();
        Map<String, String> errors = new TreeMap<>();
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (Member m : agent.membership().members()) {
            if (m.status() != Member.Status.ALIVE || !m.isAgent()) continue;
            if (m.name().equals(agent.nodeName())) {
                try {
                    replies.put(m.name(), applyLocal(call.method, key));
                } catch (IllegalArgumentException | IOException e) {
                    errors.put(m.name(), e.getMessage());
                }
                continue;
            }
            var base = agent.httpBase(m);
            if (base.isEmpty()) {
                errors.put(m.name(), "no HTTP API this agent can reach (HTTPS without a CA to verify it)");
                continue;
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base.get() + "/v1/operator/keyring"))
                    .timeout(Duration.ofSeconds(10)).header(LOCAL_HEADER, "1")
                    .method(call.method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            if (token != null) rb.header("X-Consul-Token", token); // each agent checks keyring access
            HttpRequest req = rb.build();
            pending.add(agent.anyAgentHttp().sendAsync(req, HttpResponse.BodyHandlers.ofString()).handle((r, err) -> {
                synchronized (replies) {
                    if (err != null) errors.put(m.name(), ServerSide.rootMessage(err));
                    else if (r.statusCode() != 200) errors.put(m.name(), r.body().strip());
                    else {
                        try {
                            replies.put(m.name(), Json.MAPPER.readTree(r.body()));
                        } catch (IOException e) {
                            errors.put(m.name(), "unreadable answer: " + e.getMessage());
                        }
                    }
                }
                return null;
            }));
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).whenComplete((x, err) -> {
            synchronized (replies) {
                if (call.method.equals("GET")) {
                    Map<String, Integer> keys = new TreeMap<>();
                    Map<String, Integer> primary = new TreeMap<>();
                    for (JsonNode r : replies.values()) {
                        for (JsonNode k : r.path("Keys")) keys.merge(k.asText(), 1, Integer::sum);
                        if (r.hasNonNull("Primary")) primary.merge(r.get("Primary").asText(), 1, Integer::sum);
                    }
                    Map<String, Object> out = new LinkedHashMap<>();
                    out.put("WAN", false);
                    out.put("Datacenter", agent.config().datacenter);
                    out.put("Segment", "");
                    out.put("Messages", errors);
                    out.put("Keys", keys);
                    out.put("PrimaryKeys", primary);
                    out.put("NumNodes", replies.size() + errors.size());
                    call.json(errors.isEmpty() ? 200 : 500, List.of(out));
                } else if (errors.isEmpty()) {
                    call.text(200, "");
                } else {
                    StringBuilder sb = new StringBuilder((replies.size()) + "/" + (replies.size() + errors.size()) + " nodes reported success");
                    errors.forEach((n, e) -> sb.append("\n").append(n).append(": ").append(e));
                    call.text(500, sb.toString());
                }
            }
        });
    }

    private void handleLocal(Call call, String key) {
        try {
            call.json(200, applyLocal(call.method, key));
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        } catch (IOException e) {
            call.text(500, e.getMessage());
        }
    }

    /** Applies the operation to this agent's keyring; returns its keys {"Keys": [...], "Primary": ...}. */
    private JsonNode applyLocal(String method, String key) throws IOException {
        switch (method) {
            case "GET" -> { }
            case "POST" -> agent.membership().installKey(key);
            case "PUT" -> agent.membership().useKey(key);
            case "DELETE" -> agent.membership().removeKey(key);
            default -> throw new HttpError(405, "method " + method + " not allowed; use GET, POST, PUT or DELETE");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Keys", agent.membership().keys());
        out.put("Primary", agent.membership().primaryKey());
        return Json.MAPPER.valueToTree(out);
    }

    private static byte[] json(Object o) {
        try {
            return Json.MAPPER.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
