package io.failoverkit.discovery.compat;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.agent.model.NewService;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Registration as Consul's docs and the Go client's api.AgentServiceRegistration / api.CatalogRegistration define it:
 * the fields that used to be dropped (Weights, TaggedAddresses, Kind, EnableTagOverride), Consul's metadata limits,
 * ?replace-existing-checks, the default check IDs, DeregisterCriticalServiceAfter, and the check kinds and options
 * (HTTP Method/Header/Body, UDP, gRPC health, alias). Check options go through the Ecwid client where it has them.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RegistrationFidelityTest {
    private static final String NODE = "reg-node";
    private static DevAgent agent;
    private static Http http;
    private static ConsulClient consul;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("failoverkit.check.reap-min-ms", "0"); // Consul's 1-minute floor would make the reap test slow
        agent = DevAgent.start(NODE);
        http = agent.http;
        consul = new ConsulClient("127.0.0.1", agent.httpPort);
    }

    @AfterAll
    static void stop() {
        System.clearProperty("failoverkit.check.reap-min-ms");
        if (agent != null) agent.close();
    }

    private static JsonNode catalogInstance(String service, String id) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (JsonNode n : http.get("/v1/catalog/service/" + service).json()) if (n.path("ServiceID").asText().equals(id)) return true;
            return false;
        });
        for (JsonNode n : http.get("/v1/catalog/service/" + service).json()) if (n.path("ServiceID").asText().equals(id)) return n;
        throw new AssertionError("unreachable");
    }

    @Test
    void weightsDefaultToOneOneAndGivenWeightsReachTheCatalog() {
        assertThat(http.put("/v1/agent/service/register", "{\"Name\":\"w-default\",\"Port\":1}").status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/service/register", "{\"Name\":\"w-given\",\"Port\":2,\"Weights\":{\"Passing\":10,\"Warning\":3}}").status()).isEqualTo(200);

        assertThat(http.get("/v1/agent/services").json().path("w-default").path("Weights").toString()).isEqualTo("{\"Passing\":1,\"Warning\":1}");
        assertThat(http.get("/v1/agent/services").json().path("w-given").path("Weights").toString()).isEqualTo("{\"Passing\":10,\"Warning\":3}");
        assertThat(catalogInstance("w-default", "w-default").path("ServiceWeights").toString()).isEqualTo("{\"Passing\":1,\"Warning\":1}");
        assertThat(catalogInstance("w-given", "w-given").path("ServiceWeights").toString()).isEqualTo("{\"Passing\":10,\"Warning\":3}");

        Http.Reply bad = http.put("/v1/agent/service/register", "{\"Name\":\"w-bad\",\"Weights\":{\"Passing\":0,\"Warning\":1}}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("Invalid Weights").contains("Passing");
        assertThat(http.get("/v1/agent/services").json().has("w-bad")).isFalse();
    }

    @Test
    void taggedAddressesComeBackAsServiceTaggedAddressesAndKindIsKept() {
        String body = "{\"ID\":\"ta-1\",\"Name\":\"ta\",\"Port\":8080,\"Address\":\"10.0.0.5\",\"EnableTagOverride\":true,"
                + "\"TaggedAddresses\":{\"lan\":{\"Address\":\"10.0.0.5\",\"Port\":8080},\"wan\":{\"Address\":\"198.51.100.5\",\"Port\":80}}}";
        assertThat(http.put("/v1/agent/service/register", body).status()).isEqualTo(200);
        JsonNode local = http.get("/v1/agent/services").json().path("ta-1");
        assertThat(local.path("TaggedAddresses").path("wan").path("Address").asText()).isEqualTo("198.51.100.5");
        assertThat(local.path("EnableTagOverride").asBoolean()).isTrue();

        JsonNode inCatalog = catalogInstance("ta", "ta-1");
        assertThat(inCatalog.path("ServiceTaggedAddresses").path("wan").path("Port").asInt()).isEqualTo(80);
        assertThat(inCatalog.path("ServiceTaggedAddresses").path("lan").path("Address").asText()).isEqualTo("10.0.0.5");
        assertThat(inCatalog.path("ServiceEnableTagOverride").asBoolean()).isTrue();
        // The Ecwid client reads the same instance (its model has no tagged addresses, and must not choke on them).
        assertThat(consul.getCatalogService("ta", com.ecwid.consul.v1.QueryParams.DEFAULT).getValue()).extracting(s -> s.getServiceEnableTagOverride()).containsExactly(true);

        // Kind through the catalog API (a gateway needs no proxy config); unknown kinds are refused.
        String reg = "{\"Node\":\"" + NODE + "\",\"Address\":\"127.0.0.1\",\"SkipNodeUpdate\":true,"
                + "\"Service\":{\"ID\":\"gw-1\",\"Service\":\"gw\",\"Kind\":\"mesh-gateway\",\"Port\":8443}}";
        assertThat(http.put("/v1/catalog/register", reg).status()).isEqualTo(200);
        assertThat(catalogInstance("gw", "gw-1").path("ServiceKind").asText()).isEqualTo("mesh-gateway");
        Http.Reply unknown = http.put("/v1/agent/service/register", "{\"Name\":\"k\",\"Kind\":\"warp-drive\"}");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body()).contains("Invalid Service Kind");
    }

    @Test
    void enableTagOverrideKeepsTagsSetInTheCatalogWhileOtherServicesGetTheirsBack() {
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"eto-1\",\"Name\":\"eto\",\"Tags\":[\"local\"],\"EnableTagOverride\":true}").status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"plain-1\",\"Name\":\"plain\",\"Tags\":[\"local\"]}").status()).isEqualTo(200);
        catalogInstance("eto", "eto-1");
        catalogInstance("plain", "plain-1");
        // An external tool retags both in the catalog.
        for (String[] s : new String[][]{{"eto-1", "eto", "true"}, {"plain-1", "plain", "false"}}) {
            assertThat(http.put("/v1/catalog/register", "{\"Node\":\"" + NODE + "\",\"Address\":\"127.0.0.1\",\"SkipNodeUpdate\":true,\"Service\":{\"ID\":\""
                    + s[0] + "\",\"Service\":\"" + s[1] + "\",\"Tags\":[\"external\"],\"EnableTagOverride\":" + s[2] + "}}").status()).isEqualTo(200);
        }
        // A local change makes anti-entropy compare everything: plain-1 gets its own tags back, eto-1 keeps the catalog's.
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"poke-1\",\"Name\":\"poke\"}").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> catalogInstance("plain", "plain-1").path("ServiceTags").toString().equals("[\"local\"]"));
        catalogInstance("poke", "poke-1");
        assertThat(catalogInstance("eto", "eto-1").path("ServiceTags").toString()).isEqualTo("[\"external\"]");
    }

    @Test
    void metaOverConsulsLimitsIsRefusedWithConsulsMessageAndNothingIsRegistered() {
        String tooMany = IntStream.range(0, 65).mapToObj(i -> "\"k" + i + "\":\"v\"").collect(Collectors.joining(",", "{", "}"));
        Http.Reply many = http.put("/v1/agent/service/register", "{\"Name\":\"meta-many\",\"Meta\":" + tooMany + "}");
        assertThat(many.status()).isEqualTo(400);
        assertThat(many.body()).contains("Invalid Service Meta").contains("cannot contain more than 64 key/value pairs");

        Http.Reply reserved = http.put("/v1/agent/service/register", "{\"Name\":\"meta-reserved\",\"Meta\":{\"consul-x\":\"1\"}}");
        assertThat(reserved.status()).isEqualTo(400);
        assertThat(reserved.body()).contains("Couldn't load metadata pair ('consul-x', '1')").contains("reserved for internal use");

        Http.Reply longValue = http.put("/v1/agent/service/register", "{\"Name\":\"meta-long\",\"Meta\":{\"k\":\"" + "v".repeat(513) + "\"}}");
        assertThat(longValue.status()).isEqualTo(400);
        assertThat(longValue.body()).contains("Value is too long (limit: 512 characters)");

        Http.Reply badKey = http.put("/v1/agent/service/register", "{\"Name\":\"meta-key\",\"Meta\":{\"a.b\":\"1\"}}");
        assertThat(badKey.status()).isEqualTo(400);
        assertThat(badKey.body()).contains("Key contains invalid characters");

        // The catalog endpoint applies the same limits.
        Http.Reply cat = http.put("/v1/catalog/register", "{\"Node\":\"" + NODE + "\",\"Address\":\"127.0.0.1\",\"SkipNodeUpdate\":true,"
                + "\"Service\":{\"Service\":\"meta-cat\",\"Meta\":{\"consul-y\":\"1\"}}}");
        assertThat(cat.status()).isEqualTo(400);

        JsonNode services = http.get("/v1/agent/services").json();
        assertThat(List.of("meta-many", "meta-reserved", "meta-long", "meta-key")).noneMatch(services::has);
        assertThat(http.get("/v1/catalog/service/meta-cat").json().size()).isZero();
        // 64 pairs at the limits are fine.
        String atLimit = IntStream.range(0, 64).mapToObj(i -> "\"k" + i + "\":\"" + "v".repeat(512) + "\"").collect(Collectors.joining(",", "{", "}"));
        assertThat(http.put("/v1/agent/service/register", "{\"Name\":\"meta-ok\",\"Meta\":" + atLimit + "}").status()).isEqualTo(200);
    }

    @Test
    void serviceChecksAreNumberedAsConsulNumbersThemAndScriptArgsIsArgs() {
        String two = "{\"ID\":\"num-1\",\"Name\":\"num\",\"Checks\":[{\"TTL\":\"30s\"},{\"TTL\":\"30s\"}]}";
        assertThat(http.put("/v1/agent/service/register", two).status()).isEqualTo(200);
        String one = "{\"ID\":\"single-1\",\"Name\":\"single\",\"Check\":{\"TTL\":\"30s\"}}";
        assertThat(http.put("/v1/agent/service/register", one).status()).isEqualTo(200);
        JsonNode checks = http.get("/v1/agent/checks").json();
        assertThat(checks.has("service:num-1:1")).isTrue();
        assertThat(checks.has("service:num-1:2")).isTrue();
        assertThat(checks.has("service:num-1")).isFalse();
        assertThat(checks.has("service:single-1")).isTrue();
        assertThat(checks.path("service:num-1:2").path("Name").asText()).isEqualTo("Service 'num' check");

        // A check registered alone takes its Name as ID; ScriptArgs is the same field as Args.
        var def = io.failoverkit.discovery.config.Definitions.check(io.failoverkit.discovery.state.Json.MAPPER.createObjectNode()
                .put("Name", "disk").put("Interval", "10s").set("ScriptArgs", io.failoverkit.discovery.state.Json.MAPPER.createArrayNode().add("/bin/true")), null, null, 0);
        assertThat(def.id()).isEqualTo("disk");
        assertThat(def.args()).containsExactly("/bin/true");
        assertThat(def.kind()).isEqualTo("script");
    }

    @Test
    void replaceExistingChecksDropsTheChecksTheNewDefinitionDoesNotList() {
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"rep-1\",\"Name\":\"rep\",\"Check\":{\"CheckID\":\"rep-a\",\"TTL\":\"30s\"}}").status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/check/register", "{\"CheckID\":\"rep-extra\",\"Name\":\"extra\",\"ServiceID\":\"rep-1\",\"TTL\":\"30s\"}").status()).isEqualTo(200);
        // Without the flag (Consul's default) the extra check stays.
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"rep-1\",\"Name\":\"rep\",\"Check\":{\"CheckID\":\"rep-b\",\"TTL\":\"30s\"}}").status()).isEqualTo(200);
        assertThat(http.get("/v1/agent/checks").json().has("rep-extra")).isTrue();
        assertThat(http.put("/v1/agent/service/register?replace-existing-checks", "{\"ID\":\"rep-1\",\"Name\":\"rep\",\"Check\":{\"CheckID\":\"rep-b\",\"TTL\":\"30s\"}}").status()).isEqualTo(200);
        JsonNode checks = http.get("/v1/agent/checks").json();
        assertThat(checks.has("rep-b")).isTrue();
        assertThat(checks.has("rep-a")).isFalse();
        assertThat(checks.has("rep-extra")).isFalse();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode nodeChecks = http.get("/v1/health/node/" + NODE).json();
            boolean hasB = false, hasOld = false;
            for (JsonNode c : nodeChecks) {
                String id = c.path("CheckID").asText();
                if (id.equals("rep-b")) hasB = true;
                if (id.equals("rep-a") || id.equals("rep-extra")) hasOld = true;
            }
            return hasB && !hasOld;
        });
    }

    @Test
    void aServiceWhoseCheckStaysCriticalPastDeregisterCriticalServiceAfterIsReaped() {
        NewService s = new NewService();
        s.setId("reap-1");
        s.setName("reap");
        NewService.Check c = new NewService.Check();
        c.setTtl("60s"); // starts critical and nobody passes it
        c.setDeregisterCriticalServiceAfter("1s");
        s.setCheck(c);
        consul.agentServiceRegister(s);
        NewService keep = new NewService();
        keep.setId("keep-1");
        keep.setName("keep");
        NewService.Check k = new NewService.Check();
        k.setTtl("60s");
        k.setStatus("passing");
        k.setDeregisterCriticalServiceAfter("1s");
        keep.setCheck(k);
        consul.agentServiceRegister(keep);
        catalogInstance("reap", "reap-1");

        await().atMost(Duration.ofSeconds(30)).until(() -> !consul.getAgentServices().getValue().containsKey("reap-1"));
        await().atMost(Duration.ofSeconds(20)).until(() -> consul.getCatalogService("reap", com.ecwid.consul.v1.QueryParams.DEFAULT).getValue().isEmpty());
        assertThat(consul.getAgentServices().getValue()).containsKey("keep-1");
    }

    @Test
    void httpChecksSendTheirMethodHeadersAndBody() throws Exception {
        Map<String, String> seen = new ConcurrentHashMap<>();
        int port = FreePorts.next();
        HttpServer target = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        target.createContext("/health", ex -> {
            seen.put("method", ex.getRequestMethod());
            seen.put("x-probe", String.valueOf(ex.getRequestHeaders().get("X-Probe")));
            seen.put("body", new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            seen.put("user-agent", String.valueOf(ex.getRequestHeaders().getFirst("User-Agent")));
            boolean ok = ex.getRequestMethod().equals("POST");
            ex.sendResponseHeaders(ok ? 200 : 405, -1);
            ex.close();
        });
        target.start();
        try {
            NewService s = new NewService();
            s.setId("hc-1");
            s.setName("hc");
            NewService.Check c = new NewService.Check();
            c.setHttp("http://127.0.0.1:" + port + "/health");
            c.setMethod("POST");
            c.setHeader(Map.of("X-Probe", List.of("a", "b")));
            c.setInterval("200ms");
            s.setCheck(c);
            consul.agentServiceRegister(s);
            // Body is not in the Ecwid model: the same check again through plain HTTP with a Body.
            assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"hc-1\",\"Name\":\"hc\",\"Check\":{\"HTTP\":\"http://127.0.0.1:" + port
                    + "/health\",\"Method\":\"POST\",\"Header\":{\"X-Probe\":[\"a\",\"b\"]},\"Body\":\"{\\\"ping\\\":1}\",\"Interval\":\"200ms\"}}").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> "{\"ping\":1}".equals(seen.get("body")));
            assertThat(seen.get("method")).isEqualTo("POST");
            assertThat(seen.get("x-probe")).isEqualTo("[a, b]");
            assertThat(seen.get("user-agent")).isEqualTo("Consul Health Check");
            await().atMost(Duration.ofSeconds(20)).until(() -> consul.getHealthServices("hc", true, com.ecwid.consul.v1.QueryParams.DEFAULT).getValue().size() == 1);
        } finally {
            target.stop(0);
        }
    }

    @Test
    void httpsChecksHonourTlsSkipVerifyAndTlsServerName(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        // A self-signed certificate for "svc.internal" (keytool, from this JDK), served on 127.0.0.1.
        java.nio.file.Path ks = tmp.resolve("ks.p12");
        Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-alias", "svc",
                "-keyalg", "EC", "-dname", "CN=svc.internal", "-ext", "SAN=dns:svc.internal", "-validity", "2")
                .redirectErrorStream(true).start();
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).isZero();
        java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(ks)) { store.load(in, "changeit".toCharArray()); }
        var kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, "changeit".toCharArray());
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        int port = FreePorts.next();
        com.sun.net.httpserver.HttpsServer target = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        target.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(ctx));
        target.createContext("/health", ex -> { ex.sendResponseHeaders(200, -1); ex.close(); });
        target.start();
        try {
            String url = "https://127.0.0.1:" + port + "/health";
            NewService skip = new NewService();
            skip.setId("tls-skip");
            skip.setName("tls-skip");
            NewService.Check c = new NewService.Check();
            c.setHttp(url);
            c.setTlsSkipVerify(true);
            c.setInterval("200ms");
            skip.setCheck(c);
            consul.agentServiceRegister(skip);
            // Verified against the system's trust (the self-signed certificate is not in it): critical, with or without
            // TLSServerName naming the certificate's host.
            String verified = "{\"ID\":\"tls-verify\",\"Name\":\"tls-verify\",\"Check\":{\"HTTP\":\"" + url + "\",\"Interval\":\"200ms\",\"Status\":\"passing\"}}";
            String named = "{\"ID\":\"tls-named\",\"Name\":\"tls-named\",\"Check\":{\"HTTP\":\"" + url
                    + "\",\"TLSServerName\":\"svc.internal\",\"Interval\":\"200ms\",\"Status\":\"passing\"}}";
            assertThat(http.put("/v1/agent/service/register", verified).status()).isEqualTo(200);
            assertThat(http.put("/v1/agent/service/register", named).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> "passing".equals(http.get("/v1/agent/checks").json().path("service:tls-skip").path("Status").asText()));
            await().atMost(Duration.ofSeconds(20)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("service:tls-verify").path("Status").asText()));
            await().atMost(Duration.ofSeconds(20)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("service:tls-named").path("Status").asText()));
        } finally {
            target.stop(0);
        }
    }

    @Test
    void udpChecksPassOnSilenceAndFailOnAClosedPort() throws Exception {
        int closed = FreePorts.next();
        try (DatagramSocket listening = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()))) {
            String up = "{\"ID\":\"udp-up\",\"Name\":\"udp-up\",\"Check\":{\"UDP\":\"127.0.0.1:" + listening.getLocalPort() + "\",\"Interval\":\"200ms\",\"Timeout\":\"200ms\"}}";
            String down = "{\"ID\":\"udp-down\",\"Name\":\"udp-down\",\"Check\":{\"UDP\":\"127.0.0.1:" + closed + "\",\"Interval\":\"200ms\",\"Timeout\":\"200ms\",\"Status\":\"passing\"}}";
            assertThat(http.put("/v1/agent/service/register", up).status()).isEqualTo(200);
            assertThat(http.put("/v1/agent/service/register", down).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> "passing".equals(http.get("/v1/agent/checks").json().path("service:udp-up").path("Status").asText()));
            await().atMost(Duration.ofSeconds(20)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("service:udp-down").path("Status").asText()));
            assertThat(http.get("/v1/agent/checks").json().path("service:udp-up").path("Type").asText()).isEqualTo("udp");
        }
    }

    @Test
    void grpcChecksAskTheStandardHealthService() throws Exception {
        var status = new java.util.concurrent.atomic.AtomicInteger(1); // SERVING
        int port = FreePorts.next();
        var def = org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition.builder("grpc.health.v1.Health")
                .addMethod(io.failoverkit.discovery.agent.GrpcHealth.CHECK,
                        org.apache.ratis.thirdparty.io.grpc.stub.ServerCalls.asyncUnaryCall((String service, org.apache.ratis.thirdparty.io.grpc.stub.StreamObserver<Integer> out) -> {
                            out.onNext(service.equals("db") ? status.get() : 3);
                            out.onCompleted();
                        }))
                .build();
        var server = org.apache.ratis.thirdparty.io.grpc.netty.NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(def).build().start();
        try {
            NewService s = new NewService();
            s.setId("grpc-1");
            s.setName("grpc");
            NewService.Check c = new NewService.Check();
            c.setGrpc("127.0.0.1:" + port + "/db");
            c.setInterval("200ms");
            s.setCheck(c);
            consul.agentServiceRegister(s);
            await().atMost(Duration.ofSeconds(30)).until(() -> "passing".equals(http.get("/v1/agent/checks").json().path("service:grpc-1").path("Status").asText()));
            status.set(2); // NOT_SERVING
            await().atMost(Duration.ofSeconds(30)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("service:grpc-1").path("Status").asText()));
            assertThat(http.get("/v1/agent/checks").json().path("service:grpc-1").path("Output").asText()).contains("NOT_SERVING");
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    void anAliasCheckFollowsTheAliasedService() {
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"backend-1\",\"Name\":\"backend\",\"Check\":{\"CheckID\":\"backend-ttl\",\"TTL\":\"60s\"}}").status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"front-1\",\"Name\":\"front\",\"Check\":{\"CheckID\":\"front-alias\",\"AliasService\":\"backend-1\"}}").status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/check/pass/backend-ttl", "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> "passing".equals(http.get("/v1/agent/checks").json().path("front-alias").path("Status").asText()));
        assertThat(http.put("/v1/agent/check/fail/backend-ttl?note=down", "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("front-alias").path("Status").asText()));
        assertThat(http.get("/v1/agent/checks").json().path("front-alias").path("Output").asText()).contains("down");
        await().atMost(Duration.ofSeconds(20)).until(() -> consul.getHealthServices("front", true, com.ecwid.consul.v1.QueryParams.DEFAULT).getValue().isEmpty());
        // An alias of a service that is not registered is critical.
        assertThat(http.put("/v1/agent/check/register", "{\"CheckID\":\"ghost-alias\",\"Name\":\"ghost\",\"AliasService\":\"nope\",\"Status\":\"passing\"}").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> "critical".equals(http.get("/v1/agent/checks").json().path("ghost-alias").path("Status").asText()));
    }
}
