package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 12's must-show, end to end with real ACLs ({@code acl { enabled, default_policy = "deny", tokens {
 * initial_management } }}, policies and tokens made through /v1/acl): the anonymous token reads and writes nothing
 * over HTTP, DNS and blocking queries; a token whose policy is {@code service_prefix "foo-db" { policy = "write" }}
 * moves master.foo-db and nothing else; and both hold the same through a Raft follower and a client agent.
 */
class AclMustShowTest {
    static final String ROOT = "9f6b1c3e-0d5a-4c1b-9a7e-7d2f1b6c0a11";

    static String aclConfig(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        Path f = dir.resolve(name + "-acl.json");
        Files.writeString(f, "{\"acl\": {\"enabled\": true, \"default_policy\": \"deny\", \"tokens\": {\"initial_management\": \"" + ROOT + "\"}}}");
        return f.toString();
    }

    private static AgentConfig config(Path dir, String name, boolean server, int expect, int joinPort) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(Path.of(aclConfig(dir, name)));
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

    /** A policy and a token linked to it, made with the management token; returns the token's SecretID. */
    static String token(Http root, String policy, String rules) {
        Http.Reply p = root.put("/v1/acl/policy", Json.MAPPER.createObjectNode().put("Name", policy).put("Rules", rules).toString());
        assertThat(p.status()).as(p.body()).isEqualTo(200);
        Http.Reply t = root.put("/v1/acl/token", "{\"Description\":\"" + policy + "\",\"Policies\":[{\"Name\":\"" + policy + "\"}]}");
        assertThat(t.status()).as(t.body()).isEqualTo(200);
        return t.json().get("SecretID").asText();
    }

    static String accessorOf(Http agent, String secret) {
        return agent.as(secret).get("/v1/acl/token/self").json().get("AccessorID").asText();
    }

    static String register(String node, String address, String id, String service, String... tags) {
        StringBuilder t = new StringBuilder();
        for (String tag : tags) t.append(t.isEmpty() ? "" : ",").append('"').append(tag).append('"');
        return "{\"Node\":\"" + node + "\",\"Address\":\"" + address + "\",\"Service\":{\"ID\":\"" + id + "\",\"Service\":\"" + service
                + "\",\"Tags\":[" + t + "],\"Port\":3306}}";
    }

