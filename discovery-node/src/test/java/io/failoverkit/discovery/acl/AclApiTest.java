package io.failoverkit.discovery.acl;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AclConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.failoverkit.discovery.acl.AclTestAgents.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * /v1/acl on one ACL-enabled server with default deny and an initial_management token in its config: the leader
 * creates that token (so bootstrap is refused), policies with rules checked at creation, tokens whose secret is shown
 * once, token/self, and the client agents' resolver (asking the server, caching, down_policy) against it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AclApiTest {
    @TempDir static Path dir;
    private static final String ROOT = UUID.randomUUID().toString();
    private static Agent agent;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        agent = AclTestAgents.devServer("acl-node", AclTestAgents.configFile(dir,
                "{\"enabled\": true, \"default_policy\": \"deny\", \"down_policy\": \"extend-cache\", \"enable_token_persistence\": true, \"tokens\": {\"initial_management\": \"" + ROOT + "\"}}"));
        port = agent.httpPort();
        await().atMost(Duration.ofSeconds(30)).until(() -> call(port, "GET", "/v1/acl/token/self", ROOT, null).status() == 200);
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    @Test
    void initialManagementMakesBootstrapUnnecessaryAndRefusesIt() {
        AclTestAgents.Reply self = call(port, "GET", "/v1/acl/token/self", ROOT, null);
        assertThat(self.json().path("Description").asText()).isEqualTo("Initial Management Token");
        assertThat(self.json().path("SecretID").asText()).isEqualTo("<hidden>");
        assertThat(self.json().path("Policies").get(0).path("Name").asText()).isEqualTo("global-management");
        AclTestAgents.Reply again = call(port, "PUT", "/v1/acl/bootstrap", null, null);
        assertThat(again.status()).isEqualTo(403);
        assertThat(again.body()).matches("ACL bootstrap no longer allowed \\(reset index: \\d+\\)\\s*");
    }

    @Test
    void anonymousMayNotManageAclsUnderDefaultDeny() {
        AclTestAgents.Reply r = call(port, "GET", "/v1/acl/policies", null, null);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).contains("Permission denied: anonymous token lacks permission 'acl:read'");
        assertThat(call(port, "PUT", "/v1/acl/policy", null, "{\"Name\":\"x\"}").status()).isEqualTo(403);
        AclTestAgents.Reply self = call(port, "GET", "/v1/acl/token/self", null, null);
        assertThat(self.status()).isEqualTo(200);
        assertThat(self.json().path("AccessorID").asText()).isEqualTo(Identity.ANONYMOUS_ACCESSOR);
        AclTestAgents.Reply unknown = call(port, "GET", "/v1/acl/token/self", UUID.randomUUID().toString(), null);
        assertThat(unknown.status()).isEqualTo(403);
        assertThat(unknown.body()).contains("ACL not found");
    }

    @Test
    void rulesThatDoNotParseAreRefusedWithLineAndColumnAndNothingIsCreated() {
        AclTestAgents.Reply r = call(port, "PUT", "/v1/acl/policy", ROOT,
                "{\"Name\":\"broken\",\"Rules\":\"key_prefix \\\"\\\" {\\n  policy = \\\"read\\\"\\n}\\nservic \\\"web\\\" { policy = \\\"read\\\" }\"}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("At 4:1:").contains("unknown rule \"servic\"");
        assertThat(call(port, "GET", "/v1/acl/policy/name/broken", ROOT, null).status()).isEqualTo(404);
        assertThat(call(port, "PUT", "/v1/acl/policy", ROOT, "{\"Name\":\"bad name!\"}").status()).isEqualTo(400);
    }

    @Test
    void policyAndTokenLifecycleShowsTheSecretOnlyOnce() {
        AclTestAgents.Reply p = call(port, "PUT", "/v1/acl/policy", ROOT,
                "{\"Name\":\"foo-db-writer\",\"Description\":\"d\",\"Rules\":\"service_prefix \\\"foo-db\\\" { policy = \\\"write\\\" }\"}");
        assertThat(p.status()).as(p.body()).isEqualTo(200);
        String policyId = p.json().path("ID").asText();
        assertThat(p.json().path("Rules").asText()).contains("service_prefix");
        assertThat(call(port, "GET", "/v1/acl/policy/name/foo-db-writer", ROOT, null).json().path("ID").asText()).isEqualTo(policyId);
        JsonNode list = call(port, "GET", "/v1/acl/policies", ROOT, null).json();
        assertThat(list.findValuesAsText("Name")).contains("foo-db-writer", "global-management");
        assertThat(list.get(0).has("Rules")).isFalse();
        AclTestAgents.Reply dup = call(port, "PUT", "/v1/acl/policy", ROOT, "{\"Name\":\"foo-db-writer\"}");
        assertThat(dup.status()).isEqualTo(400);

        AclTestAgents.Reply t = call(port, "PUT", "/v1/acl/token", ROOT, "{\"Description\":\"app\",\"Policies\":[{\"Name\":\"foo-db-writer\"}]}");
        assertThat(t.status()).as(t.body()).isEqualTo(200);
        String accessor = t.json().path("AccessorID").asText();
        String secret = t.json().path("SecretID").asText();
        assertThat(secret).matches("[0-9a-f-]{36}");
        assertThat(t.json().path("Policies").get(0).path("ID").asText()).isEqualTo(policyId);

        JsonNode read = call(port, "GET", "/v1/acl/token/" + accessor, ROOT, null).json();
        assertThat(read.path("SecretID").asText()).isEqualTo("<hidden>");
        assertThat(read.path("Description").asText()).isEqualTo("app");
        assertThat(call(port, "GET", "/v1/acl/tokens", ROOT, null).body()).contains(accessor).doesNotContain(secret);
        JsonNode self = call(port, "GET", "/v1/acl/token/self", secret, null).json();
        assertThat(self.path("AccessorID").asText()).isEqualTo(accessor);
        // The token may read the policy linked to it, and nothing else about ACLs.
        assertThat(call(port, "GET", "/v1/acl/policy/" + policyId, secret, null).status()).isEqualTo(200);
        AclTestAgents.Reply denied = call(port, "GET", "/v1/acl/policy/" + PolicyAuthorizer.GLOBAL_MANAGEMENT_ID, secret, null);
        assertThat(denied.status()).isEqualTo(403);
        assertThat(denied.body()).contains("token with AccessorID '" + accessor + "' lacks permission 'acl:read'");
        assertThat(call(port, "GET", "/v1/acl/tokens", secret, null).status()).isEqualTo(403);

        AclTestAgents.Reply upd = call(port, "PUT", "/v1/acl/token/" + accessor, ROOT, "{\"Description\":\"renamed\"}");
        assertThat(upd.status()).as(upd.body()).isEqualTo(200);
        assertThat(upd.json().path("SecretID").asText()).isEqualTo("<hidden>");
        assertThat(upd.json().path("Policies").size()).isEqualTo(1);
        assertThat(call(port, "DELETE", "/v1/acl/token/" + accessor, ROOT, null).body().strip()).isEqualTo("true");
        assertThat(call(port, "GET", "/v1/acl/token/self", secret, null).status()).isEqualTo(403);
        assertThat(call(port, "DELETE", "/v1/acl/policy/" + policyId, ROOT, null).status()).isEqualTo(200);
        assertThat(call(port, "GET", "/v1/acl/policy/" + policyId, ROOT, null).status()).isEqualTo(404);
    }

    @Test
    void badTokenRequestsAreRefusedWhole() {
        assertThat(call(port, "PUT", "/v1/acl/token", ROOT, "{\"Policies\":[{\"Name\":\"no-such\"}]}").body()).contains("No such ACL policy");
        assertThat(call(port, "PUT", "/v1/acl/token", ROOT, "{\"ExpirationTTL\":\"5s\"}").body()).contains("cannot be less than 1m");
        assertThat(call(port, "PUT", "/v1/acl/token", ROOT, "{\"SecretID\":\"not-a-uuid\"}").status()).isEqualTo(400);
        assertThat(call(port, "PUT", "/v1/acl/token", ROOT, "[1]").status()).isEqualTo(400);
        assertThat(call(port, "DELETE", "/v1/acl/token/" + Identity.ANONYMOUS_ACCESSOR, ROOT, null).status()).isEqualTo(400);
        assertThat(call(port, "DELETE", "/v1/acl/policy/" + PolicyAuthorizer.GLOBAL_MANAGEMENT_ID, ROOT, null).status()).isEqualTo(400);
    }

    @Test
    void expiringTokenShowsItsExpirationTime() {
        AclTestAgents.Reply t = call(port, "PUT", "/v1/acl/token", ROOT, "{\"ExpirationTTL\":\"10m\"}");
        assertThat(t.status()).as(t.body()).isEqualTo(200);
        assertThat(java.time.Instant.parse(t.json().path("ExpirationTime").asText())).isAfter(java.time.Instant.now().plusSeconds(500));
    }

    @Test
    void clientAgentResolverAsksTheServerCachesAndFollowsDownPolicy() throws Exception {
        AclTestAgents.Reply p = call(port, "PUT", "/v1/acl/policy", ROOT, "{\"Name\":\"kv-app\",\"Rules\":\"key_prefix \\\"app/\\\" { policy = \\\"write\\\" }\"}");
        String secret = call(port, "PUT", "/v1/acl/token", ROOT, "{\"Policies\":[{\"ID\":\"" + p.json().path("ID").asText() + "\"}]}").json().path("SecretID").asText();
        String[] target = {"127.0.0.1:" + port};
        AclConfig cfg = new AclConfig();
        cfg.enabled = true;
        cfg.defaultAllow = false;
        cfg.tokenTtl = Duration.ZERO; // every lookup goes to the server while it answers
        RemoteTokenResolver client = new RemoteTokenResolver(() -> Optional.of(target[0]), cfg);
        Identity id = client.resolve(secret);
        assertThat(id.authorizer().allows(Resource.KEY, "app/x", Access.WRITE)).isTrue();
        assertThat(id.authorizer().allows(Resource.KEY, "other", Access.READ)).isFalse();
        assertThat(client.resolve(ROOT).authorizer().allows(Resource.ACL, "", Access.WRITE)).isTrue();
        assertThat(client.resolve(null).accessorId()).isEqualTo(Identity.ANONYMOUS_ACCESSOR);
        assertThatThrownBy(() -> client.resolve(UUID.randomUUID().toString())).isInstanceOf(TokenResolver.AclNotFound.class);

        // No server answers: extend-cache keeps what it had, and denies what it never saw.
        target[0] = "127.0.0.1:" + io.failoverkit.discovery.testing.FreePorts.next();
        assertThat(client.resolve(secret).authorizer().allows(Resource.KEY, "app/x", Access.WRITE)).isTrue();
        assertThat(client.resolve(UUID.randomUUID().toString()).authorizer().allows(Resource.KEY, "app/x", Access.READ)).isFalse();
        cfg.downPolicy = "allow";
        assertThat(client.resolve(UUID.randomUUID().toString()).authorizer().allows(Resource.KEY, "x", Access.WRITE)).isTrue();
        cfg.downPolicy = "deny";
        assertThat(client.resolve(secret).authorizer().allows(Resource.KEY, "app/x", Access.READ)).isFalse();
    }

    @Test
    void aclEndpointsSayWhenAclsAreDisabled() throws Exception {
        try (var plain = io.failoverkit.discovery.testing.DevAgent.start("no-acl")) {
            AclTestAgents.Reply r = call(plain.httpPort, "GET", "/v1/acl/policies", null, null);
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.body()).contains("ACL support disabled");
        }
    }

    @Test
    void agentDefaultTokenSetAtRunTimeIsUsedAndPersisted() throws Exception {
        String secret = call(port, "PUT", "/v1/acl/token", ROOT, "{\"Description\":\"reader\"}").json().path("SecretID").asText();
        assertThat(call(port, "PUT", "/v1/agent/token/default", null, "{\"Token\":\"" + secret + "\"}").status()).isEqualTo(403);
        assertThat(call(port, "PUT", "/v1/agent/token/replication", ROOT, "{\"Token\":\"x\"}").status()).isEqualTo(404);
        try {
            assertThat(call(port, "PUT", "/v1/agent/token/default", ROOT, "{\"Token\":\"" + secret + "\"}").status()).isEqualTo(200);
            assertThat(call(port, "GET", "/v1/acl/token/self", null, null).json().path("Description").asText()).isEqualTo("reader");
            Path file = agent.dataDir().resolve(TokenPersistence.FILE);
            assertThat(java.nio.file.Files.readString(file)).contains(secret);
            assertThat(java.nio.file.Files.getPosixFilePermissions(file)).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            AclConfig restarted = new AclConfig();
            restarted.enableTokenPersistence = true;
            TokenPersistence.load(agent.dataDir(), restarted);
            assertThat(restarted.defaultToken).isEqualTo(secret);
        } finally {
            call(port, "PUT", "/v1/agent/token/default", ROOT, "{\"Token\":\"\"}");
        }
        assertThat(call(port, "GET", "/v1/acl/token/self", null, null).json().path("AccessorID").asText()).isEqualTo(Identity.ANONYMOUS_ACCESSOR);
    }
}
