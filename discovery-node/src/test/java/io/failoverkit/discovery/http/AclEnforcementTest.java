package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.RuleTableAcl;
import io.failoverkit.discovery.testing.RuleTableAcl.Rule;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every route obeys the request's token (here a rule table written in the test, default policy deny): the anonymous
 * token reads and writes nothing, a {@code service_prefix "foo-db" write} token moves foo-db's master and nothing else,
 * lists are filtered with X-Consul-Results-Filtered-By-ACLs, refusals name the accessor and the missing permission,
 * DNS answers with the default token's view, and writes are in the audit log without their secrets.
 */
class AclEnforcementTest {
    static final String MGMT = "11111111-mgmt-secret";
    static final String FOO = "22222222-foo-db-secret";
    static final String READER = "33333333-reader-secret";

    static DevAgent dev;
    static RuleTableAcl acl;
    static Path auditFile;
    static Http anon, mgmt, foo, reader;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("acl-enforce");
        auditFile = dir.resolve("logs").resolve("audit.log");
        Path cfg = dir.resolve("audit.json");
        Files.writeString(cfg, "{\"audit\": {\"enabled\": true, \"path\": \"" + auditFile + "\"}}");
        dev = DevAgent.start("acl-node", cfg);
        acl = new RuleTableAcl(List.of())
                .management(MGMT, "aaaaaaaa-0000-0000-0000-00000000mgmt")
                .token(FOO, "bbbbbbbb-0000-0000-0000-0000000foodb", List.of(Rule.prefix(Resource.SERVICE, "foo-db", Access.WRITE)))
                .token(READER, "cccccccc-0000-0000-0000-000000reader", List.of(
                        Rule.prefix(Resource.SERVICE, "", Access.READ), Rule.prefix(Resource.NODE, "", Access.READ),
                        Rule.prefix(Resource.KEY, "pub/", Access.READ), Rule.exact(Resource.KEY, "pub/secret", Access.DENY),
                        Rule.prefix(Resource.SESSION, "", Access.READ), Rule.prefix(Resource.EVENT, "", Access.READ)));
        dev.agent.acl(acl);
        anon = dev.http;
        mgmt = dev.http.as(MGMT);
        foo = dev.http.as(FOO);
        reader = dev.http.as(READER);
        // The state the tests look at, written with the management token.
        ok(mgmt.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"master\"],\"Port\":3306}}"));
        ok(mgmt.put("/v1/catalog/register", "{\"Node\":\"db2\",\"Address\":\"10.0.0.2\",\"Service\":{\"ID\":\"foo-db-2\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"replica\"],\"Port\":3306}}"));
        ok(mgmt.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"bar-db-1\",\"Service\":\"bar-db\","
                + "\"Tags\":[\"master\"],\"Port\":3307}}"));
        for (String k : List.of("pub/a", "pub/secret", "priv/x")) ok(mgmt.put("/v1/kv/" + k, "v-" + k));
    }

    @AfterAll
    static void stop() {
        if (dev != null) dev.close();
    }

    static Http.Reply ok(Http.Reply r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r;
    }

    static boolean filtered(Http.Reply r) {
        return r.headers().firstValue(Permissions.FILTERED_HEADER).orElse("false").equals("true");
    }

    /**
     * With ACLs on, answers are shared only among requests that run as the same token and either all carry it or all
     * lack it: each token's reads of one state keep their own view, filtered for it, and the filtering is told only to
     * a request that carried a token (here a tokenless request runs as foo's token by the test resolver's default,
     * the agent itself having no default token, and is not told).
     */
    @Test
    void withAclsOnAnAnswerIsSharedOnlyByRequestsOfTheSameToken() {
        double shared = metric("failoverkit.http.answers.shared");
        acl.defaultToken(FOO); // a request without a token now runs as foo's token
        try {
            // Repeated (a change between two reads, e.g. a sync of the agent's own node, renders afresh) until the
            // same state was read more than once by one of them, so the checks were made on shared answers too. Every
            // answer is checked as it comes: one wrong answer fails the test, whatever comes after.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (metric("failoverkit.http.answers.shared") < shared + 3 && System.nanoTime() - until < 0) {
                for (int i = 0; i < 4; i++) {
                    Http.Reply r = reader.get("/v1/catalog/services");
                    assertThat(r.json().has("bar-db")).isTrue();
                    assertThat(filtered(r)).isFalse();
                    Http.Reply f = foo.get("/v1/catalog/services");
                    assertThat(f.json().has("bar-db")).as("foo's token does not see bar-db").isFalse();
                    assertThat(f.json().has("foo-db")).isTrue();
                    assertThat(filtered(f)).as("foo's request carried its token: told of the filtering").isTrue();
                    Http.Reply t = anon.get("/v1/catalog/services");
                    assertThat(t.json().has("bar-db")).as("runs as foo's token").isFalse();
                    assertThat(t.json().has("foo-db")).isTrue();
                    assertThat(filtered(t)).as("a request without a token is not told").isFalse();
                }
            }
            assertThat(metric("failoverkit.http.answers.shared")).as("reads of one state were shared").isGreaterThanOrEqualTo(shared + 3);
        } finally {
            acl.defaultToken(null);
        }
    }

    private static double metric(String name) {
        return mgmt.counter(name);
    }

    @Test
    void agentMembersAreFilteredPerTokenEveryTimeTheyAreAsked() {
        // /v1/agent/members is served from a cache per authorizer: asked twice each, in turns, every token keeps its view.
        for (int round = 0; round < 2; round++) {
            Http.Reply a = anon.get("/v1/agent/members");
            assertThat(a.json().size()).isZero();
            assertThat(filtered(a)).as("a request without a token is not told").isFalse();
            Http.Reply f = foo.get("/v1/agent/members");
            assertThat(f.json().size()).as("foo has no node:read").isZero();
            assertThat(filtered(f)).isTrue();
            Http.Reply r = reader.get("/v1/agent/members");
            assertThat(r.json().size()).isEqualTo(1);
            assertThat(r.json().get(0).get("Name").asText()).isEqualTo("acl-node");
            assertThat(filtered(r)).isFalse();
            Http.Reply m = mgmt.get("/v1/agent/members");
            assertThat(m.json().size()).isEqualTo(1);
            assertThat(filtered(m)).isFalse();
            assertThat(m.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
            assertThat(mgmt.get("/v1/agent/members?pretty").json()).isEqualTo(m.json());
        }
    }

    @Test
    void anonymousTokenWithDefaultDenyReadsAndWritesNothing() {
        Http.Reply kv = anon.get("/v1/kv/pub/a");
        assertThat(kv.status()).isEqualTo(403);
        assertThat(kv.body().strip()).isEqualTo("Permission denied: anonymous token lacks permission 'key:read' on \"pub/a\". "
                + "The anonymous token is used implicitly when a request does not specify a token.");
        assertThat(anon.put("/v1/kv/anon-wrote", "x").status()).isEqualTo(403);
        assertThat(mgmt.get("/v1/kv/anon-wrote").status()).isEqualTo(404);
        assertThat(anon.delete("/v1/kv/pub/a").status()).isEqualTo(403);
        assertThat(anon.delete("/v1/kv/?recurse").status()).isEqualTo(403);
        assertThat(mgmt.get("/v1/kv/pub/a?raw").body()).isEqualTo("v-pub/a");

        Http.Reply recurse = anon.get("/v1/kv/?recurse");
        assertThat(recurse.status()).isEqualTo(404);
        // A request without a token is not told that anything was left out (Consul's maskResultsFilteredByACLs).
        assertThat(filtered(recurse)).isFalse();
        assertThat(anon.get("/v1/kv/?keys").status()).isEqualTo(404);

        Http.Reply services = anon.get("/v1/catalog/services");
        assertThat(services.json().size()).isZero();
        assertThat(filtered(services)).isFalse();
        assertThat(filtered(anon.as(FOO).get("/v1/catalog/services"))).isTrue();
        assertThat(anon.get("/v1/catalog/nodes").json().size()).isZero();
        assertThat(anon.get("/v1/catalog/service/foo-db").json().size()).isZero();
        assertThat(anon.get("/v1/catalog/node/db1").body().strip()).isEqualTo("null");
        assertThat(anon.get("/v1/health/service/foo-db").json().size()).isZero();
        assertThat(anon.get("/v1/health/state/any").json().size()).isZero();
        assertThat(anon.get("/v1/health/node/db1").json().size()).isZero();
        assertThat(anon.get("/v1/session/list").json().size()).isZero();
        assertThat(anon.get("/v1/agent/members").json().size()).isZero();
        assertThat(anon.get("/v1/agent/services").json().size()).isZero();
        assertThat(anon.get("/v1/agent/self").status()).isEqualTo(403);
        assertThat(anon.get("/v1/agent/self").body()).contains("lacks permission 'agent:read' on \"acl-node\"");

        assertThat(anon.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"Service\":\"foo-db\"}}").status()).isEqualTo(403);
        assertThat(anon.put("/v1/catalog/deregister", "{\"Node\":\"db1\",\"ServiceID\":\"foo-db-1\"}").status()).isEqualTo(403);
        assertThat(anon.put("/v1/session/create", "{}").body()).contains("lacks permission 'session:write' on \"acl-node\"");
        assertThat(anon.put("/v1/event/fire/deploy", "x").body()).contains("lacks permission 'event:write' on \"deploy\"");
        assertThat(anon.put("/v1/agent/service/register", "{\"Name\":\"foo-db\"}").body()).contains("'service:write' on \"foo-db\"");
        assertThat(anon.put("/v1/agent/maintenance?enable=true", "").body()).contains("'node:write' on \"acl-node\"");
        assertThat(anon.put("/v1/agent/reload", "").body()).contains("'agent:write' on \"acl-node\"");
        assertThat(anon.put("/v1/agent/force-leave/db1", "").body()).contains("'operator:write'");
        assertThat(anon.get("/v1/operator/raft/configuration").body()).contains("'operator:read'");
        assertThat(anon.get("/v1/operator/keyring").body()).contains("'keyring:read'");
        assertThat(anon.get("/v1/snapshot").body()).contains("'acl:write'");
        assertThat(anon.get("/v1/status/leader").status()).isEqualTo(200);
        // Nothing of the refused writes happened.
        assertThat(mgmt.get("/v1/catalog/service/foo-db").json().size()).isEqualTo(2);
        assertThat(mgmt.get("/v1/agent/services").json().size()).isZero();
    }

    @Test
    void fooDbTokenMovesMasterFooDbAndNothingElse() {
        // The manager's move: master tag off db1's instance, onto db2's, re-posting each node as it is.
        ok(foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"replica\"],\"Port\":3306}}"));
        ok(foo.put("/v1/catalog/register", "{\"Node\":\"db2\",\"Address\":\"10.0.0.2\",\"Service\":{\"ID\":\"foo-db-2\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"master\"],\"Port\":3306}}"));
        JsonNode masters = mgmt.get("/v1/catalog/service/foo-db?tag=master").json();
        assertThat(masters.size()).isEqualTo(1);
        assertThat(masters.get(0).get("Node").asText()).isEqualTo("db2");
        ok(foo.put("/v1/catalog/deregister", "{\"Node\":\"db1\",\"ServiceID\":\"foo-db-1\"}"));
        ok(foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"foo-db-1\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"replica\"],\"Port\":3306}}"));

        Http.Reply other = foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"bar-db-1\",\"Service\":\"bar-db\","
                + "\"Tags\":[\"replica\"]}}");
        assertThat(other.status()).isEqualTo(403);
        assertThat(other.body().strip()).isEqualTo("Permission denied: token with AccessorID 'bbbbbbbb-0000-0000-0000-0000000foodb' "
                + "lacks permission 'service:write' on \"bar-db\"");
        // Taking over another service's ID is writing that service.
        assertThat(foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.0.0.1\",\"Service\":{\"ID\":\"bar-db-1\",\"Service\":\"foo-db\"}}")
                .body()).contains("'service:write' on \"bar-db\"");
        // A new node, or a changed node record, needs node:write.
        assertThat(foo.put("/v1/catalog/register", "{\"Node\":\"db9\",\"Address\":\"10.0.0.9\",\"Service\":{\"Service\":\"foo-db\"}}").body())
                .contains("'node:write' on \"db9\"");
        assertThat(foo.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"10.6.6.6\",\"Service\":{\"ID\":\"foo-db-1\",\"Service\":\"foo-db\"}}")
                .body()).contains("'node:write' on \"db1\"");
        assertThat(foo.put("/v1/catalog/deregister", "{\"Node\":\"db1\",\"ServiceID\":\"bar-db-1\"}").body()).contains("'service:write' on \"bar-db\"");
        assertThat(foo.put("/v1/catalog/deregister", "{\"Node\":\"db1\"}").body()).contains("'node:write' on \"db1\"");
        assertThat(foo.put("/v1/kv/failover/foo-db/epoch", "1").status()).isEqualTo(403);
        assertThat(foo.put("/v1/agent/service/register", "{\"Name\":\"bar-db\"}").status()).isEqualTo(403);
        // Nothing of bar-db or the nodes changed.
        assertThat(mgmt.get("/v1/catalog/service/bar-db").json().get(0).get("ServiceTags").get(0).asText()).isEqualTo("master");
        assertThat(mgmt.get("/v1/catalog/node/db1").json().get("Node").get("Address").asText()).isEqualTo("10.0.0.1");
        assertThat(mgmt.get("/v1/catalog/node/db9").body().strip()).isEqualTo("null");
        // It sees foo-db only (no service:read on the rest, no node:read at all).
        assertThat(foo.get("/v1/catalog/services").json().fieldNames()).toIterable().containsExactly("foo-db");
    }

    @Test
    void tokenIsTakenFromHeaderBearerOrQueryAndBadTokensAreRefused() {
        assertThat(anon.get("/v1/kv/pub/a?token=" + READER).status()).isEqualTo(200);
        assertThat(anon.with("Authorization", "Bearer " + READER).get("/v1/kv/pub/a").status()).isEqualTo(200);
        // Another scheme is not a token (a proxy's Basic auth): the request runs as anonymous.
        assertThat(anon.with("Authorization", "Basic dXNlcjpwdw==").get("/v1/kv/pub/a").body()).contains("anonymous token");
        assertThat(anon.with("Authorization", "Bearer").get("/v1/kv/pub/a").status()).isEqualTo(400);
        Http.Reply unknown = anon.as("no-such-token").get("/v1/kv/pub/a");
        assertThat(unknown.status()).isEqualTo(403);
        assertThat(unknown.body().strip()).isEqualTo("ACL not found");
        assertThat(anon.as("x".repeat(300)).get("/v1/kv/pub/a").status()).isEqualTo(400);
        assertThat(anon.get("/v1/kv/pub/a?token=a%00b").status()).isEqualTo(400);
        assertThat(anon.as("no-such-token").put("/v1/kv/pub/a", "changed").status()).isEqualTo(403);
        assertThat(mgmt.get("/v1/kv/pub/a?raw").body()).isEqualTo("v-pub/a");
    }

    @Test
    void kvListsShowOnlyReadableKeys() {
        Http.Reply all = reader.get("/v1/kv/?recurse");
        assertThat(all.json().findValuesAsText("Key")).containsExactly("pub/a");
        assertThat(filtered(all)).isTrue();
        Http.Reply keys = reader.get("/v1/kv/?keys&separator=/");
        assertThat(keys.json().toString()).isEqualTo("[\"pub/\"]");
        assertThat(reader.get("/v1/kv/pub/secret").status()).isEqualTo(403);
        Http.Reply pub = reader.get("/v1/kv/pub/a?recurse");
        assertThat(pub.json().size()).isEqualTo(1);
        assertThat(filtered(pub)).isFalse();
    }

    @Test
    void transactionIsRefusedWholeWhenOneOperationIsDenied() {
        String txn = "[{\"KV\":{\"Verb\":\"get\",\"Key\":\"pub/a\"}},{\"KV\":{\"Verb\":\"set\",\"Key\":\"pub/a\",\"Value\":\"Y2hhbmdlZA==\"}}]";
        Http.Reply r = reader.put("/v1/txn", txn);
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.json().get("Errors").size()).isEqualTo(1);
        assertThat(r.json().get("Errors").get(0).get("OpIndex").asInt()).isEqualTo(1);
        assertThat(r.json().get("Errors").get(0).get("What").asText()).contains("lacks permission 'key:write' on \"pub/a\"");
        assertThat(mgmt.get("/v1/kv/pub/a?raw").body()).isEqualTo("v-pub/a");
        // A read-only transaction returns only what the token may read.
        Http.Reply tree = reader.put("/v1/txn", "[{\"KV\":{\"Verb\":\"get-tree\",\"Key\":\"pub/\"}}]");
        assertThat(tree.status()).isEqualTo(200);
        assertThat(tree.json().get("Results").findValuesAsText("Key")).containsExactly("pub/a");
        assertThat(filtered(tree)).isTrue();
    }

    @Test
    void blockingQueryIsFilteredOnEveryWake() throws Exception {
        Http.Reply first = anon.get("/v1/health/service/baz-db");
        long index = first.index();
        CompletableFuture<Http.Reply> waiting = CompletableFuture.supplyAsync(
                () -> anon.get("/v1/health/service/baz-db?index=" + index + "&wait=30s", Duration.ofSeconds(60)));
        await().atMost(Duration.ofSeconds(20)).until(() -> dev.agent.parkedWatchers() > 0);
        ok(mgmt.put("/v1/catalog/register", "{\"Node\":\"db2\",\"Address\":\"10.0.0.2\",\"Service\":{\"ID\":\"baz-db-1\",\"Service\":\"baz-db\"}}"));
        Http.Reply woke = waiting.get(30, TimeUnit.SECONDS);
        assertThat(woke.index()).isGreaterThan(index);
        assertThat(woke.json().size()).isZero();
        assertThat(filtered(woke)).isFalse();
        assertThat(reader.get("/v1/health/service/baz-db").json().size()).isEqualTo(1);
    }

    @Test
    void dnsAnswersWithTheDefaultTokensView() throws Exception {
        assertThat(dns("foo-db.service.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(dns("db1.node.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
        acl.defaultToken(READER);
        try {
            Message m = dns("foo-db.service.consul.");
            assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(m.getSection(Section.ANSWER)).isNotEmpty();
            assertThat(dns("db1.node.consul.").getSection(Section.ANSWER)).isNotEmpty();
            // Requests without a token run as the default token too.
            assertThat(anon.get("/v1/kv/pub/a").status()).isEqualTo(200);
        } finally {
            acl.defaultToken(null);
        }
        assertThat(dns("foo-db.service.consul.").getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    private Message dns(String name) throws Exception {
        SimpleResolver r = new SimpleResolver("127.0.0.1");
        r.setPort(dev.dnsPort);
        r.setTimeout(Duration.ofSeconds(5));
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)));
    }

    @Test
    void auditLogHasEveryWriteWithItsAccessorNeverItsSecret() throws Exception {
        ok(foo.put("/v1/catalog/register", "{\"Node\":\"db2\",\"Address\":\"10.0.0.2\",\"Service\":{\"ID\":\"foo-db-2\",\"Service\":\"foo-db\","
                + "\"Tags\":[\"master\"],\"Port\":3306}}"));
        assertThat(foo.put("/v1/kv/audit/denied", "x").status()).isEqualTo(403);
        assertThat(anon.as("unknown-secret-zzz").put("/v1/kv/audit/unknown", "x").status()).isEqualTo(403);
        reader.get("/v1/kv/pub/a");
        await().atMost(Duration.ofSeconds(20)).until(() -> lines().stream().anyMatch(l -> l.contains("/v1/kv/audit/unknown")));
        List<JsonNode> entries = lines().stream().map(AclEnforcementTest::json).toList();
        assertThat(entries).anySatisfy(e -> {
            assertThat(e.path("accessor_id").asText()).isEqualTo("bbbbbbbb-0000-0000-0000-0000000foodb");
            assertThat(e.path("method").asText()).isEqualTo("PUT");
            assertThat(e.path("path").asText()).isEqualTo("/v1/catalog/register");
            assertThat(e.path("service").asText()).isEqualTo("foo-db");
            assertThat(e.path("status").asInt()).isEqualTo(200);
            assertThat(e.path("source").asText()).startsWith("127.0.0.1:");
            assertThat(e.path("time").asText()).isNotEmpty();
        });
        assertThat(entries).anySatisfy(e -> {
            assertThat(e.path("key").asText()).isEqualTo("audit/denied");
            assertThat(e.path("status").asInt()).isEqualTo(403);
        });
        assertThat(entries).anySatisfy(e -> {
            assertThat(e.path("path").asText()).isEqualTo("/v1/kv/audit/unknown");
            assertThat(e.path("accessor_id").isNull()).isTrue();
            assertThat(e.path("status").asInt()).isEqualTo(403);
        });
        // Reads are not audited; no secret is ever written.
        assertThat(entries).noneSatisfy(e -> assertThat(e.path("method").asText()).isEqualTo("GET"));
        String text = Files.readString(auditFile);
        for (String secret : List.of(MGMT, FOO, READER, "unknown-secret-zzz")) assertThat(text).doesNotContain(secret);

        // Rotation: the file is moved away, the agent reloaded, and the next write starts a new file.
        Path rotated = auditFile.resolveSibling("audit.log.1");
        Files.move(auditFile, rotated);
        ok(mgmt.put("/v1/agent/reload", ""));
        ok(mgmt.put("/v1/kv/audit/after-rotation", "x"));
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(auditFile) && Files.readString(auditFile).contains("/v1/kv/audit/after-rotation"));
        assertThat(Files.readString(rotated)).doesNotContain("after-rotation");
    }

    private static List<String> lines() throws java.io.IOException {
        return Files.exists(auditFile) ? Files.readAllLines(auditFile) : List.of();
    }

    private static JsonNode json(String line) {
        try {
            return io.failoverkit.discovery.state.Json.MAPPER.readTree(line);
        } catch (java.io.IOException e) {
            throw new AssertionError("audit line is not JSON: " + line, e);
        }
    }
}