    static Message dns(int port, String name) throws Exception {
        SimpleResolver r = new SimpleResolver("127.0.0.1");
        r.setPort(port);
        r.setTimeout(Duration.ofSeconds(5));
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)));
    }

    @Test
    void withDefaultDenyAnonymousSeesNothingAndFooDbTokenMovesOnlyFooDbsMaster() throws Exception {
        Path dir = Files.createTempDirectory("acl-must-show");
        AgentConfig cfg = config(dir, "solo", true, 1, 0);
        try (Agent agent = Agent.start(cfg)) {
            Http anon = new Http(agent.httpPort());
            Http root = anon.as(ROOT);
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> root.get("/v1/acl/token/self").status() == 200);
            assertThat(root.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "master")).status()).isEqualTo(200);
            assertThat(root.put("/v1/catalog/register", register("db2", "10.0.0.2", "foo-db-2", "foo-db", "replica")).status()).isEqualTo(200);
            assertThat(root.put("/v1/catalog/register", register("db3", "10.0.0.3", "bar-db-1", "bar-db", "master")).status()).isEqualTo(200);
            assertThat(root.put("/v1/kv/failover/foo-db/epoch", "7").status()).isEqualTo(200);
            String foo = token(root, "foo-db-writer", "service_prefix \"foo-db\" { policy = \"write\" }");
            String fooAccessor = accessorOf(anon, foo);

            // Anonymous over HTTP: no reads, no writes.
            assertThat(anon.get("/v1/kv/failover/foo-db/epoch").status()).isEqualTo(403);
            assertThat(anon.get("/v1/kv/?recurse").status()).isEqualTo(404);
            assertThat(anon.put("/v1/kv/failover/foo-db/epoch", "8").status()).isEqualTo(403);
            assertThat(anon.get("/v1/catalog/services").json().size()).isZero();
            assertThat(anon.get("/v1/catalog/nodes").json().size()).isZero();
            assertThat(anon.get("/v1/health/service/foo-db").json().size()).isZero();
            assertThat(anon.get("/v1/agent/self").status()).isEqualTo(403);
            assertThat(anon.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "replica")).status()).isEqualTo(403);
            assertThat(anon.put("/v1/session/create", "{}").status()).isEqualTo(403);
            assertThat(root.get("/v1/kv/failover/foo-db/epoch?raw").body()).isEqualTo("7");
            // Anonymous over DNS: the names are not there.
            assertThat(dns(agent.dnsPort(), "foo-db.service.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
            assertThat(dns(agent.dnsPort(), "master.foo-db.service.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
            assertThat(dns(agent.dnsPort(), "db1.node.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
            // Anonymous blocking query: woken by a change, still empty.
            long index = anon.get("/v1/health/service/foo-db").index();
            CompletableFuture<Http.Reply> waiting = CompletableFuture.supplyAsync(
                    () -> anon.get("/v1/health/service/foo-db?index=" + index + "&wait=30s", Duration.ofSeconds(60)));
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.parkedWatchers() > 0);

            // The foo-db token moves the master: db1's instance to replica, db2's to master.
            Http fooHttp = anon.as(foo);
            assertThat(fooHttp.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "replica")).status()).isEqualTo(200);
            assertThat(fooHttp.put("/v1/catalog/register", register("db2", "10.0.0.2", "foo-db-2", "foo-db", "master")).status()).isEqualTo(200);
            Http.Reply woke = waiting.get(30, TimeUnit.SECONDS);
            assertThat(woke.index()).isGreaterThan(index);
            assertThat(woke.json().size()).isZero();
            assertThat(woke.headers().firstValue(Permissions.FILTERED_HEADER)).isEmpty(); // not told to a tokenless caller
            assertThat(fooHttp.get("/v1/catalog/services").headers().firstValue(Permissions.FILTERED_HEADER)).hasValue("true");
            JsonNode master = root.get("/v1/catalog/service/foo-db?tag=master").json();
            assertThat(master.size()).isEqualTo(1);
            assertThat(master.get(0).get("Node").asText()).isEqualTo("db2");
            // ... and nothing else: another service, a node, the KV, sessions.
            Http.Reply bar = fooHttp.put("/v1/catalog/register", register("db3", "10.0.0.3", "bar-db-1", "bar-db", "replica"));
            assertThat(bar.status()).isEqualTo(403);
            assertThat(bar.body().strip()).isEqualTo("Permission denied: token with AccessorID '" + fooAccessor
                    + "' lacks permission 'service:write' on \"bar-db\"");
            assertThat(fooHttp.put("/v1/catalog/deregister", "{\"Node\":\"db3\",\"ServiceID\":\"bar-db-1\"}").status()).isEqualTo(403);
            assertThat(fooHttp.put("/v1/catalog/register", register("db9", "10.0.0.9", "foo-db-9", "foo-db", "master")).status()).isEqualTo(403);
            assertThat(fooHttp.put("/v1/catalog/deregister", "{\"Node\":\"db1\"}").status()).isEqualTo(403);
            assertThat(fooHttp.put("/v1/kv/failover/foo-db/epoch", "8").status()).isEqualTo(403);
            assertThat(fooHttp.put("/v1/session/create", "{}").status()).isEqualTo(403);
            assertThat(root.get("/v1/catalog/service/bar-db").json().get(0).get("ServiceTags").get(0).asText()).isEqualTo("master");
            assertThat(root.get("/v1/catalog/node/db9").body().strip()).isEqualTo("null");
            assertThat(root.get("/v1/kv/failover/foo-db/epoch?raw").body()).isEqualTo("7");

            // A DNS view granted by the agent's default token would show it; the anonymous one still does not.
            assertThat(dns(agent.dnsPort(), "master.foo-db.service.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
            // A policy with Consul's keyring rule is accepted and obeyed.
            String keyring = token(root, "keyring-reader", "keyring = \"read\"");
            assertThat(anon.as(keyring).get("/v1/operator/keyring").status()).isEqualTo(200);
            assertThat(anon.as(keyring).put("/v1/operator/keyring", "{\"Key\":\"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=\"}").body())
                    .contains("lacks permission 'keyring:write'");

            // Reads of one state by one token share a render (the store's resolver hands out one compiled identity
            // per token and policy version); every answer is still the token's own view, checked as it comes.
            double shared = root.counter("failoverkit.http.answers.shared");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (root.counter("failoverkit.http.answers.shared") < shared + 2 && System.nanoTime() - until < 0) {
                Http.Reply f = fooHttp.get("/v1/catalog/services");
                assertThat(f.json().has("foo-db")).isTrue();
                assertThat(f.json().has("bar-db")).as("foo's token does not see bar-db").isFalse();
                assertThat(f.headers().firstValue(Permissions.FILTERED_HEADER)).hasValue("true");
                Http.Reply r = root.get("/v1/catalog/services");
                assertThat(r.json().has("bar-db")).isTrue();
                assertThat(r.headers().firstValue(Permissions.FILTERED_HEADER)).isEmpty();
                assertThat(anon.get("/v1/catalog/services").json().size()).isZero();
            }
            assertThat(root.counter("failoverkit.http.answers.shared")).as("one token's reads of one state shared").isGreaterThanOrEqualTo(shared + 2);
            // ACL routes never share (their answers depend on the clock, a token expiring, and on the secret asked with).
            double beforeAcl = root.counter("failoverkit.http.answers.shared");
            for (int i = 0; i < 3; i++) {
                assertThat(root.get("/v1/acl/tokens").status()).isEqualTo(200);
                assertThat(root.get("/v1/acl/token/self").json().get("AccessorID").asText()).isNotEqualTo(fooAccessor);
                assertThat(fooHttp.get("/v1/acl/token/self").json().get("AccessorID").asText()).isEqualTo(fooAccessor);
            }
            assertThat(root.counter("failoverkit.http.answers.shared")).isEqualTo(beforeAcl);
        }
    }

    @Test
    void followerAndClientAgentEnforceTheSameTokensAsTheLeader() throws Exception {
        Path dir = Files.createTempDirectory("acl-must-show-cluster");
        List<Agent> agents = new ArrayList<>();
        try {
            Agent s1 = Agent.start(config(dir, "s1", true, 2, 0));
            agents.add(s1);
            int join = s1.config().serfLanPort; // not membership().self(): Serf may not have mirrored its own member yet right after start
            Agent s2 = Agent.start(config(dir, "s2", true, 2, join));
            agents.add(s2);
            Agent client = Agent.start(config(dir, "c1", false, 0, join));
            agents.add(client);
            Http root1 = new Http(s1.httpPort()).as(ROOT);
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> root1.get("/v1/acl/token/self").status() == 200);
            Agent leader = s1.raftNode().get().isLeader() ? s1 : s2;
            Agent follower = leader == s1 ? s2 : s1;
            Http root = new Http(leader.httpPort()).as(ROOT);
            assertThat(root.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "master")).status()).isEqualTo(200);
            assertThat(root.put("/v1/catalog/register", register("db3", "10.0.0.3", "bar-db-1", "bar-db", "master")).status()).isEqualTo(200);
            assertThat(root.put("/v1/kv/k", "v").status()).isEqualTo(200);
            String foo = token(root, "foo-db-writer", "service_prefix \"foo-db\" { policy = \"write\" }");
            String fooAccessor = accessorOf(new Http(leader.httpPort()), foo);
            // The follower has the new token (replicated), and the client agent resolves it through a server.
            for (Agent a : List.of(follower, client)) {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> new Http(a.httpPort()).as(foo).get("/v1/acl/token/self?stale").status() == 200);
            }

            for (Agent via : List.of(follower, client)) {
                String where = via.nodeName();
                Http anon = new Http(via.httpPort());
                Http fooHttp = anon.as(foo);
                assertThat(anon.get("/v1/kv/k").status()).as(where).isEqualTo(403);
                assertThat(anon.put("/v1/kv/k", "anon").status()).as(where).isEqualTo(403);
                Http.Reply services = anon.get("/v1/catalog/services");
                assertThat(services.json().size()).as(where).isZero();
                assertThat(services.headers().firstValue(Permissions.FILTERED_HEADER)).as(where).isEmpty();
                assertThat(fooHttp.get("/v1/catalog/services").headers().firstValue(Permissions.FILTERED_HEADER)).as(where).hasValue("true");
                assertThat(anon.get("/v1/agent/self").status()).as(where).isEqualTo(403);
                assertThat(anon.as("00000000-aaaa-bbbb-cccc-000000000000").get("/v1/kv/k").body().strip()).as(where).isEqualTo("ACL not found");
                assertThat(dns(via.dnsPort(), "foo-db.service.consul.").getRcode()).as(where).isEqualTo(Rcode.NXDOMAIN);

                assertThat(fooHttp.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "master", "via-" + where))
                        .status()).as(where).isEqualTo(200);
                Http.Reply bar = fooHttp.put("/v1/catalog/register", register("db3", "10.0.0.3", "bar-db-1", "bar-db", "replica"));
                assertThat(bar.status()).as(where).isEqualTo(403);
                assertThat(bar.body().strip()).as(where).isEqualTo("Permission denied: token with AccessorID '" + fooAccessor
                        + "' lacks permission 'service:write' on \"bar-db\"");
                assertThat(fooHttp.put("/v1/kv/k", "foo").status()).as(where).isEqualTo(403);
                assertThat(root.get("/v1/catalog/service/foo-db").json().get(0).get("ServiceTags").toString()).as(where).contains("via-" + where);
                assertThat(root.get("/v1/catalog/service/bar-db").json().get(0).get("ServiceTags").toString()).as(where).contains("master");
                assertThat(root.get("/v1/kv/k?raw").body()).as(where).isEqualTo("v");

                long index = anon.get("/v1/catalog/service/foo-db").index();
                CompletableFuture<Http.Reply> waiting = CompletableFuture.supplyAsync(
                        () -> anon.get("/v1/catalog/service/foo-db?index=" + index + "&wait=30s", Duration.ofSeconds(60)));
                // Parked on whichever server answers it (the leader, unless leadership moved meanwhile), or already woken by
                // another catalog change (servers and agents still registering): either way its answer must be filtered.
                await().atMost(Duration.ofSeconds(20)).until(() -> waiting.isDone() || s1.parkedWatchers() + s2.parkedWatchers() > 0);
                assertThat(root.put("/v1/catalog/register", register("db1", "10.0.0.1", "foo-db-1", "foo-db", "master", "woke-" + where))
                        .status()).isEqualTo(200);
                Http.Reply woke = waiting.get(30, TimeUnit.SECONDS);
                assertThat(woke.index()).as(where).isGreaterThan(index);
                assertThat(woke.json().size()).as(where).isZero();
            }
        } finally {
            for (int i = agents.size() - 1; i >= 0; i--) agents.get(i).close();
        }
    }
}
