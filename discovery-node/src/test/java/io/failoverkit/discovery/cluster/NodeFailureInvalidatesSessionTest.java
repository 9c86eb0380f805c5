package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A manager's node dies (SIGKILL): its serfHealth goes critical and its session, with the lock it held, is released. */
class NodeFailureInvalidatesSessionTest {
    @TempDir Path dir;

    @Test
    void aKilledClientNodeLosesItsSessionAndItsLock() throws Exception {
        try (DevAgent server = DevAgent.start("srv")) {
            AgentProcess client = new AgentProcess("manager-host", dir.resolve("client"), List.of());
            try {
                client.start(List.of("-join=127.0.0.1:" + server.agent.membership().self().port()));
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> server.http.get("/v1/health/node/manager-host").body().contains("passing")
                        && client.http().get("/v1/agent/self").status() == 200);
                // No TTL: only the node's health keeps this session alive.
                String id = client.http().put("/v1/session/create", "{\"Name\":\"failover-manager\",\"LockDelay\":\"0s\"}").json().get("ID").asText();
                assertThat(client.http().put("/v1/kv/failover/db/leader?acquire=" + id, "manager-host").body().strip()).isEqualTo("true");

                long killed = System.nanoTime();
                client.kill();
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                        .until(() -> server.http.get("/v1/kv/failover/db/leader").json().get(0).path("Session").isMissingNode());
                System.out.printf("node SIGKILL -> lock released in %d ms%n", (System.nanoTime() - killed) / 1_000_000);
                assertThat(server.http.get("/v1/health/node/manager-host").body()).contains("critical");
                assertThat(server.http.get("/v1/session/info/" + id).json()).isEmpty();
            } finally {
                client.close();
            }
        }
    }
}
