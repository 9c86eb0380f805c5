package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A request with no token that a client agent (or a follower) passes on is its caller's: anonymous when that first
 * hop has no default token. The server that answers must not let its own acl.tokens.default stand in (it did: a
 * server whose default token may write KV let any tokenless caller of a client agent read and write every key).
 */
class ForwardedTokenlessTest {
    private static AgentConfig config(Path dir, String name, boolean server, int expect, int joinPort) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(Path.of(AclMustShowTest.aclConfig(dir, name)));
        cfg.applyFiles(java.util.Set.of());
        cfg.reloadDefinitions();
        cfg.nodeName = name;
        cfg.server = server;
        cfg.bootstrapExpect = expect;
        cfg.dataDir = Files.createDirectories(dir.resolve(name + "-data")).toString();
        cfg.httpPort = FreePorts.next();
        cfg.dnsPort = FreePorts.next();
        cfg.serverPort = FreePorts.next();
        cfg.serfLanPort = FreePorts.next();
        if (joinPort > 0) cfg.startJoin.add("127.0.0.1:" + joinPort);
        cfg.validate();
        return cfg;
    }

    @Test
    void aServersDefaultTokenNeverStandsInForAForwardedTokenlessCaller() throws Exception {
        Path dir = Files.createTempDirectory("acl-forwarded-tokenless");
        List<Agent> agents = new ArrayList<>();
        try {
            Agent s1 = Agent.start(config(dir, "s1", true, 2, 0));
            agents.add(s1);
            int join = s1.membership().self().port();
            Agent s2 = Agent.start(config(dir, "s2", true, 2, join));
            agents.add(s2);
            Agent client = Agent.start(config(dir, "c1", false, 0, join));
            agents.add(client);
            Http root1 = new Http(s1.httpPort()).as(AclMustShowTest.ROOT);
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> root1.get("/v1/acl/token/self").status() == 200);
            Agent leader = s1.raftNode().get().isLeader() ? s1 : s2;
            Agent follower = leader == s1 ? s2 : s1;
            Http root = new Http(leader.httpPort()).as(AclMustShowTest.ROOT);
            assertThat(root.put("/v1/kv/secret/k", "v").status()).isEqualTo(200);
            assertThat(root.put("/v1/catalog/register", AclMustShowTest.register("db1", "10.0.0.1", "foo-db-1", "foo-db", "master")).status()).isEqualTo(200);
            String wide = AclMustShowTest.token(root, "servers-default", "key_prefix \"\" { policy = \"write\" } "
                    + "service_prefix \"\" { policy = \"read\" } node_prefix \"\" { policy = \"read\" }");
            for (Agent s : List.of(s1, s2)) {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> new Http(s.httpPort()).as(wide).get("/v1/acl/token/self?stale").status() == 200);
                assertThat(new Http(s.httpPort()).as(AclMustShowTest.ROOT).put("/v1/agent/token/default", "{\"Token\":\"" + wide + "\"}").status())
                        .isEqualTo(200);
            }
            // On the servers themselves the default token stands in, as Consul's (their own HTTP API).
            assertThat(new Http(leader.httpPort()).get("/v1/kv/secret/k").status()).isEqualTo(200);

            // Through the client agent (no default token): the caller is anonymous, whichever server answers.
            Http viaClient = new Http(client.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> viaClient.get("/v1/status/leader").status() == 200);
            assertThat(viaClient.get("/v1/kv/secret/k").status()).isEqualTo(403);
            assertThat(viaClient.get("/v1/kv/secret?recurse").status()).isEqualTo(404);
            assertThat(viaClient.put("/v1/kv/secret/k", "anonymous-write").status()).isEqualTo(403);
            // Its DNS answers with its own (absent) default token's view: the anonymous token's, not the servers'.
            assertThat(AclMustShowTest.dns(client.dnsPort(), "foo-db.service.consul.").getRcode()).isEqualTo(org.xbill.DNS.Rcode.NXDOMAIN);
            assertThat(AclMustShowTest.dns(leader.dnsPort(), "foo-db.service.consul.").getRcode()).isEqualTo(org.xbill.DNS.Rcode.NOERROR);
            assertThat(viaClient.get("/v1/acl/token/self").json().get("AccessorID").asText())
                    .isEqualTo(io.failoverkit.discovery.acl.Identity.ANONYMOUS_ACCESSOR);

            // Through a follower without a default token: its tokenless list read goes on to the leader, still anonymous.
            assertThat(new Http(follower.httpPort()).as(AclMustShowTest.ROOT).put("/v1/agent/token/default", "{\"Token\":\"\"}").status())
                    .isEqualTo(200);
            Http viaFollower = new Http(follower.httpPort());
            assertThat(viaFollower.get("/v1/kv/secret?recurse").status()).isEqualTo(404);
            assertThat(viaFollower.get("/v1/kv/secret?keys").status()).isEqualTo(404);
            assertThat(root.get("/v1/kv/secret/k?raw").body()).isEqualTo("v");
        } finally {
            for (int i = agents.size() - 1; i >= 0; i--) agents.get(i).close();
        }
    }
}
