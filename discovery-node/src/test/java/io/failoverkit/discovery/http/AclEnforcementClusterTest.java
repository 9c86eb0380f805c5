package io.failoverkit.discovery.http;

import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.RuleTableAcl;
import io.failoverkit.discovery.testing.RuleTableAcl.Rule;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Enforcement is the same whichever agent takes the request: a Raft follower (which passes reads and some writes to
 * the leader, token included) and a client agent (which passes every server-side route to a server, token included,
 * and checks its own agent routes itself) refuse and filter exactly as the leader does.
 */
class AclEnforcementClusterTest {
    static final String MGMT = "mgmt-secret-cluster";
    static final String FOO = "foo-db-secret-cluster";

    private static AgentConfig config(String name, boolean server, int joinPort) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.nodeName = name;
        cfg.server = server;
        cfg.bootstrapExpect = server ? 2 : 0;
        cfg.dataDir = Files.createTempDirectory("acl-cluster-" + name).toString();
        cfg.httpPort = FreePorts.next();
        cfg.dnsPort = FreePorts.next();
        cfg.serverPort = FreePorts.next();
        cfg.serfLanPort = FreePorts.next();
        if (joinPort > 0) cfg.startJoin.add("127.0.0.1:" + joinPort);
        cfg.validate();
        return cfg;
    }

    @Test
    void followerAndClientAgentEnforceAsTheLeaderDoes() throws Exception {
        RuleTableAcl acl = new RuleTableAcl(List.of())
                .management(MGMT, "aaaaaaaa-0000-0000-0000-00000000mgmt")
                .token(FOO, "bbbbbbbb-0000-0000-0000-0000000foodb", List.of(Rule.prefix(Resource.SERVICE, "foo-db", Access.WRITE)));
        List<Agent> agents = new ArrayList<>();
        try {
            Agent s1 = Agent.start(config("s1", true, 0));
            agents.add(s1);
            int join = s1.membership().self().port();
            Agent s2 = Agent.start(config("s2", true, join));
            agents.add(s2);
            Agent client = Agent.start(config("c1", false, join));
            agents.add(client);
            for (Agent a : agents) a.acl(acl);
            await().atMost(Duration.ofSeconds(60)).until(() -> s1.raftNode().flatMap(r -> r.leaderName()).isPresent()
                    && s2.raftNode().flatMap(r -> r.leaderName()).isPresent());
            Agent follower = s1.raftNode().get().isLeader() ? s2 : s1;
            Agent leader = follower == s1 ? s2 : s1;
            Http leaderMgmt = new Http(leader.httpPort()).as(MGMT);
            await().atMost(Duration.ofSeconds(30)).until(() -> leaderMgmt.put("/v1/catalog/register",
                    "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\",\"Service\":\"foo-db\",\"Tags\":[\"master\"]}}").status() == 200);
            assertThat(leaderMgmt.put("/v1/kv/k", "v").status()).isEqualTo(200);
            // The client agent has found a server to pass requests to.
            await().atMost(Duration.ofSeconds(30)).until(() -> new Http(client.httpPort()).as(MGMT).get("/v1/kv/k?raw").body().equals("v"));

            for (Agent via : List.of(follower, client)) {
                String where = via.nodeName();
                Http anon = new Http(via.httpPort());
                Http foo = anon.as(FOO);
                Http mgmt = anon.as(MGMT);
                // Anonymous: no reads, no writes, lists empty and marked filtered (the header relayed from the server).
                Http.Reply kv = anon.get("/v1/kv/k");
                assertThat(kv.status()).as(where).isEqualTo(403);
                assertThat(kv.body()).as(where).contains("anonymous token lacks permission 'key:read' on \"k\"");
                assertThat(anon.put("/v1/kv/k", "anon").status()).as(where).isEqualTo(403);
                Http.Reply services = anon.get("/v1/catalog/services");
                assertThat(services.json().size()).as(where).isZero();
                assertThat(services.headers().firstValue(Permissions.FILTERED_HEADER)).as(where).hasValue("true");
                assertThat(anon.get("/v1/health/service/foo-db?stale").json().size()).as(where).isZero();
                assertThat(anon.as("unknown-token").get("/v1/kv/k").body().strip()).as(where).isEqualTo("ACL not found");
                assertThat(anon.get("/v1/agent/self").status()).as(where).isEqualTo(403);
                // The foo-db token moves the master and nothing else.
                assertThat(foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\","
                        + "\"Service\":\"foo-db\",\"Tags\":[\"master\",\"via-" + where + "\"]}}").status()).as(where).isEqualTo(200);
                Http.Reply bar = foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"Service\":\"bar-db\"}}");
                assertThat(bar.status()).as(where).isEqualTo(403);
                assertThat(bar.body()).as(where).contains("token with AccessorID 'bbbbbbbb-0000-0000-0000-0000000foodb' lacks permission 'service:write' on \"bar-db\"");
                assertThat(foo.put("/v1/kv/k", "foo").status()).as(where).isEqualTo(403);
                assertThat(foo.get("/v1/catalog/service/foo-db").json().size()).as(where).isZero(); // no node:read
                assertThat(mgmt.get("/v1/catalog/service/foo-db").json().get(0).get("ServiceTags").toString()).as(where).contains("via-" + where);
                assertThat(mgmt.get("/v1/kv/k?raw").body()).as(where).isEqualTo("v");
                assertThat(mgmt.get("/v1/catalog/service/bar-db").json().size()).as(where).isZero();

                // A blocking query through this agent is filtered when it wakes.
                Http.Reply first = anon.get("/v1/catalog/service/foo-db");
                long index = first.index();
                CompletableFuture<Http.Reply> waiting = CompletableFuture.supplyAsync(
                        () -> anon.get("/v1/catalog/service/foo-db?index=" + index + "&wait=30s", Duration.ofSeconds(60)));
                await().atMost(Duration.ofSeconds(20)).until(() -> leader.parkedWatchers() > 0);
                assertThat(leaderMgmt.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\","
                        + "\"Service\":\"foo-db\",\"Tags\":[\"master\",\"woke-" + where + "\"]}}").status()).isEqualTo(200);
                Http.Reply woke = waiting.get(30, TimeUnit.SECONDS);
                assertThat(woke.index()).as(where).isGreaterThan(index);
                assertThat(woke.json().size()).as(where).isZero();
            }
        } finally {
            for (int i = agents.size() - 1; i >= 0; i--) agents.get(i).close();
        }
    }
}
