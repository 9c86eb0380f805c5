package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.acl.AclTestAgents;
import io.failoverkit.discovery.acl.AclTestAgents.Reply;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.failoverkit.discovery.acl.AclTestAgents.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * ACLs on three server JVMs and a client agent, all with default deny and the initial_management token in their config
 * file: the leader creates that token, a token created on one server resolves on every server (from its own replicated
 * state) and through the client agent, a snapshot save/restore brings deleted policies and tokens back on every
 * server, and no secret ever appears in any agent's log.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AclClusterTest {
    private static final HttpClient RAW = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void tokensResolveOnEveryServerAndThroughAClientAndSurviveASnapshotRestore(@TempDir Path dir) throws Exception {
        String root = UUID.randomUUID().toString();
        Path cfg = AclTestAgents.configFile(dir, "{\"enabled\": true, \"default_policy\": \"deny\", \"tokens\": {\"initial_management\": \"" + root + "\"}}");
        Path clientCfg = AclTestAgents.configFile(dir, "{\"enabled\": true, \"default_policy\": \"deny\", \"down_policy\": \"extend-cache\"}");
        List<String> secrets = new ArrayList<>(List.of(root));
        try (ServerCluster cluster = new ServerCluster(3, dir.resolve("cluster"), List.of("-config-file=" + cfg)).start();
             AgentProcess client = new AgentProcess("c1", dir.resolve("c1"), List.of("-config-file=" + clientCfg))) {
            AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
            client.start(List.of("-retry-join=" + leader.lanAddress()));
            for (AgentProcess s : cluster.servers) {
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> call(s.httpPort, "GET", "/v1/acl/token/self?stale", root, null).status() == 200);
            }
            AgentProcess other = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();

            // Created through a follower: the write goes through Raft like any other.
            Reply p = call(other.httpPort, "PUT", "/v1/acl/policy", root, "{\"Name\":\"foo-db\",\"Rules\":\"service_prefix \\\"foo-db\\\" { policy = \\\"write\\\" }\"}");
            assertThat(p.status()).as(p.body()).isEqualTo(200);
            Reply t = call(other.httpPort, "PUT", "/v1/acl/token", root, "{\"Description\":\"failover foo-db\",\"Policies\":[{\"Name\":\"foo-db\"}]}");
            assertThat(t.status()).as(t.body()).isEqualTo(200);
            String accessor = t.json().path("AccessorID").asText();
            String secret = t.json().path("SecretID").asText();
            secrets.add(secret);

            for (AgentProcess s : cluster.servers) {
                // ?stale: answered by that server from its own state, with the token resolved there too.
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> call(s.httpPort, "GET", "/v1/acl/token/self?stale", secret, null).json().path("AccessorID").asText().equals(accessor));
            }
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .until(() -> call(client.httpPort, "GET", "/v1/acl/token/self", secret, null).json().path("AccessorID").asText().equals(accessor));
            Reply viaClient = call(client.httpPort, "GET", "/v1/acl/policies", secret, null);
            assertThat(viaClient.status()).isEqualTo(403);
            assertThat(viaClient.body()).contains("token with AccessorID '" + accessor + "' lacks permission 'acl:read'");
            assertThat(call(client.httpPort, "GET", "/v1/acl/policies", root, null).body()).contains("foo-db");
            assertThat(call(client.httpPort, "PUT", "/v1/acl/bootstrap", null, null).body()).contains("ACL bootstrap no longer allowed");

            // A session destroy sent to a follower is judged by the leader, which surely knows the session (a lagging
            // follower may not yet, and an unknown session needs no permission where it is judged).
            String[] sessionId = new String[1];
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
                Reply c = call(leader.httpPort, "PUT", "/v1/session/create", root, "{\"Name\":\"destroy-check\",\"TTL\":\"60s\"}");
                sessionId[0] = c.json().path("ID").asText();
                return c.status() == 200;
            });
            Reply refused = call(other.httpPort, "PUT", "/v1/session/destroy/" + sessionId[0], secret, null);
            assertThat(refused.status()).as(refused.body()).isEqualTo(403);
            assertThat(call(leader.httpPort, "GET", "/v1/session/info/" + sessionId[0], root, null).body()).contains(sessionId[0]);
            Reply destroyed = call(other.httpPort, "PUT", "/v1/session/destroy/" + sessionId[0], root, null);
            assertThat(destroyed.status()).as(destroyed.body()).isEqualTo(200);
            assertThat(call(leader.httpPort, "GET", "/v1/session/info/" + sessionId[0], root, null).body()).doesNotContain(sessionId[0]);

            // Save, delete, restore: the policy and the token are back on every server.
            HttpResponse<byte[]> saved = RAW.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + leader.httpPort + "/v1/snapshot"))
                    .header("X-Consul-Token", root).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(saved.statusCode()).isEqualTo(200);
            assertThat(new String(saved.body(), java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain(secret).doesNotContain(root);
            assertThat(call(leader.httpPort, "DELETE", "/v1/acl/token/" + accessor, root, null).status()).isEqualTo(200);
            assertThat(call(leader.httpPort, "DELETE", "/v1/acl/policy/" + p.json().path("ID").asText(), root, null).status()).isEqualTo(200);
            assertThat(call(leader.httpPort, "GET", "/v1/acl/token/self", secret, null).status()).isEqualTo(403);
            HttpResponse<String> restored = RAW.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + leader.httpPort + "/v1/snapshot"))
                    .header("X-Consul-Token", root).timeout(Duration.ofSeconds(60)).PUT(HttpRequest.BodyPublishers.ofByteArray(saved.body())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(restored.statusCode()).as(restored.body()).isEqualTo(200);
            for (AgentProcess s : cluster.servers) {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> call(s.httpPort, "GET", "/v1/acl/token/self?stale", secret, null).json().path("Policies").get(0).path("Name").asText().equals("foo-db"));
            }

            // Secrets never reach a log, while the logs do talk about ACLs.
            List<AgentProcess> all = new ArrayList<>(cluster.servers);
            all.add(client);
            for (AgentProcess a : all) {
                String log = Files.readString(a.logFile().toPath());
                assertThat(log).as(a.name + "'s log").contains("ACLs enabled");
                for (String s : secrets) assertThat(log).as(a.name + "'s log").doesNotContain(s);
            }
        }
    }
}
