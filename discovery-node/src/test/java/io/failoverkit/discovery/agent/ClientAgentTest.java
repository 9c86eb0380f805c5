package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A client agent holds no Raft state: it forwards reads and writes to a server and runs its own services and checks. */
class ClientAgentTest {
    @Test
    void clientForwardsKvCatalogAndSessionsAndSyncsItsServices() throws Exception {
        try (DevAgent server = DevAgent.start("srv")) {
            AgentConfig cfg = new AgentConfig();
            cfg.nodeName = "cli";
            cfg.dataDir = java.nio.file.Files.createTempDirectory("client-agent").toString();
            cfg.httpPort = FreePorts.next();
            cfg.dnsPort = FreePorts.next();
            cfg.serverPort = FreePorts.next();
            cfg.serfLanPort = FreePorts.next();
            cfg.startJoin.add("127.0.0.1:" + server.agent.membership().self().port());
            cfg.validate();
            Agent client = Agent.start(cfg);
            try {
                Http http = new Http(client.httpPort());
                assertThat(http.get("/v1/agent/self").json().get("Config").get("Server").asBoolean()).isFalse();
                // Membership reaches the server's catalog as a node with a passing serfHealth.
                await().atMost(Duration.ofSeconds(15)).until(() -> server.http.get("/v1/health/node/cli").body().contains("passing"));
                // KV through the client.
                assertThat(http.put("/v1/kv/through/client", "hello").body().strip()).isEqualTo("true");
                assertThat(server.http.get("/v1/kv/through/client?raw").body()).isEqualTo("hello");
                // A blocking query through the client is woken by a write on the server.
                long idx = http.get("/v1/kv/through/client").index();
                var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> http.get("/v1/kv/through/client?index=" + idx + "&wait=20s", Duration.ofSeconds(30)));
                Thread.sleep(300);
                server.http.put("/v1/kv/through/client", "changed");
                Http.Reply woke = waiting.get(15, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(woke.index()).isGreaterThan(idx);
                // A session created through the client belongs to the client's node.
                String id = http.put("/v1/session/create", "{\"TTL\":\"15s\"}").json().get("ID").asText();
                assertThat(server.http.get("/v1/session/info/" + id).json().get(0).get("Node").asText()).isEqualTo("cli");
                // The client's own service lands in the catalog under its node.
                assertThat(http.put("/v1/agent/service/register", "{\"Name\":\"redis\",\"Port\":6380,\"Tags\":[\"replica\"]}").status()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(15)).until(() -> server.http.get("/v1/catalog/service/redis").body().contains("\"Node\":\"cli\""));
                // Leaving: the node is deregistered, and its session with it.
                assertThat(http.put("/v1/agent/leave", (String) null).status()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(15)).until(() -> server.http.get("/v1/catalog/node/cli").body().strip().equals("null"));
                assertThat(server.http.get("/v1/session/info/" + id).json()).isEmpty();
            } finally {
                client.close();
            }
        }
    }
}
