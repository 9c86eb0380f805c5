package io.failoverkit.discovery.dns;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** A client agent's view for DNS: asks a server over HTTP with ?stale, as Consul's client agents ask a server. */
final class RemoteDnsView implements DnsView {
    private final Supplier<Optional<String>> server;
    /** The agent's default token (null: none): the server filters the answer with the same view DNS answers with. */
    private final Supplier<String> token;
    private final HttpClient http;

    RemoteDnsView(Supplier<Optional<String>> server, Supplier<String> token) {
        this(server, token, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build());
    }

    /** {@code server}: a server's HTTP API base URL (http:// or https://; a bare host:port means http); {@code http}: the agent's client (its TLS). */
    RemoteDnsView(Supplier<Optional<String>> server, Supplier<String> token, HttpClient http) {
        this.server = server;
        this.token = token;
        this.http = http;
    }

    private JsonNode get(String path) {
        String s = server.get().orElseThrow(() -> new IllegalStateException("no server known"));
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create((s.contains("://") ? s : "http://" + s) + path)).timeout(Duration.ofSeconds(2));
            String t = token.get();
            if (t != null && !t.isEmpty()) b.header("X-Consul-Token", t);
            HttpResponse<byte[]> r = http.send(b.build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) throw new IllegalStateException("server answered HTTP " + r.statusCode());
            return Json.MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public Model.Node node(String name) {
        JsonNode n = get("/v1/catalog/node/" + enc(name) + "?stale");
        if (n == null || n.isNull()) return null;
        try {
            return Json.MAPPER.treeToValue(n.get("Node"), Model.Node.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<StateStore.Instance> instances(String service, String tag) {
        JsonNode list = get("/v1/health/service/" + enc(service) + "?stale" + (tag == null ? "" : "&tag=" + enc(tag)));
        List<StateStore.Instance> out = new ArrayList<>();
        try {
            for (JsonNode e : list) {
                List<Model.Check> checks = new ArrayList<>();
                for (JsonNode c : e.get("Checks")) checks.add(Json.MAPPER.treeToValue(c, Model.Check.class));
                out.add(new StateStore.Instance(Json.MAPPER.treeToValue(e.get("Node"), Model.Node.class),
                        Json.MAPPER.treeToValue(e.get("Service"), Model.Service.class), checks));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    @Override
    public boolean ready() {
        return server.get().isPresent();
    }
}
