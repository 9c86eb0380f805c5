package io.failoverkit.failover.discovery;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** --discovery's default from CONSUL_HTTP_ADDR, the address forms accepted, and CONSUL_HTTP_TOKEN as X-Consul-Token. */
class DiscoveryAddressTest {
    @Test
    void theDefaultIsConsulHttpAddrWhenSetElseTheLocalAgent() {
        assertThat(DiscoveryAddress.fromEnvironment(Map.of())).isEqualTo("127.0.0.1:8500");
        assertThat(DiscoveryAddress.fromEnvironment(Map.of("CONSUL_HTTP_ADDR", "  "))).isEqualTo("127.0.0.1:8500");
        assertThat(DiscoveryAddress.fromEnvironment(Map.of("CONSUL_HTTP_ADDR", "http://10.0.0.5:8500"))).isEqualTo("http://10.0.0.5:8500");
        assertThat(DiscoveryAddress.tokenFromEnvironment(Map.of())).isNull();
        assertThat(DiscoveryAddress.tokenFromEnvironment(Map.of("CONSUL_HTTP_TOKEN", "abc"))).isEqualTo("abc");
    }

    @Test
    void hostPortAndHttpUrlsAreAcceptedAndAnythingElseIsRefusedWithTheReason() {
        assertThat(DiscoveryAddress.baseUrl("127.0.0.1:8500")).isEqualTo("http://127.0.0.1:8500");
        assertThat(DiscoveryAddress.baseUrl("http://127.0.0.1:8500/")).isEqualTo("http://127.0.0.1:8500");
        assertThat(DiscoveryAddress.baseUrl("https://consul.example:8501")).isEqualTo("https://consul.example:8501");
        assertThatThrownBy(() -> DiscoveryAddress.baseUrl("unix:///var/run/consul.sock")).hasMessageContaining("unsupported discovery address");
        assertThatThrownBy(() -> DiscoveryAddress.baseUrl("http://h:1/v1/kv")).hasMessageContaining("bad discovery address");
    }

    @Test
    void theTokenIsSentAsXConsulTokenOnEveryRequestAndNeverInAnErrorMessage() throws Exception {
        List<String> tokens = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            tokens.add(String.valueOf(ex.getRequestHeaders().getFirst("X-Consul-Token")));
            byte[] body = "permission denied".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(403, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try {
            String addr = "http://127.0.0.1:" + server.getAddress().getPort();
            DiscoveryClient withToken = new DiscoveryClient(addr, "s3cret-token");
            assertThatThrownBy(() -> withToken.get("failover/x/epoch")).hasMessageContaining("HTTP 403").hasMessageNotContaining("s3cret");
            assertThatThrownBy(() -> withToken.put("failover/x/epoch", "1")).hasMessageNotContaining("s3cret");
            new DiscoveryClient(addr, null).get("k").isPresent();
        } catch (java.io.IOException expected) {
            // the tokenless client's GET is refused too
        } finally {
            server.stop(0);
        }
        assertThat(tokens).containsExactly("s3cret-token", "s3cret-token", "null");
    }
}
