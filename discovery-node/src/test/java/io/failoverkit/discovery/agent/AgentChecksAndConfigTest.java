package io.failoverkit.discovery.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Services and checks defined in -config-dir files, run by the agent and kept in the catalog by anti-entropy. */
class AgentChecksAndConfigTest {
    @TempDir Path dir;

    private Agent startWithConfigDir(String node, Path configDir) throws Exception {
        return DevAgent.start(node, cfg -> {
            cfg.configDirs.add(configDir);
            cfg.enableLocalScriptChecks = true; // the files define script checks (ScriptChecksTest: off by default)
        }).agent;
    }

    private static Map<String, String> statusByCheck(Http http, String node) {
        Map<String, String> out = new HashMap<>();
        for (JsonNode c : http.get("/v1/health/node/" + node).json()) out.put(c.get("CheckID").asText(), c.get("Status").asText());
        return out;
    }

    @Test
    void scriptHttpTcpAndTtlChecksFromTheConfigDirReachTheCatalogAndAHangingScriptIsKilled() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path flag = dir.resolve("healthy");
        Files.writeString(flag, "");
        try (ServerSocket listening = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            int tcpPort = listening.getLocalPort();
            // Accepts (and closes) the TCP check's connections: a socket never accepting fills its queue of 5 after the
            // first few checks, and on a slow box the check was critical before the test first looked (load alone).
            Thread.ofVirtual().start(() -> {
                while (!listening.isClosed()) {
                    try (java.net.Socket s = listening.accept()) {
                        // connected: that is all a TCP check asks
                    } catch (java.io.IOException e) {
                        // closed at the end of the test
                    }
                }
            });
            Files.writeString(conf.resolve("10-web.json"), """
                    {"service": {"name": "web", "tags": ["master", "v1"], "port": 8080,
                      "check": {"id": "web-script", "args": ["/bin/sh", "-c", "test -f %s && echo up || { echo down; exit 2; }"], "interval": "200ms", "timeout": "2s"}}}
                    """.formatted(flag));
            Files.writeString(conf.resolve("20-checks.json"), """
                    {"checks": [
                      {"id": "warn-script", "name": "exit one", "args": ["/bin/sh", "-c", "echo almost; exit 1"], "interval": "200ms"},
                      {"id": "hang", "name": "hangs", "args": ["/bin/sh", "-c", "sleep 30"], "interval": "1s", "timeout": "300ms"},
                      {"id": "tcp-open", "name": "tcp", "tcp": "127.0.0.1:%d", "interval": "200ms", "timeout": "1s"},
                      {"id": "ttl-beat", "name": "heartbeat", "ttl": "10s"}
                    ]}
                    """.formatted(tcpPort));
            Agent agent = startWithConfigDir("cfg-node", conf);
            try {
                Http http = new Http(agent.httpPort());
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
                    Map<String, String> s = statusByCheck(http, "cfg-node");
                    assertThat(s).containsEntry("web-script", "passing").containsEntry("warn-script", "warning")
                            .containsEntry("hang", "critical").containsEntry("tcp-open", "passing").containsEntry("ttl-beat", "critical")
                            .containsEntry("serfHealth", "passing");
                });
                JsonNode hang = http.get("/v1/agent/checks").json().get("hang");
                assertThat(hang.get("Output").asText()).contains("Timed out").contains("killed");

                // The service is in the catalog with its tags; the TTL check turns passing through the API.
                JsonNode svc = http.get("/v1/catalog/service/web?tag=master").json();
                assertThat(svc).hasSize(1);
                assertThat(svc.get(0).get("ServicePort").asInt()).isEqualTo(8080);
                assertThat(http.put("/v1/agent/check/pass/ttl-beat?note=alive", (String) null).status()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(statusByCheck(http, "cfg-node")).containsEntry("ttl-beat", "passing"));

                // The script check follows the world: remove the flag and it goes critical, and the instance leaves ?passing.
                Files.delete(flag);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(statusByCheck(http, "cfg-node")).containsEntry("web-script", "critical"));
                assertThat(http.get("/v1/health/service/web?passing").json()).isEmpty();

                // Reload: the check set changes to what the files now say; API-registered services stay.
                assertThat(http.put("/v1/agent/service/register", "{\"Name\":\"api-made\",\"Port\":1}").status()).isEqualTo(200);
                Files.delete(conf.resolve("20-checks.json"));
                agent.reload();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    Map<String, String> s = statusByCheck(http, "cfg-node");
                    assertThat(s).containsKey("web-script").doesNotContainKeys("warn-script", "hang", "tcp-open", "ttl-beat");
                });
                assertThat(http.get("/v1/catalog/services").json().has("api-made")).isTrue();

                // A broken file fails the reload and keeps what ran before.
                Files.writeString(conf.resolve("30-broken.json"), "{\"service\": {\"name\": \"x\", \"port\": \"eighty\"}}");
                assertThat(http.put("/v1/agent/reload", (String) null).status()).isEqualTo(400);
                assertThat(agent.local().services()).containsKeys("web", "api-made");
            } finally {
                agent.close();
            }
        }
    }

    @Test
    void antiEntropyRepairsTheCatalogWhenItLosesTheAgentsServices() throws Exception {
        try (DevAgent a = DevAgent.start("ae-node")) {
            assertThat(a.http.put("/v1/agent/service/register", "{\"Name\":\"cache\",\"Port\":6379,\"Tags\":[\"master\"]}").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/catalog/service/cache").json().size() == 1);
            // Someone deregisters it behind the agent's back (as a server that lost state would): the agent puts it back.
            assertThat(a.http.put("/v1/catalog/deregister", "{\"Node\":\"ae-node\",\"ServiceID\":\"cache\"}").status()).isEqualTo(200);
            assertThat(a.http.get("/v1/catalog/service/cache").json()).isEmpty();
            await().atMost(Duration.ofSeconds(45)).until(() -> a.http.get("/v1/catalog/service/cache").json().size() == 1);
            // Maintenance mode is a critical check: the instance leaves ?passing, and comes back when it ends.
            assertThat(a.http.put("/v1/agent/service/maintenance/cache?enable=true&reason=upgrade", (String) null).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/health/service/cache?passing").json().isEmpty());
            assertThat(a.http.put("/v1/agent/service/maintenance/cache?enable=false", (String) null).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/health/service/cache?passing").json().size() == 1);
        }
    }

    @Test
    void badDefinitionsAreRefusedWithAMessage() throws IOException {
        Path conf = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(conf.resolve("a.json"), "{\"check\": {\"id\": \"x\", \"args\": [\"true\"]}}");
        AgentConfig cfg = new AgentConfig();
        cfg.enableLocalScriptChecks = true;
        cfg.configDirs.add(conf);
        assertThatThrownBy(cfg::reloadDefinitions).hasMessageContaining("a.json").hasMessageContaining("Interval");
        Files.writeString(conf.resolve("a.json"), "{not json");
        assertThatThrownBy(cfg::reloadDefinitions).hasMessageContaining("not valid JSON");
    }
}
