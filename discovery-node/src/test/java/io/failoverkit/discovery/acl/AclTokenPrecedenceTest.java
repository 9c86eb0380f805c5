package io.failoverkit.discovery.acl;

import io.failoverkit.discovery.agent.Agent;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import static io.failoverkit.discovery.acl.AclTestAgents.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The ACL routes read the request's token as every other route does (?token= first, as Consul's parseToken): a request
 * carrying ?token=A and X-Consul-Token: B acts as A on /v1/acl/... too. They read B while the audit log and the rest
 * of the API took A, so the audit log named a token that did not make the change.
 */
class AclTokenPrecedenceTest {
    private static final String ROOT = UUID.randomUUID().toString();

    @Test
    void aclRoutesActAsTheQueryToken() throws Exception {
        Path dir = Files.createTempDirectory("acl-precedence");
        try (Agent agent = AclTestAgents.devServer("acl-precedence", AclTestAgents.configFile(dir,
                "{\"enabled\": true, \"default_policy\": \"deny\", \"tokens\": {\"initial_management\": \"" + ROOT + "\"}}"))) {
            int port = agent.httpPort();
            await().atMost(Duration.ofSeconds(30)).until(() -> call(port, "GET", "/v1/acl/token/self", ROOT, null).status() == 200);
            assertThat(call(port, "PUT", "/v1/acl/policy", ROOT, "{\"Name\":\"kv-read\",\"Rules\":\"key_prefix \\\"\\\" { policy = \\\"read\\\" }\"}").status())
                    .isEqualTo(200);
            AclTestAgents.Reply t = call(port, "PUT", "/v1/acl/token", ROOT, "{\"Policies\":[{\"Name\":\"kv-read\"}]}");
            assertThat(t.status()).as(t.body()).isEqualTo(200);
            String low = t.json().get("SecretID").asText();
            String lowAccessor = t.json().get("AccessorID").asText();

            AclTestAgents.Reply refused = call(port, "PUT", "/v1/acl/policy?token=" + low, ROOT,
                    "{\"Name\":\"sneaky\",\"Rules\":\"key_prefix \\\"\\\" { policy = \\\"write\\\" }\"}");
            assertThat(refused.status()).as(refused.body()).isEqualTo(403);
            assertThat(call(port, "GET", "/v1/acl/policy/name/sneaky", ROOT, null).status()).isEqualTo(404);
            assertThat(call(port, "GET", "/v1/acl/token/self?token=" + low, ROOT, null).json().get("AccessorID").asText()).isEqualTo(lowAccessor);
        }
    }
}
