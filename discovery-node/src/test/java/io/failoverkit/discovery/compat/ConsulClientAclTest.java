package io.failoverkit.discovery.compat;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.OperationException;
import com.ecwid.consul.v1.QueryParams;
import com.ecwid.consul.v1.catalog.model.CatalogDeregistration;
import com.ecwid.consul.v1.catalog.model.CatalogRegistration;
import com.ecwid.consul.v1.catalog.model.CatalogService;
import com.ecwid.consul.v1.health.model.HealthService;
import com.ecwid.consul.v1.kv.model.GetValue;
import com.ecwid.consul.v1.kv.model.PutParams;
import com.ecwid.consul.v1.session.model.NewSession;
import com.ecwid.consul.v1.session.model.Session;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A third-party Consul client from Maven Central (com.ecwid.consul:consul-api) with ACL tokens, against an agent with
 * ACLs on and default deny: KV, catalog and sessions work with a token whose rules allow them, are refused with 403
 * (OperationException) where the rules do not reach, lists are filtered to what the token may read, and the
 * anonymous token gets nothing. Every call goes through {@link ConsulClient}'s token-taking methods.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ConsulClientAclTest {
    private static final String NODE = "acl-compat-node";
    private static final String ROOT = UUID.randomUUID().toString();
    @TempDir static Path dir;
    private static Agent agent;
    private static ConsulClient consul;
    private static String appToken;

    @BeforeAll
    static void start() throws Exception {
        Path config = dir.resolve("acl.json");
        Files.writeString(config, "{\"acl\": {\"enabled\": true, \"default_policy\": \"deny\", \"tokens\": {\"initial_management\": \"" + ROOT + "\"}}}");
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(config);
        cfg.applyFiles(Set.of());
        cfg.reloadDefinitions();
        cfg.dev = true;
        cfg.nodeName = NODE;
        cfg.httpPort = FreePorts.next();
        cfg.dnsPort = FreePorts.next();
        cfg.serverPort = FreePorts.next();
        cfg.serfLanPort = FreePorts.next();
        cfg.validate();
        agent = Agent.start(cfg);
        Http http = new Http(agent.httpPort());
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> http.as(ROOT).get("/v1/acl/token/self").status() == 200);
        // Sessions name this agent's node, which the leader's reconciler puts in the catalog a moment after start.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> http.as(ROOT).get("/v1/catalog/node/" + NODE).json().path("Node").path("Node").asText().equals(NODE));
        // The application's token: its KV prefix, its service on its node, sessions on this agent's node.
        String rules = """
                key_prefix "app/" { policy = "write" }
                service "web" { policy = "write" }
                node "web-1" { policy = "write" }
                node "%s" { policy = "read" }
                session "%s" { policy = "write" }
                """.formatted(NODE, NODE);
        Http.Reply policy = http.as(ROOT).put("/v1/acl/policy", Json.MAPPER.writeValueAsString(Map.of("Name", "app", "Rules", rules)));
        assertThat(policy.status()).as(policy.body()).isEqualTo(200);
        Http.Reply token = http.as(ROOT).put("/v1/acl/token", Json.MAPPER.writeValueAsString(Map.of("Description", "app",
                "Policies", List.of(Map.of("ID", policy.json().get("ID").asText())))));
        assertThat(token.status()).as(token.body()).isEqualTo(200);
        appToken = token.json().get("SecretID").asText();
        consul = new ConsulClient("127.0.0.1", agent.httpPort());
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    private static int status(Runnable call) {
        try {
            call.run();
            return 200;
        } catch (OperationException e) {
            return e.getStatusCode();
        }
    }

    @Test
    void kvWithTheTokenWorksUnderItsPrefixAndIsRefusedElsewhereAndForAnonymous() {
        assertThat(consul.setKVValue("app/config/mode", "blue", appToken, new PutParams()).getValue()).isTrue();
        GetValue v = consul.getKVValue("app/config/mode", appToken).getValue();
        assertThat(v.getDecodedValue(StandardCharsets.UTF_8)).isEqualTo("blue");
        assertThat(consul.getKVValues("app/", appToken).getValue()).extracting(GetValue::getKey).contains("app/config/mode");

        assertThat(consul.setKVValue("other/secret", "x", ROOT, new PutParams()).getValue()).isTrue();
        assertThat(status(() -> consul.setKVValue("other/secret", "y", appToken, new PutParams()))).isEqualTo(403);
        assertThat(status(() -> consul.getKVValue("other/secret", appToken))).isEqualTo(403);
        assertThat(status(() -> consul.deleteKVValue("other/secret", appToken))).isEqualTo(403);
        assertThatThrownBy(() -> consul.getKVValue("app/config/mode")).isInstanceOf(OperationException.class)
                .satisfies(e -> assertThat(((OperationException) e).getStatusCode()).isEqualTo(403));
        assertThat(status(() -> consul.setKVValue("app/config/mode", "red"))).isEqualTo(403);
        // A recursive read shows only what the token may read.
        List<GetValue> seen = consul.getKVValues("", appToken).getValue();
        assertThat(seen).extracting(GetValue::getKey).contains("app/config/mode").doesNotContain("other/secret");
        assertThat(consul.getKVValue("other/secret", ROOT).getValue().getDecodedValue(StandardCharsets.UTF_8)).isEqualTo("x");
        assertThat(consul.getKVValue("app/config/mode", appToken).getValue().getDecodedValue(StandardCharsets.UTF_8)).isEqualTo("blue");
    }

    @Test
    void catalogRegistrationsAndReadsFollowTheTokensServiceAndNodeRules() {
        CatalogRegistration reg = registration("web-1", "web", "web-1a", 8080);
        consul.catalogRegister(reg, appToken);
        List<CatalogService> web = catalogService("web", appToken).getValue();
        assertThat(web).extracting(CatalogService::getServiceId).containsExactly("web-1a");
        List<HealthService> healthy = consul.getHealthServices("web", com.ecwid.consul.v1.health.HealthServicesRequest.newBuilder().setToken(appToken).build()).getValue();
        assertThat(healthy).hasSize(1);

        // Another service, or another node: 403, nothing registered.
        assertThat(status(() -> consul.catalogRegister(registration("web-1", "db", "db-1a", 3306), appToken))).isEqualTo(403);
        assertThat(status(() -> consul.catalogRegister(registration("db-host", "web", "web-2a", 8080), appToken))).isEqualTo(403);
        consul.catalogRegister(registration("db-host", "db", "db-1a", 3306), ROOT);
        assertThat(catalogService("db", ROOT).getValue()).hasSize(1);
        assertThat(catalogService("db", appToken).getValue()).isEmpty();
        assertThat(catalogService("web", null).getValue()).as("anonymous").isEmpty();
        CatalogDeregistration theirs = new CatalogDeregistration();
        theirs.setNode("db-host");
        theirs.setServiceId("db-1a");
        assertThat(status(() -> consul.catalogDeregister(theirs, appToken))).isEqualTo(403);
        assertThat(catalogService("db", ROOT).getValue()).hasSize(1);

        CatalogDeregistration mine = new CatalogDeregistration();
        mine.setNode("web-1");
        mine.setServiceId("web-1a");
        consul.catalogDeregister(mine, appToken);
        assertThat(catalogService("web", appToken).getValue()).isEmpty();
    }

    @Test
    void sessionsAndLocksWorkWithTheTokenAndAreRefusedWithout() {
        NewSession s = new NewSession();
        s.setName("app-lock");
        s.setTtl("15s");
        String id = consul.sessionCreate(s, QueryParams.DEFAULT, appToken).getValue();
        assertThat(id).isNotBlank();
        Session info = consul.getSessionInfo(id, QueryParams.DEFAULT, appToken).getValue();
        assertThat(info.getNode()).isEqualTo(NODE);
        PutParams acquire = new PutParams();
        acquire.setAcquireSession(id);
        assertThat(consul.setKVValue("app/leader", "me", appToken, acquire).getValue()).isTrue();
        assertThat(consul.getKVValue("app/leader", appToken).getValue().getSession()).isEqualTo(id);
        // The lock of a key outside the token's prefix: refused.
        assertThat(status(() -> consul.setKVValue("other/leader", "me", appToken, acquire))).isEqualTo(403);
        // Without a token: no session at all.
        assertThat(status(() -> consul.sessionCreate(s, QueryParams.DEFAULT))).isEqualTo(403);
        consul.sessionDestroy(id, QueryParams.DEFAULT, appToken);
        assertThat(consul.getKVValue("app/leader", appToken).getValue().getSession()).isNull();
    }

    /**
     * The service's instances as {@code token} sees them. Through the request builder: Ecwid's
     * getCatalogService(name, QueryParams, token) sends {@code ?tag=null} (a null tag turned into text), which a real
     * Consul answers with no instance too.
     */
    private static com.ecwid.consul.v1.Response<List<CatalogService>> catalogService(String service, String token) {
        return consul.getCatalogService(service, com.ecwid.consul.v1.catalog.CatalogServiceRequest.newBuilder()
                .setQueryParams(QueryParams.DEFAULT).setToken(token).build());
    }

    private static CatalogRegistration registration(String node, String service, String id, int port) {
        CatalogRegistration reg = new CatalogRegistration();
        reg.setNode(node);
        reg.setAddress("127.0.0.1");
        CatalogRegistration.Service svc = new CatalogRegistration.Service();
        svc.setService(service);
        svc.setId(id);
        svc.setPort(port);
        reg.setService(svc);
        return reg;
    }
}
