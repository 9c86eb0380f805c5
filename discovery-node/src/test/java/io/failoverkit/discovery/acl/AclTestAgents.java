package io.failoverkit.discovery.acl;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.testing.FreePorts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;

/**
 * ACL-enabled agents for tests: a dev server in this JVM started from a JSON config file with an {@code acl} block,
 * ready once it leads (the readiness check needs no ACL: under default deny the catalog reads DevAgent waits on may be
 * refused), and an HTTP client that sends a token.
 */
public final class AclTestAgents {
    private AclTestAgents() {}

    public static Path configFile(Path dir, String aclJson) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve("acl-" + System.nanoTime() + ".json");
        Files.writeString(f, "{\"acl\": " + aclJson + "}");
        return f;
    }

    public static Agent devServer(String name, Path configFile) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(configFile);
        cfg.applyFiles(java.util.Set.of());
        cfg.reloadDefinitions();
        cfg.dev = true;
        cfg.nodeName = name;
        cfg.httpPort = FreePorts.next();
        cfg.dnsPort = FreePorts.next();
        cfg.serverPort = FreePorts.next();
        cfg.serfLanPort = FreePorts.next();
        cfg.validate();
        Agent a = Agent.start(cfg);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> a.raftNode().map(r -> r.isLeader()).orElse(false));
        return a;
    }

    public record Reply(int status, String body) {
        public JsonNode json() {
            try { return Json.MAPPER.readTree(body); } catch (IOException e) { throw new UncheckedIOException("not JSON: " + body, e); }
        }
    }

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** One request to 127.0.0.1:port with the token in X-Consul-Token (none when null). */
    public static Reply call(int port, String method, String path, String token, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (token != null) b.header("X-Consul-Token", token);
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
