package io.failoverkit.discovery.cli;

import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.testing.Cli.Run;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.failoverkit.discovery.testing.Cli.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The CLI's way to the agent: address and token resolution, Consul's error wording, exit codes. */
class AgentHttpTest {
    @AfterEach
    void restoreEnvironment() {
        AgentHttp.environment = System.getenv();
    }

    @Test
    void theAddressComesFromTheFlagThenTheEnvironmentThenTheDefault() {
        assertThat(AgentHttp.resolveAddress("10.0.0.1:8501", Map.of("CONSUL_HTTP_ADDR", "127.0.0.2:9"))).isEqualTo(URI.create("http://10.0.0.1:8501"));
        assertThat(AgentHttp.resolveAddress("http://127.0.0.1:18500", Map.of())).isEqualTo(URI.create("http://127.0.0.1:18500"));
        assertThat(AgentHttp.resolveAddress("http://127.0.0.1:18500/", Map.of())).isEqualTo(URI.create("http://127.0.0.1:18500"));
        assertThat(AgentHttp.resolveAddress(null, Map.of("CONSUL_HTTP_ADDR", "127.0.0.2:9"))).isEqualTo(URI.create("http://127.0.0.2:9"));
        assertThat(AgentHttp.resolveAddress(null, Map.of("CONSUL_HTTP_ADDR", "https://h:8501"))).isEqualTo(URI.create("https://h:8501"));
        assertThat(AgentHttp.resolveAddress(null, Map.of())).isEqualTo(URI.create("http://127.0.0.1:8500"));
        assertThat(AgentHttp.resolveAddress("", Map.of("CONSUL_HTTP_ADDR", " "))).isEqualTo(URI.create("http://127.0.0.1:8500"));
        assertThatThrownBy(() -> AgentHttp.resolveAddress("unix:///tmp/consul.sock", Map.of())).hasMessageContaining("http://");
        assertThatThrownBy(() -> AgentHttp.resolveAddress("http://h:1/v1", Map.of())).hasMessageContaining("no path");
    }

    @Test
    void theTokenComesFromTheEnvironmentThenATokenFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, "from-file\n");
        assertThat(AgentHttp.resolveToken(f, Map.of("CONSUL_HTTP_TOKEN", "from-env"))).isEqualTo("from-env");
        assertThat(AgentHttp.resolveToken(f, Map.of())).isEqualTo("from-file");
        assertThat(AgentHttp.resolveToken(null, Map.of("CONSUL_HTTP_TOKEN_FILE", f.toString()))).isEqualTo("from-file");
        assertThat(AgentHttp.resolveToken(null, Map.of())).isNull();
        assertThatThrownBy(() -> AgentHttp.resolveToken(dir.resolve("absent"), Map.of())).hasMessageContaining("token file");
    }

    @Test
    void aTokenOnTheCommandLineIsRefusedAndNeverEchoed() {
        Run r = run("reload", "-token", "s3cr3t-t0ken");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("CONSUL_HTTP_TOKEN").doesNotContain("s3cr3t-t0ken");
        assertThat(run("reload", "-http-addr=unix:///x.sock").code()).isEqualTo(64);
    }

    @Test
    void theTokenIsSentAsAHeaderAndAnErrorAnswerIsConsulsMessageAndExitOne() throws Exception {
        List<String> tokens = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            tokens.add(String.valueOf(ex.getRequestHeaders().getFirst("X-Consul-Token")));
            byte[] b = "Permission denied".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(403, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        try {
            AgentHttp.environment = Map.of("CONSUL_HTTP_TOKEN", "tok-123", "CONSUL_HTTP_ADDR", "127.0.0.1:" + server.getAddress().getPort());
            Run r = run("reload");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo("Error reloading: Unexpected response code: 403 (Permission denied)");
            assertThat(r.err()).doesNotContain("tok-123").doesNotContain("Exception");
            assertThat(tokens).containsExactly("tok-123");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void anAgentThatDoesNotAnswerIsAnErrorLineNotAStackTrace() {
        int nobody = FreePorts.next();
        Run r = run("members", "-http-addr=127.0.0.1:" + nobody);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("Error retrieving members: GET http://127.0.0.1:" + nobody + "/v1/agent/members")
                .doesNotContain("\tat ");
    }
}
