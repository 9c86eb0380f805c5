package io.failoverkit.discovery.agent;

import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

class HttpWarmupTest {
    private static final Member SELF = new Member("node-1", "127.0.0.1", 8301, Map.of("role", "node"), Member.Status.ALIVE,
            List.of(1, 5, 2, 2, 5, 5));

    @Test
    void readsTheNodesCatalogEntryAndChecksAsAntiEntropyDoesAndWritesNothing() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        server.createContext("/", ex -> {
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI());
            // a client agent that knows no server yet answers with an error: the warm-up goes on
            byte[] body = ex.getRequestURI().getPath().startsWith("/v1/catalog/")
                    ? "No known Consul servers".getBytes(StandardCharsets.UTF_8) : "[]".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(ex.getRequestURI().getPath().startsWith("/v1/catalog/") ? 500 : 200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            int answered = HttpWarmup.run(http, "http://127.0.0.1:" + server.getAddress().getPort(), SELF.name(), () -> SELF);
            assertThat(answered).isEqualTo(2);
            assertThat(seen).containsExactly("GET /v1/catalog/node/node-1?stale", "GET /v1/health/node/node-1?stale");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void nothingListeningIsNotAnError() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        int port = FreePorts.next();
        assertThat(HttpWarmup.run(http, "http://127.0.0.1:" + port, "n1", () -> null)).isZero();
    }
}
