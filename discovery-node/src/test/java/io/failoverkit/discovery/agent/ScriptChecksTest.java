package io.failoverkit.discovery.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.config.ScriptChecks;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Script checks are off by default (issue 12): a check with Args over the HTTP API would otherwise run any command on
 * the agent's host. enable_script_checks allows them from anywhere, enable_local_script_checks from config files only.
 */
class ScriptChecksTest {
    @TempDir Path dir;

    /** A script that leaves a file behind when it runs: the proof that the agent executed it. */
    private String touching(Path marker) {
        return "[\"/bin/sh\", \"-c\", \"touch " + marker + "; echo ran\"]";
    }

    @Test
    void byDefaultTheApiRefusesEveryFormOfScriptCheckAndRegistersNothing() throws Exception {
        Path marker = dir.resolve("ran");
        try (DevAgent a = DevAgent.start("noscript-node")) {
            Http http = a.http;
            Http.Reply check = http.put("/v1/agent/check/register",
                    "{\"Name\": \"evil\", \"Args\": " + touching(marker) + ", \"Interval\": \"100ms\"}");
            assertThat(check.status()).isEqualTo(500);
            assertThat(check.body().strip()).isEqualTo(ScriptChecks.REMOTE_DISABLED);
            // Consul's older spellings are script checks too.
            Http.Reply scriptArgs = http.put("/v1/agent/check/register",
                    "{\"Name\": \"evil2\", \"ScriptArgs\": " + touching(marker) + ", \"Interval\": \"100ms\"}");
            assertThat(scriptArgs.status()).isEqualTo(500);
            Http.Reply script = http.put("/v1/agent/check/register",
                    "{\"Name\": \"evil3\", \"Script\": \"touch " + marker + "\", \"Interval\": \"100ms\"}");
            assertThat(script.status()).isEqualTo(500);
            assertThat(script.body().strip()).isEqualTo(ScriptChecks.REMOTE_DISABLED);

            // A service carrying one (Check or Checks) is refused whole: neither it nor its other checks are added.
            Http.Reply svc = http.put("/v1/agent/service/register", """
                    {"Name": "svc-one", "Port": 1, "Check": {"Args": %s, "Interval": "100ms"}}""".formatted(touching(marker)));
            assertThat(svc.status()).isEqualTo(500);
            assertThat(svc.body().strip()).isEqualTo(ScriptChecks.REMOTE_DISABLED);
            Http.Reply svcs = http.put("/v1/agent/service/register", """
                    {"Name": "svc-many", "Port": 1, "Checks": [{"TTL": "30s"}, {"ScriptArgs": %s, "Interval": "100ms"}]}"""
                    .formatted(touching(marker)));
            assertThat(svcs.status()).isEqualTo(500);

            assertThat(http.get("/v1/agent/checks").json().fieldNames()).toIterable()
                    .doesNotContain("evil", "evil2", "evil3", "service:svc-one", "service:svc-many", "service:svc-many:2");
            assertThat(http.get("/v1/agent/services").json().has("svc-one")).isFalse();
            assertThat(http.get("/v1/agent/services").json().has("svc-many")).isFalse();
            assertThat(a.agent.local().services()).doesNotContainKeys("svc-one", "svc-many");

            // A later, allowed registration goes through the same sync: once it is in the catalog, the refused ones
            // would have been too had they been added.
            assertThat(http.put("/v1/agent/service/register", "{\"Name\": \"fine\", \"Port\": 2, \"Check\": {\"TTL\": \"30s\"}}").status())
                    .isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/catalog/service/fine").json().size() == 1);
            JsonNode services = http.get("/v1/catalog/services").json();
            assertThat(services.has("svc-one")).isFalse();
            assertThat(services.has("svc-many")).isFalse();
            assertThat(marker).doesNotExist();
        }
    }

