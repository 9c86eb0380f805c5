package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.testing.Cli;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CLI speaks HTTPS as Consul's: https:// or CONSUL_HTTP_SSL=true, the agent verified against CONSUL_CACERT and
 * CONSUL_TLS_SERVER_NAME, a client certificate from CONSUL_CLIENT_CERT / CONSUL_CLIENT_KEY for verify_incoming.
 */
class CliOverHttpsTest {
    @TempDir Path dir;

    @AfterEach
    void restoreEnvironment() {
        AgentHttp.environment = System.getenv();
    }

    @Test
    void consulHttpSslMakesABareAddressHttps() {
        assertThat(AgentHttp.resolveAddress("127.0.0.1:8501", Map.of("CONSUL_HTTP_SSL", "true"))).isEqualTo(URI.create("https://127.0.0.1:8501"));
        assertThat(AgentHttp.resolveAddress(null, Map.of("CONSUL_HTTP_SSL", "1", "CONSUL_HTTP_ADDR", "h:8501"))).isEqualTo(URI.create("https://h:8501"));
        assertThat(AgentHttp.resolveAddress("http://127.0.0.1:8500", Map.of("CONSUL_HTTP_SSL", "true"))).isEqualTo(URI.create("http://127.0.0.1:8500"));
        assertThat(AgentHttp.resolveAddress("127.0.0.1:8500", Map.of("CONSUL_HTTP_SSL", "false"))).isEqualTo(URI.create("http://127.0.0.1:8500"));
    }

    @Test
    void commandsReachAnAgentThatWantsClientCertificatesOnlyWithTheRightTlsSettings() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair server = certs.cert("-server");
        TestCertificates.Pair cli = certs.cert("-cli");
        Path config = dir.resolve("tls.json");
        Files.writeString(config, """
                {"tls": {"defaults": {"ca_file": "%s", "cert_file": "%s", "key_file": "%s", "verify_incoming": true, "verify_outgoing": true}}}
                """.formatted(certs.ca, server.cert(), server.key()));
        int httpsPort = FreePorts.next();
        try (DevAgent a = DevAgent.start("clitls", cfg -> {
            cfg.configFiles.add(config);
            cfg.httpsPort = httpsPort;
        })) {
            Map<String, String> env = new HashMap<>();
            env.put("CONSUL_HTTP_ADDR", "127.0.0.1:" + httpsPort);
            env.put("CONSUL_HTTP_SSL", "true");
            env.put("CONSUL_CACERT", certs.ca.toString());

            AgentHttp.environment = Map.copyOf(env);
            Cli.Run noClientCert = Cli.run("members");
            assertThat(noClientCert.code()).isEqualTo(1);
            assertThat(noClientCert.err()).startsWith("Error retrieving members: GET https://127.0.0.1:" + httpsPort);

            env.put("CONSUL_CLIENT_CERT", cli.cert().toString());
            env.put("CONSUL_CLIENT_KEY", cli.key().toString());
            AgentHttp.environment = Map.copyOf(env);
            Cli.Run members = Cli.run("members");
            assertThat(members.code()).as(members.err()).isZero(); // 0: members listed (2 would be none)
            assertThat(Cli.run("reload").code()).isZero();

            env.put("CONSUL_TLS_SERVER_NAME", "server.dc1.consul");
            AgentHttp.environment = Map.copyOf(env);
            assertThat(Cli.run("members").code()).isZero();
            env.put("CONSUL_TLS_SERVER_NAME", "server.other.consul");
            AgentHttp.environment = Map.copyOf(env);
            Cli.Run wrongName = Cli.run("members");
            assertThat(wrongName.code()).isEqualTo(1);
            assertThat(wrongName.err()).contains("server.other.consul");
            env.remove("CONSUL_TLS_SERVER_NAME");

            // a CA that did not sign the agent's certificate: refused
            Path other = Files.createDirectories(dir.resolve("other"));
            env.put("CONSUL_CACERT", TestCertificates.create(other).ca.toString());
            AgentHttp.environment = Map.copyOf(env);
            assertThat(Cli.run("members").code()).isEqualTo(1);

            // half a client certificate is a usage error, not a silent downgrade
            env.put("CONSUL_CACERT", certs.ca.toString());
            env.remove("CONSUL_CLIENT_KEY");
            AgentHttp.environment = Map.copyOf(env);
            assertThat(Cli.run("members").code()).isEqualTo(64);
        }
    }
}
