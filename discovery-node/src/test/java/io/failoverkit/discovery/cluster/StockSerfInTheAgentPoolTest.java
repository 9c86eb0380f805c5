package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stock serf agent (Debian's) in an encrypted agent pool, as the agent sees it: listed alive as a member of
 * unknown type, kept out of the catalog (Consul registers only its own agents), and a plain `serf event deploy x`
 * runs the agent's user:deploy handler with the event's name and payload.
 */
class StockSerfInTheAgentPoolTest {
    @TempDir Path dir;

    @Test
    void aStockSerfAgentJoinsTheEncryptedPoolAndItsEventsRunOurHandlers() throws Exception {
        String key = GossipKeys.generate();
        Path handled = dir.resolve("handled");
        try (DevAgent agent = DevAgent.start("fk-1", cfg -> {
            cfg.encrypt = key;
            cfg.eventHandlers.add("user:deploy=cat >> " + handled + "; echo \" $SERF_USER_EVENT\" >> " + handled);
        })) {
            int serfPort = FreePorts.next();
            int rpcPort = FreePorts.next();
            Process serf = new ProcessBuilder("serf", "agent", "-node=stock-1", "-bind=127.0.0.1:" + serfPort, "-rpc-addr=127.0.0.1:" + rpcPort,
                    "-encrypt=" + key, "-join=127.0.0.1:" + agent.agent.config().serfLanPort, "-log-level=debug")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("serf.log").toFile()).start();
            try {
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    JsonNode stock = null;
                    for (JsonNode m : agent.http.get("/v1/agent/members").json()) if (m.get("Name").asText().equals("stock-1")) stock = m;
                    assertThat(stock).as("stock-1 in the agent's members").isNotNull();
                    assertThat(stock.get("Status").asInt()).isEqualTo(1);
                    assertThat(stock.get("Port").asInt()).isEqualTo(serfPort);
                    assertThat(stock.get("Tags").has("role")).isFalse();
                });
                String members = run("serf", "members", "-rpc-addr=127.0.0.1:" + rpcPort);
                assertThat(members).contains("fk-1").contains("alive").contains("role=consul");

                assertThat(run("serf", "event", "-rpc-addr=127.0.0.1:" + rpcPort, "deploy", "build-7")).contains("Event 'deploy' dispatched");
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                        assertThat(Files.exists(handled) ? Files.readString(handled) : "").contains("build-7\n deploy"));
                JsonNode listed = agent.http.get("/v1/event/list?name=deploy").json();
                assertThat(listed).hasSize(1);
                assertThat(new String(java.util.Base64.getDecoder().decode(listed.get(0).get("Payload").asText()), StandardCharsets.UTF_8)).isEqualTo("build-7");

                // The leader reconciles its own agents only: no catalog node for the stock agent.
                Thread.sleep(3000);
                assertThat(agent.http.get("/v1/catalog/node/stock-1").body().strip()).isEqualTo("null");
                assertThat(agent.http.get("/v1/agent/self").json().path("Stats").path("serf_lan").path("encrypted").asText()).isEqualTo("true");
            } finally {
                serf.destroyForcibly();
                serf.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("did not finish: " + List.of(cmd));
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
