package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.Main;
import io.failoverkit.discovery.testing.AgentProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** An operator adds a service file and sends SIGHUP, or runs `discovery-node reload`: the agent re-reads its config dir. */
class ReloadSignalTest {
    @TempDir Path dir;

    @Test
    void sighupAndTheReloadCommandPickUpNewDefinitions() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("a.json"), "{\"service\": {\"name\": \"first\", \"port\": 1}}");
        AgentProcess agent = new AgentProcess("reload-node", dir.resolve("data"), List.of("-dev", "-config-dir=" + conf));
        try {
            agent.start(List.of());
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> agent.http().get("/v1/catalog/services").json().has("first"));

            Files.writeString(conf.resolve("b.json"), "{\"service\": {\"name\": \"second\", \"port\": 2}}");
            Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(agent.pid())).start();
            assertThat(hup.waitFor()).isZero();
            await().atMost(Duration.ofSeconds(15)).until(() -> agent.http().get("/v1/catalog/services").json().has("second"));

            Files.delete(conf.resolve("a.json"));
            int code = Main.commandLine().execute("reload", "-http-addr=127.0.0.1:" + agent.httpPort);
            assertThat(code).isZero();
            await().atMost(Duration.ofSeconds(15)).until(() -> !agent.http().get("/v1/catalog/services").json().has("first"));
            assertThat(agent.isRunning()).isTrue();
        } finally {
            agent.close();
        }
    }
}
