package io.failoverkit.discovery.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Passes a call on to another agent's HTTP API (a client agent to a server, a follower to the leader) and relays
 * the answer. Asynchronous, so a forwarded blocking query holds no thread here either.
 */
final class Forwarder {
    static final String FORWARDED_HEADER = "X-Failoverkit-Forwarded";
    /** The header's value on a client agent's hop to a server, which may still pass the call on to the leader. */
    static final String FROM_CLIENT_AGENT = "client";
    /** The address of the client that made the request, set by the first hop (the audit log's forwarded_for). */
    static final String SOURCE_HEADER = "X-Failoverkit-Source";
    private static final List<String> RELAYED_HEADERS = List.of("X-Consul-Index", "X-Consul-KnownLeader", "X-Consul-LastContact",
            "X-Consul-Effective-Consistency", "Content-Type", "X-Content-Type-Options", "Content-Security-Policy", Permissions.FILTERED_HEADER);
    /** The headers a request's token may travel in: passed on as they came, so the next hop resolves the same token. */
    private static final List<String> TOKEN_HEADERS = List.of("X-Consul-Token", "Authorization");
    /** This agent's {@code acl.tokens.default} (null when unset): sent for a request that carries no token, as Consul's agents do. */
    private final java.util.function.Supplier<String> defaultToken;
    private final HttpClient http;

    /** {@code client}: the agent's (with its TLS, so an agent that serves only HTTPS is reached over HTTPS). */
    Forwarder(java.util.function.Supplier<String> defaultToken, HttpClient.Builder client) {
        this.defaultToken = defaultToken;
        // One client for every forwarded call: HTTP/1.1 kept alive, its connections pooled per target (AgentTls).
        this.http = client.connectTimeout(Duration.ofSeconds(2))
                .executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** A target is a base URL (http://host:port, https://host:port) or, as before, a bare host:port meaning http. */
    static String baseUrl(String target) {
        return target.contains("://") ? target : "http://" + target;
    }

    void forward(Call call, Optional<String> target, String pathWithPrefix, byte[] body) {
        forward(call, target, pathWithPrefix, body, "1");
    }

    /** As {@link #forward(Call, Optional, String, byte[])}, marking the hop as {@code hop} (see {@link #FROM_CLIENT_AGENT}). */
    void forward(Call call, Optional<String> target, String pathWithPrefix, byte[] body, String hop) {
        if (target.isEmpty()) {
            call.text(500, "No known Consul servers (this agent has not joined a cluster with a server yet)");
            return;
        }
        String query = call.rawQuery();
        URI uri = URI.create(baseUrl(target.get()) + pathWithPrefix + (query == null || query.isEmpty() ? "" : "?" + query));
        HttpRequest.Builder req = HttpRequest.newBuilder(uri)
                .timeout(ServerSide.MAX_WAIT.plusMinutes(1))
                .method(call.method, body == null || body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        req.header(FORWARDED_HEADER, hop);
        boolean carriesToken = call.param("token") != null && !call.param("token").isBlank();
        for (String h : TOKEN_HEADERS) {
            String v = call.header(h);
            if (v != null && !v.isBlank()) {
                req.header(h, v);
                carriesToken = true;
            }
        }
        String dflt = defaultToken.get();
        if (!carriesToken && dflt != null && !call.forwarded()) req.header("X-Consul-Token", dflt);
        String source = call.forwarded() ? call.header(SOURCE_HEADER) : call.remoteAddress();
        if (source != null) req.header(SOURCE_HEADER, source);
        String ct = call.header("Content-Type");
        if (ct != null) req.header("Content-Type", ct);
        http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofByteArray()).whenComplete((resp, err) -> {
            if (err != null) {
                call.text(500, "forwarding to " + target.get() + " failed: " + ServerSide.rootMessage(err));
                return;
            }
            for (String h : RELAYED_HEADERS) resp.headers().firstValue(h).ifPresent(v -> call.header(h, v));
            call.send(resp.statusCode(), resp.body(), resp.headers().firstValue("Content-Type").orElse(null));
        });
    }
}
