package io.failoverkit.failover.discovery;

import io.failoverkit.failover.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Consul's TLS variables as failover reads them, without a server: CONSUL_HTTP_SSL makes a bare host:port https, and
 * a client certificate without its key is a usage error (exit 64) before anything is done. The same against a real
 * discovery node serving HTTPS only: the drills' FailoverOverHttpsTest.
 */
class DiscoveryTlsTest {
    @TempDir Path dir;

    @AfterEach
    void restoreEnvironment() {
        TokenOption.environment = System.getenv();
    }

    @Test
    void consulHttpSslMakesABareHostPortHttpsAndLeavesAnExplicitSchemeAlone() {
        DiscoveryTls ssl = DiscoveryTls.of(Map.of("CONSUL_HTTP_SSL", "true"));
        assertThat(ssl.baseUrl("127.0.0.1:8501")).isEqualTo("https://127.0.0.1:8501");
        assertThat(ssl.baseUrl("http://127.0.0.1:8500")).isEqualTo("http://127.0.0.1:8500");
        assertThat(DiscoveryTls.of(Map.of("CONSUL_HTTP_SSL", "1")).baseUrl("h:8501")).isEqualTo("https://h:8501");
        assertThat(DiscoveryTls.of(Map.of("CONSUL_HTTP_SSL", "false")).baseUrl("h:8500")).isEqualTo("http://h:8500");
        assertThat(DiscoveryTls.none().baseUrl("h:8500")).isEqualTo("http://h:8500");
        assertThat(new DiscoveryClient("127.0.0.1:8501", null, ssl).baseUrl()).isEqualTo("https://127.0.0.1:8501");
    }

    @Test
    void aClientCertificateWithoutItsKeyIsRefusedForAnHttpsAddress() throws Exception {
        Path cert = Files.writeString(dir.resolve("cli.pem"), "not read: the pairing is checked first\n");
        DiscoveryTls half = DiscoveryTls.of(Map.of("CONSUL_CLIENT_CERT", cert.toString()));
        assertThatThrownBy(() -> new DiscoveryClient("https://127.0.0.1:8501", null, half))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("TLS settings: CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together (one is set, the other is not)");
        // a CA file that is no certificate: named, refused before any request
        Path notACa = Files.writeString(dir.resolve("ca.pem"), "garbage\n");
        assertThatThrownBy(() -> DiscoveryTls.of(Map.of("CONSUL_CACERT", notACa.toString())).check("https://127.0.0.1:8501"))
                .hasMessageStartingWith("TLS settings: ").hasMessageContaining(notACa.toString());
        // plain http reads no TLS file (as discovery-node's commands)
        DiscoveryTls.of(Map.of("CONSUL_CACERT", notACa.toString())).check("http://127.0.0.1:8500");
    }

    @Test
    void httpsToAPlainHttpPortSaysTheNodeDoesNotSpeakTls() throws Exception {
        // A plain HTTP server as Consul's and Jetty's answer a TLS hello: 400 in plain text, connection closed.
        try (java.net.ServerSocket plain = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = Thread.ofVirtual().start(() -> {
                while (!plain.isClosed()) {
                    try (java.net.Socket s = plain.accept()) {
                        s.getInputStream().read(new byte[512]);
                        s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    } catch (java.io.IOException e) {
                        // closed at the end of the test
                    }
                }
            });
            int port = plain.getLocalPort();
            DiscoveryClient c = new DiscoveryClient("127.0.0.1:" + port, null, DiscoveryTls.of(Map.of("CONSUL_HTTP_SSL", "true")));
            assertThatThrownBy(() -> c.get("failover/x/epoch")).hasMessageContaining("https://127.0.0.1:" + port)
                    .hasMessageContaining("does not speak TLS").hasMessageContaining("CONSUL_HTTP_SSL");
            plain.close();
            t.join(5_000);
        }
    }

    @Test
    void theCliRefusesHalfAClientCertificateWithExit64BeforeAnyRequest() throws Exception {
        Path cert = Files.writeString(dir.resolve("cli.pem"), "x\n");
        Path def = Files.writeString(dir.resolve("c.yaml"), "name: tls-usage\nkind: redis\nmembers: [127.0.0.1:1, 127.0.0.1:2]\n");
        TokenOption.environment = Map.of("CONSUL_CLIENT_CERT", cert.toString(), "CONSUL_HTTP_SSL", "true");
        for (String[] args : new String[][]{
                {"define", "--file", def.toString(), "--discovery", "127.0.0.1:1"},
                {"status", "--cluster", "kv:tls-usage", "--discovery", "127.0.0.1:1"},
                {"guard", "--cluster", def.toString(), "--instance", "127.0.0.1:1", "--discovery", "127.0.0.1:1,https://127.0.0.1:2", "--once"}}) {
            StringWriter err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            cl.setOut(new PrintWriter(new StringWriter(), true));
            // port 1 answers nothing: a request would have been exit 1 (connection refused), not a usage error
            assertThat(cl.execute(args)).as("failover %s: %s", String.join(" ", args), err).isEqualTo(Main.EX_USAGE);
            assertThat(err.toString()).contains("TLS settings: CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together").contains("Usage: failover");
        }
    }
}