    @Test
    void withEnableScriptChecksTheApiRegistersAScriptCheckAndTheAgentRunsIt() throws Exception {
        Path marker = dir.resolve("ran");
        try (DevAgent a = DevAgent.start("script-node", cfg -> cfg.enableScriptChecks = true)) {
            Http.Reply r = a.http.put("/v1/agent/service/register", """
                    {"Name": "svc", "Port": 1, "Check": {"Args": %s, "Interval": "200ms"}}""".formatted(touching(marker)));
            assertThat(r.status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                JsonNode c = a.http.get("/v1/agent/checks").json().get("service:svc");
                assertThat(c).isNotNull();
                assertThat(c.get("Status").asText()).isEqualTo("passing");
            });
            assertThat(marker).exists();
        }
    }

    @Test
    void enableLocalScriptChecksRunsConfigFileScriptsButTheApiStillRefuses() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path marker = dir.resolve("ran-from-file");
        Files.writeString(conf.resolve("agent.json"), """
                {"enable_local_script_checks": true,
                 "service": {"name": "local-svc", "port": 3, "check": {"id": "local-script", "args": %s, "interval": "200ms"}}}
                """.formatted(touching(marker)));
        try (DevAgent a = DevAgent.start("local-script-node", cfg -> cfg.configDirs.add(conf))) {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                JsonNode c = a.http.get("/v1/agent/checks").json().get("local-script");
                assertThat(c).isNotNull();
                assertThat(c.get("Status").asText()).isEqualTo("passing");
            });
            assertThat(marker).exists();

            Http.Reply r = a.http.put("/v1/agent/check/register",
                    "{\"Name\": \"remote\", \"Args\": [\"/bin/true\"], \"Interval\": \"1s\"}");
            assertThat(r.status()).isEqualTo(500);
            assertThat(r.body().strip()).isEqualTo(ScriptChecks.REMOTE_DISABLED);
            assertThat(a.http.get("/v1/agent/checks").json().has("remote")).isFalse();
        }
    }

    @Test
    void aConfigFileScriptCheckWithNeitherSettingStopsTheStartAndAReloadKeepsWhatRan() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("10-script.json"),
                "{\"check\": {\"id\": \"s\", \"args\": [\"/bin/true\"], \"interval\": \"1s\"}}");
        AgentConfig cfg = new AgentConfig();
        cfg.configDirs.add(conf);
        cfg.applyFiles(Set.of());
        assertThatThrownBy(cfg::reloadDefinitions).hasMessageContaining("10-script.json").hasMessageContaining(ScriptChecks.LOCAL_DISABLED);

        // An agent running without script checks: a file that adds one fails the reload, and nothing changes.
        Files.delete(conf.resolve("10-script.json"));
        Files.writeString(conf.resolve("05-ttl.json"), "{\"check\": {\"id\": \"beat\", \"ttl\": \"30s\"}}");
        try (DevAgent a = DevAgent.start("reload-node", c -> c.configDirs.add(conf))) {
            assertThat(a.agent.local().check("beat")).isNotNull();
            Files.writeString(conf.resolve("10-script.json"),
                    "{\"check\": {\"id\": \"s\", \"args\": [\"/bin/true\"], \"interval\": \"1s\"}}");
            Http.Reply r = a.http.put("/v1/agent/reload", (String) null);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).contains(ScriptChecks.LOCAL_DISABLED);
            assertThat(a.agent.local().check("s")).isNull();
            assertThat(a.agent.local().check("beat")).isNotNull();
        }
    }

    @Test
    void enableScriptChecksAlsoCoversConfigFilesAndTheSettingsMustBeBooleans() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("a.json"), """
                {"enable_script_checks": true, "check": {"id": "s", "args": ["/bin/true"], "interval": "1s"}}""");
        AgentConfig cfg = new AgentConfig();
        cfg.configDirs.add(conf);
        cfg.applyFiles(Set.of());
        cfg.reloadDefinitions();
        assertThat(cfg.enableScriptChecks).isTrue();
        assertThat(cfg.checks).hasSize(1);

        Files.writeString(conf.resolve("a.json"), "{\"enable_local_script_checks\": \"yes\"}");
        AgentConfig bad = new AgentConfig();
        bad.configDirs.add(conf);
        assertThatThrownBy(() -> bad.applyFiles(Set.of())).hasMessageContaining("enable_local_script_checks");
    }
}
