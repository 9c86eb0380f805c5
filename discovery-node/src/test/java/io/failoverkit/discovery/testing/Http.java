package io.failoverkit.discovery.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A plain HTTP client for tests: what curl would send, and the answer as it came. */
public final class Http {
    public record Reply(int status, String body, java.net.http.HttpHeaders headers) {
        public JsonNode json() {
            try { return Json.MAPPER.readTree(body); } catch (IOException e) { throw new UncheckedIOException("not JSON: " + body, e); }
        }
        public long index() { return Long.parseLong(headers.firstValue("X-Consul-Index").orElse("0")); }
    }

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String base;
    /** Headers sent with every request (a token), name and value pairs. */
    private final String[] headers;

    public Http(String hostPort) {
        this("http://" + hostPort, new String[0]);
    }

    private Http(String base, String[] headers) {
        this.base = base;
        this.headers = headers;
    }

    /** The same agent, every request carrying {@code token} in X-Consul-Token. */
    public Http as(String token) {
        return with("X-Consul-Token", token);
    }

    /** The same agent, every request carrying the header {@code name: value}. */
    public Http with(String name, String value) {
        String[] h = java.util.Arrays.copyOf(headers, headers.length + 2);
        h[headers.length] = name;
        h[headers.length + 1] = value;
        return new Http(base, h);
    }

    public Http(int port) {
        this("127.0.0.1:" + port);
    }

    public Reply get(String path) { return send("GET", path, null, Duration.ofSeconds(15)); }

    /** A counter's total (its Sum) in /v1/agent/metrics; 0 when it was never counted. */
    public double counter(String name) {
        for (JsonNode c : get("/v1/agent/metrics").json().path("Counters")) {
            if (c.path("Name").asText().equals(name)) return c.path("Sum").asDouble();
        }
        return 0;
    }

    public Reply get(String path, Duration timeout) { return send("GET", path, null, timeout); }

    public Reply put(String path, String body) { return send("PUT", path, body == null ? null : body.getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(15)); }

    public Reply put(String path, byte[] body) { return send("PUT", path, body, Duration.ofSeconds(15)); }

    public Reply delete(String path) { return send("DELETE", path, null, Duration.ofSeconds(15)); }

    public Reply send(String method, String path, byte[] body, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) b.headers(headers);
        HttpRequest req = b.build();
        try {
            HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + base + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
