package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.Http.Reply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP API's contract as a client sees it on the wire: Consul's JSON field names and status codes, the
 * consistency headers, blocking-query semantics, and our rules for bad input (a 4xx with a message, nothing changed).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ApiContractTest {
    private static final String NODE = "contract-node";

    private static DevAgent agent;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start(NODE);
        http = agent.http;
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    private static List<String> fieldNames(JsonNode obj) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) out.add(it.next());
        return out;
    }

    private static void assertConsistencyHeaders(Reply r) {
        assertThat(r.headers().firstValue("X-Consul-Index")).as("X-Consul-Index").isPresent();
        assertThat(r.index()).isPositive();
        assertThat(r.headers().firstValue("X-Consul-KnownLeader")).as("X-Consul-KnownLeader").hasValue("true");
        assertThat(r.headers().firstValue("X-Consul-LastContact")).as("X-Consul-LastContact").isPresent();
        assertThat(Long.parseLong(r.headers().firstValue("X-Consul-LastContact").orElseThrow())).isGreaterThanOrEqualTo(0);
    }

    private static void put(String path, String body) {
        Reply r = http.put(path, body);
        assertThat(r.status()).as("PUT %s: %s", path, r.body()).isEqualTo(200);
    }

    // ------------------------------------------------------------------ routing

    @Test
    void unknownEndpointsAre404() {
        assertThat(http.get("/v1/nope").status()).isEqualTo(404);
        assertThat(http.get("/v1/nope").body()).contains("/v1/nope");
        assertThat(http.get("/v2/kv/x").status()).isEqualTo(404);
        assertThat(http.get("/v1/catalog/nope").status()).isEqualTo(404);
        assertThat(http.get("/v1/health/nope").status()).isEqualTo(404);
        assertThat(http.get("/v1/session/nope").status()).isEqualTo(404);
        assertThat(http.get("/v1/status/nope").status()).isEqualTo(404);
        assertThat(http.get("/v1/agent/nope").status()).isEqualTo(404);
    }

    // ------------------------------------------------------------------ catalog: bad input

    @Test
    void catalogRegisterRefusesBadBodiesWith400AndAMessage() {
        Reply malformed = http.put("/v1/catalog/register", "{\"Node\": \"n1\", \"Address\": ");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.body()).containsIgnoringCase("JSON");

        Reply empty = http.put("/v1/catalog/register", "");
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.body()).isNotBlank();

        Reply array = http.put("/v1/catalog/register", "[1, 2]");
        assertThat(array.status()).isEqualTo(400);
        assertThat(array.body()).contains("object");

        Reply portType = http.put("/v1/catalog/register",
                "{\"Node\": \"bad-1\", \"Address\": \"10.1.0.1\", \"Service\": {\"Service\": \"svc\", \"Port\": \"abc\"}}");
        assertThat(portType.status()).isEqualTo(400);
        assertThat(portType.body()).contains("Port");

        Reply tagsType = http.put("/v1/catalog/register",
                "{\"Node\": \"bad-1\", \"Address\": \"10.1.0.1\", \"Service\": {\"Service\": \"svc\", \"Tags\": \"x\"}}");
        assertThat(tagsType.status()).isEqualTo(400);
        assertThat(tagsType.body()).contains("Tags");

        Reply nodeType = http.put("/v1/catalog/register", "{\"Node\": 5, \"Address\": \"10.1.0.1\"}");
        assertThat(nodeType.status()).isEqualTo(400);
        assertThat(nodeType.body()).contains("Node");

        Reply noNode = http.put("/v1/catalog/register", "{\"Address\": \"10.1.0.1\"}");
        assertThat(noNode.status()).isEqualTo(400);
        assertThat(noNode.body()).contains("Node");

        Reply noAddress = http.put("/v1/catalog/register", "{\"Node\": \"bad-1\"}");
        assertThat(noAddress.status()).isEqualTo(400);
        assertThat(noAddress.body()).contains("Address");

        Reply badStatus = http.put("/v1/catalog/register",
                "{\"Node\": \"bad-1\", \"Address\": \"10.1.0.1\", \"Check\": {\"CheckID\": \"c\", \"Status\": \"fine\"}}");
        assertThat(badStatus.status()).isEqualTo(400);
        assertThat(badStatus.body()).contains("fine");

        // A check naming a service the node does not have: refused as a whole, neither node nor service is kept.
        Reply ghost = http.put("/v1/catalog/register", """
                {"Node": "bad-1", "Address": "10.1.0.1", "Service": {"Service": "svc", "Port": 80},
                 "Check": {"CheckID": "c", "ServiceID": "ghost", "Status": "passing"}}
                """);
        assertThat(ghost.status()).isEqualTo(400);
        assertThat(ghost.body()).contains("ghost");

        Reply wrongMethod = http.get("/v1/catalog/register");
        assertThat(wrongMethod.status()).isEqualTo(405);

        // None of the refused registrations left anything behind.
        Reply node = http.get("/v1/catalog/node/bad-1");
        assertThat(node.status()).isEqualTo(200);
        assertThat(node.json().isNull()).as("node bad-1 must not exist: %s", node.body()).isTrue();
        assertThat(http.get("/v1/catalog/services").json().has("svc")).isFalse();
    }

    // ------------------------------------------------------------------ catalog and health: shapes

    @Test
    void catalogAndHealthSpeakConsulsFieldNames() {
        put("/v1/catalog/register", """
                {"Node": "shape-1", "Address": "10.2.0.1", "NodeMeta": {"rack": "r1"},
                 "Service": {"ID": "db-1", "Service": "db", "Tags": ["primary"], "Port": 5432, "Meta": {"v": "16"}},
                 "Checks": [{"CheckID": "db-alive", "Name": "db alive", "ServiceID": "db-1", "Status": "critical", "Output": "down"}]}
                """);

        Reply services = http.get("/v1/catalog/services");
        assertThat(services.status()).isEqualTo(200);
        assertConsistencyHeaders(services);
        assertThat(services.json().get("db")).isNotNull();
        assertThat(services.json().get("db").get(0).asText()).isEqualTo("primary");

        Reply svc = http.get("/v1/catalog/service/db");
        assertThat(svc.status()).isEqualTo(200);
        assertConsistencyHeaders(svc);
        JsonNode entry = svc.json().get(0);
        assertThat(fieldNames(entry)).contains("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta",
                "ServiceID", "ServiceName", "ServiceTags", "ServiceAddress", "ServicePort", "ServiceMeta",
                "ServiceEnableTagOverride", "CreateIndex", "ModifyIndex");
        assertThat(entry.get("Node").asText()).isEqualTo("shape-1");
        assertThat(entry.get("Address").asText()).isEqualTo("10.2.0.1");
        assertThat(entry.get("NodeMeta").get("rack").asText()).isEqualTo("r1");
        assertThat(entry.get("ServiceID").asText()).isEqualTo("db-1");
        assertThat(entry.get("ServicePort").asInt()).isEqualTo(5432);
        assertThat(entry.get("ServiceMeta").get("v").asText()).isEqualTo("16");

        Reply node = http.get("/v1/catalog/node/shape-1");
        assertThat(node.status()).isEqualTo(200);
        assertConsistencyHeaders(node);
        assertThat(fieldNames(node.json())).containsExactlyInAnyOrder("Node", "Services");
        assertThat(fieldNames(node.json().get("Node"))).contains("ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex");
        assertThat(node.json().get("Node").get("Address").asText()).isEqualTo("10.2.0.1");
        JsonNode db = node.json().get("Services").get("db-1");
        assertThat(fieldNames(db)).contains("ID", "Service", "Tags", "Address", "Meta", "Port", "EnableTagOverride", "CreateIndex", "ModifyIndex");
        assertThat(db.get("Service").asText()).isEqualTo("db");

        Reply self = http.get("/v1/catalog/node/" + NODE);
        assertThat(self.json().get("Node").get("Node").asText()).isEqualTo(NODE);

        Reply nodes = http.get("/v1/catalog/nodes");
        assertThat(nodes.status()).isEqualTo(200);
        List<String> names = new ArrayList<>();
        nodes.json().forEach(n -> names.add(n.get("Node").asText()));
        assertThat(names).contains(NODE, "shape-1");

        Reply health = http.get("/v1/health/service/db");
        assertThat(health.status()).isEqualTo(200);
        assertConsistencyHeaders(health);
        JsonNode h = health.json().get(0);
        assertThat(fieldNames(h)).containsExactly("Node", "Service", "Checks");
        assertThat(h.get("Node").get("Node").asText()).isEqualTo("shape-1");
        assertThat(h.get("Service").get("ID").asText()).isEqualTo("db-1");
        JsonNode check = h.get("Checks").get(0);
        assertThat(fieldNames(check)).contains("Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName",
                "ServiceTags", "CreateIndex", "ModifyIndex");
        assertThat(check.get("Status").asText()).isEqualTo("critical");
        assertThat(check.get("ServiceName").asText()).isEqualTo("db");
        assertThat(check.get("Output").asText()).isEqualTo("down");

        // ?passing drops the instance with a critical check.
        assertThat(http.get("/v1/health/service/db?passing").json()).isEmpty();
        assertThat(http.get("/v1/health/service/db?passing=true").json()).isEmpty();
        assertThat(http.get("/v1/health/service/db?passing=false").json()).hasSize(1);

        Reply critical = http.get("/v1/health/state/critical");
        assertThat(critical.status()).isEqualTo(200);
        assertConsistencyHeaders(critical);
        List<String> criticalIds = new ArrayList<>();
        critical.json().forEach(c -> criticalIds.add(c.get("CheckID").asText()));
        assertThat(criticalIds).contains("db-alive");
        critical.json().forEach(c -> assertThat(c.get("Status").asText()).isEqualTo("critical"));

        Reply passing = http.get("/v1/health/state/passing");
        List<String> passingIds = new ArrayList<>();
        passing.json().forEach(c -> passingIds.add(c.get("CheckID").asText()));
        assertThat(passingIds).contains("serfHealth").doesNotContain("db-alive");
        assertThat(http.get("/v1/health/state/any").json().size()).isGreaterThanOrEqualTo(2);

        Reply bogus = http.get("/v1/health/state/bogus");
        assertThat(bogus.status()).isEqualTo(400);
        assertThat(bogus.body()).contains("bogus");

        Reply nodeChecks = http.get("/v1/health/node/shape-1");
        assertThat(nodeChecks.status()).isEqualTo(200);
        assertThat(nodeChecks.json()).hasSize(1);
        assertThat(http.get("/v1/health/checks/db").json().get(0).get("CheckID").asText()).isEqualTo("db-alive");

        put("/v1/catalog/deregister", "{\"Node\": \"shape-1\"}");
        assertThat(http.get("/v1/catalog/service/db").json()).isEmpty();
        assertThat(http.get("/v1/health/state/critical").body()).doesNotContain("db-alive");
    }

    // ------------------------------------------------------------------ KV

    @Test
    void kvReadShapesAndHeaders() {
        Reply created = http.put("/v1/kv/contract/kv/one?flags=9", "hello");
        assertThat(created.status()).isEqualTo(200);
        assertThat(created.body().strip()).isEqualTo("true");

        Reply r = http.get("/v1/kv/contract/kv/one");
        assertThat(r.status()).isEqualTo(200);
        assertConsistencyHeaders(r);
        JsonNode e = r.json().get(0);
        assertThat(fieldNames(e)).containsExactlyInAnyOrder("LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex");
        assertThat(e.get("Key").asText()).isEqualTo("contract/kv/one");
        assertThat(e.get("Flags").asLong()).isEqualTo(9);
        assertThat(new String(Base64.getDecoder().decode(e.get("Value").asText()), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(e.get("LockIndex").asLong()).isZero();
        assertThat(r.index()).isEqualTo(e.get("ModifyIndex").asLong());

        Reply raw = http.get("/v1/kv/contract/kv/one?raw");
        assertThat(raw.status()).isEqualTo(200);
        assertThat(raw.body()).isEqualTo("hello");

        // An empty value is stored as a key with no bytes.
        put("/v1/kv/contract/kv/empty", "");
        Reply empty = http.get("/v1/kv/contract/kv/empty");
        assertThat(empty.status()).isEqualTo(200);
        JsonNode ev = empty.json().get(0).get("Value");
        assertThat(ev == null || ev.isNull() || ev.asText().isEmpty()).as("Value of an empty key: %s", ev).isTrue();
        assertThat(http.get("/v1/kv/contract/kv/empty?raw").body()).isEmpty();

        Reply missing = http.get("/v1/kv/contract/kv/missing");
        assertThat(missing.status()).isEqualTo(404);
        assertConsistencyHeaders(missing);
        assertThat(http.get("/v1/kv/contract/kv/missing?raw").status()).isEqualTo(404);
    }

    @Test
    void kvListingsRecurseAndKeysWithSeparator() {
        put("/v1/kv/contract/ls/tree/a", "A");
        put("/v1/kv/contract/ls/tree/b/c", "C");
        put("/v1/kv/contract/ls/tree/b/d", "D");
        put("/v1/kv/contract/ls/tree/e/f/g", "G");
        put("/v1/kv/contract/ls/treetop", "outside the tree/ prefix");

        Reply rec = http.get("/v1/kv/contract/ls/tree/?recurse");
        assertThat(rec.status()).isEqualTo(200);
        assertConsistencyHeaders(rec);
        List<String> keys = new ArrayList<>();
        rec.json().forEach(n -> keys.add(n.get("Key").asText()));
        assertThat(keys).containsExactly("contract/ls/tree/a", "contract/ls/tree/b/c", "contract/ls/tree/b/d", "contract/ls/tree/e/f/g");

        Reply all = http.get("/v1/kv/contract/ls/tree/?keys");
        assertThat(all.status()).isEqualTo(200);
        assertConsistencyHeaders(all);
        assertThat(strings(all.json())).containsExactly("contract/ls/tree/a", "contract/ls/tree/b/c", "contract/ls/tree/b/d", "contract/ls/tree/e/f/g");

        Reply folded = http.get("/v1/kv/contract/ls/tree/?keys&separator=/");
        assertThat(folded.status()).isEqualTo(200);
        assertThat(strings(folded.json())).containsExactly("contract/ls/tree/a", "contract/ls/tree/b/", "contract/ls/tree/e/");

        Reply top = http.get("/v1/kv/contract/ls/?keys&separator=/");
        assertThat(strings(top.json())).containsExactly("contract/ls/tree/", "contract/ls/treetop");

        assertThat(http.get("/v1/kv/contract/no-such-prefix/?recurse").status()).isEqualTo(404);
        assertThat(http.get("/v1/kv/contract/no-such-prefix/?keys").status()).isEqualTo(404);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void kvDeleteRecurseAndCas() {
        put("/v1/kv/contract/del/x/1", "1");
        put("/v1/kv/contract/del/x/2", "2");
        put("/v1/kv/contract/del/xy", "sibling, not under x/");

        Reply rec = http.delete("/v1/kv/contract/del/x/?recurse");
        assertThat(rec.status()).isEqualTo(200);
        assertThat(rec.body().strip()).isEqualTo("true");
        assertThat(http.get("/v1/kv/contract/del/x/?recurse").status()).isEqualTo(404);
        assertThat(http.get("/v1/kv/contract/del/xy").status()).isEqualTo(200);

        long index = http.get("/v1/kv/contract/del/xy").json().get(0).get("ModifyIndex").asLong();
        Reply stale = http.delete("/v1/kv/contract/del/xy?cas=" + (index - 1));
        assertThat(stale.status()).isEqualTo(200);
        assertThat(stale.body().strip()).isEqualTo("false");
        assertThat(http.get("/v1/kv/contract/del/xy").status()).isEqualTo(200);

        Reply ok = http.delete("/v1/kv/contract/del/xy?cas=" + index);
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.body().strip()).isEqualTo("true");
        assertThat(http.get("/v1/kv/contract/del/xy").status()).isEqualTo(404);

        // As Consul: a cas delete of a key that is already gone has nothing left to do, and succeeds.
        Reply gone = http.delete("/v1/kv/contract/del/xy?cas=" + index);
        assertThat(gone.status()).isEqualTo(200);
        assertThat(gone.body().strip()).isEqualTo("true");

        assertThat(http.delete("/v1/kv/contract/del/xy?cas=abc").status()).isEqualTo(400);
        assertThat(http.delete("/v1/kv/contract/del/?recurse&cas=1").status()).isEqualTo(400);

        // A plain delete of a missing key is fine too.
        Reply plain = http.delete("/v1/kv/contract/del/never-was");
        assertThat(plain.status()).isEqualTo(200);
        assertThat(plain.body().strip()).isEqualTo("true");
    }

    @Test
    void kvCasRules() {
        Reply bad = http.put("/v1/kv/contract/cas/k?cas=abc", "v");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("cas");
        assertThat(http.get("/v1/kv/contract/cas/k").status()).isEqualTo(404);

        assertThat(http.put("/v1/kv/contract/cas/k?cas=-1", "v").status()).isEqualTo(400);

        // cas on a missing key: 200 false, as Consul, and nothing is created.
        Reply onMissing = http.put("/v1/kv/contract/cas/k?cas=999", "v");
        assertThat(onMissing.status()).isEqualTo(200);
        assertThat(onMissing.body().strip()).isEqualTo("false");
        assertThat(http.get("/v1/kv/contract/cas/k").status()).isEqualTo(404);

        Reply create = http.put("/v1/kv/contract/cas/k?cas=0", "v1");
        assertThat(create.body().strip()).isEqualTo("true");
        long index = http.get("/v1/kv/contract/cas/k").index();
        assertThat(http.put("/v1/kv/contract/cas/k?cas=0", "v2").body().strip()).isEqualTo("false");
        assertThat(http.put("/v1/kv/contract/cas/k?cas=" + (index + 1000), "v2").body().strip()).isEqualTo("false");
        assertThat(http.put("/v1/kv/contract/cas/k?cas=" + index, "v2").body().strip()).isEqualTo("true");
        assertThat(http.get("/v1/kv/contract/cas/k?raw").body()).isEqualTo("v2");

        assertThat(http.put("/v1/kv/contract/cas/k?flags=x", "v3").status()).isEqualTo(400);
        assertThat(http.get("/v1/kv/contract/cas/k?raw").body()).isEqualTo("v2");
    }

    @Test
    void kvValueSizeLimit() {
        byte[] atLimit = new byte[512 * 1024];
        Arrays.fill(atLimit, (byte) 'a');
        Reply ok = http.put("/v1/kv/contract/size/at-limit", atLimit);
        assertThat(ok.status()).isEqualTo(200);
        assertThat(http.get("/v1/kv/contract/size/at-limit?raw").body()).hasSize(512 * 1024);

        byte[] over = new byte[512 * 1024 + 1];
        Arrays.fill(over, (byte) 'b');
        Reply tooBig = http.put("/v1/kv/contract/size/over", over);
        assertThat(tooBig.status()).isEqualTo(413);
        assertThat(tooBig.body()).isNotBlank();
        assertThat(http.get("/v1/kv/contract/size/over").status()).isEqualTo(404);

        // Over the limit on an existing key: refused, old value kept.
        Reply overwrite = http.put("/v1/kv/contract/size/at-limit", over);
        assertThat(overwrite.status()).isEqualTo(413);
        assertThat(http.get("/v1/kv/contract/size/at-limit?raw").body()).hasSize(512 * 1024).doesNotContain("b");
    }

    @Test
    void kvLockInputRules() {
        put("/v1/kv/contract/lock/k", "orig");
        String bogus = "3f1b3a84-0000-4000-8000-00000000dead";

        Reply noSession = http.put("/v1/kv/contract/lock/k?acquire=" + bogus, "stolen");
        assertThat(noSession.status()).isEqualTo(400);
        assertThat(noSession.body()).contains(bogus);
        JsonNode e = http.get("/v1/kv/contract/lock/k").json().get(0);
        assertThat(new String(Base64.getDecoder().decode(e.get("Value").asText()), StandardCharsets.UTF_8)).isEqualTo("orig");
        assertThat(e.has("Session")).isFalse();
        assertThat(e.get("LockIndex").asLong()).isZero();

        Reply onNewKey = http.put("/v1/kv/contract/lock/fresh?acquire=" + bogus, "x");
        assertThat(onNewKey.status()).isEqualTo(400);
        assertThat(http.get("/v1/kv/contract/lock/fresh").status()).isEqualTo(404);

        String session = http.put("/v1/session/create", "{\"LockDelay\": \"0s\", \"Name\": \"contract-lock\"}").json().get("ID").asText();
        try {
            Reply both = http.put("/v1/kv/contract/lock/k?acquire=" + session + "&release=" + session, "both");
            assertThat(both.status()).isEqualTo(400);
            assertThat(both.body()).contains("acquire").contains("release");
            assertThat(http.get("/v1/kv/contract/lock/k?raw").body()).isEqualTo("orig");

            assertThat(http.put("/v1/kv/contract/lock/k?acquire=", "x").status()).isEqualTo(400);

            Reply acquired = http.put("/v1/kv/contract/lock/k?acquire=" + session, "mine");
            assertThat(acquired.status()).isEqualTo(200);
            assertThat(acquired.body().strip()).isEqualTo("true");
            JsonNode held = http.get("/v1/kv/contract/lock/k").json().get(0);
            assertThat(held.get("Session").asText()).isEqualTo(session);
            assertThat(held.get("LockIndex").asLong()).isEqualTo(1);

            Reply releaseByOther = http.put("/v1/kv/contract/lock/k?release=" + bogus, "x");
            assertThat(releaseByOther.status()).isEqualTo(200);
            assertThat(releaseByOther.body().strip()).isEqualTo("false");
            assertThat(http.get("/v1/kv/contract/lock/k").json().get(0).get("Session").asText()).isEqualTo(session);
        } finally {
            http.put("/v1/session/destroy/" + session, "");
        }
    }

    // ------------------------------------------------------------------ blocking queries

    @Test
    void blockingKvQueryReturnsAtTheWaitTimeWithTheSameIndex() {
        put("/v1/kv/contract/block/quiet", "v");
        long index = http.get("/v1/kv/contract/block/quiet").index();

        long t0 = System.nanoTime();
        Reply r = http.get("/v1/kv/contract/block/quiet?index=" + index + "&wait=2s", Duration.ofSeconds(10));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.index()).isEqualTo(index);
        assertConsistencyHeaders(r);
        assertThat(ms).isBetween(1_900L, 5_000L);
    }

    @Test
    void blockingKvQueryReturnsEarlyWhenTheKeyChanges() throws Exception {
        put("/v1/kv/contract/block/busy", "v1");
        long index = http.get("/v1/kv/contract/block/busy").index();

        CompletableFuture<Reply> writer = CompletableFuture.supplyAsync(() -> {
            sleep(300);
            return http.put("/v1/kv/contract/block/busy", "v2");
        });
        long t0 = System.nanoTime();
        Reply r = http.get("/v1/kv/contract/block/busy?index=" + index + "&wait=30s", Duration.ofSeconds(40));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(writer.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.index()).isGreaterThan(index);
        assertThat(new String(Base64.getDecoder().decode(r.json().get(0).get("Value").asText()), StandardCharsets.UTF_8)).isEqualTo("v2");
        assertThat(ms).as("woken by the write, well before the 30 s wait").isLessThan(10_000);
    }

    @Test
    void blockingKvQueryIsWokenByADeleteWith404() throws Exception {
        put("/v1/kv/contract/block/doomed", "v");
        long index = http.get("/v1/kv/contract/block/doomed").index();

        CompletableFuture<Reply> deleter = CompletableFuture.supplyAsync(() -> {
            sleep(300);
            return http.delete("/v1/kv/contract/block/doomed");
        });
        long t0 = System.nanoTime();
        Reply r = http.get("/v1/kv/contract/block/doomed?index=" + index + "&wait=30s", Duration.ofSeconds(40));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(deleter.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.index()).isGreaterThan(index);
        assertThat(ms).isLessThan(10_000);
    }

    @Test
    void blockingKvQueryIsNotWokenByOtherKeys() throws Exception {
        put("/v1/kv/contract/block/a", "a");
        long index = http.get("/v1/kv/contract/block/a").index();

        // During the wait: an unrelated key, a key that merely starts with A's name, and a key below it.
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            sleep(300);
            assertThat(http.put("/v1/kv/contract/block/b", "b").status()).isEqualTo(200);
            sleep(200);
            assertThat(http.put("/v1/kv/contract/block/a-sibling", "s").status()).isEqualTo(200);
            sleep(200);
            assertThat(http.put("/v1/kv/contract/block/a/child", "c").status()).isEqualTo(200);
        });
        long t0 = System.nanoTime();
        Reply r = http.get("/v1/kv/contract/block/a?index=" + index + "&wait=2s", Duration.ofSeconds(10));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        writer.get(10, TimeUnit.SECONDS);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.index()).as("A did not change").isEqualTo(index);
        assertThat(ms).as("returned at its wait time, not at a write to another key").isBetween(1_900L, 5_000L);
        assertThat(http.get("/v1/kv/contract/block/b").index()).isGreaterThan(index);
    }

    @Test
    void blockingHealthQueryIsWokenByACheckStatusChange() throws Exception {
        String reg = """
                {"Node": "watch-1", "Address": "10.4.0.1", "Service": {"ID": "q-1", "Service": "queue", "Port": 5672},
                 "Check": {"CheckID": "q-alive", "ServiceID": "q-1", "Status": "%s"}}
                """;
        put("/v1/catalog/register", reg.formatted("passing"));
        try {
            Reply before = http.get("/v1/health/service/queue?passing");
            assertThat(before.json()).hasSize(1);
            long index = before.index();

            CompletableFuture<Reply> flip = CompletableFuture.supplyAsync(() -> {
                sleep(300);
                return http.put("/v1/catalog/register", reg.formatted("critical"));
            });
            long t0 = System.nanoTime();
            Reply r = http.get("/v1/health/service/queue?passing&index=" + index + "&wait=30s", Duration.ofSeconds(40));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

            assertThat(flip.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.index()).isGreaterThan(index);
            assertThat(r.json()).as("the instance is no longer passing").isEmpty();
            assertThat(ms).isLessThan(10_000);

            // And the catalog's service list blocks until a new service appears.
            Reply services = http.get("/v1/catalog/services");
            long sIndex = services.index();
            CompletableFuture<Reply> add = CompletableFuture.supplyAsync(() -> {
                sleep(300);
                return http.put("/v1/catalog/register",
                        "{\"Node\": \"watch-1\", \"Address\": \"10.4.0.1\", \"Service\": {\"ID\": \"m-1\", \"Service\": \"metrics\"}}");
            });
            Reply woken = http.get("/v1/catalog/services?index=" + sIndex + "&wait=30s", Duration.ofSeconds(40));
            assertThat(add.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
            assertThat(woken.index()).isGreaterThan(sIndex);
            assertThat(woken.json().has("metrics")).isTrue();
        } finally {
            http.put("/v1/catalog/deregister", "{\"Node\": \"watch-1\"}");
        }
    }

    @Test
    void blockingQueryParameterErrors() {
        put("/v1/kv/contract/block/params", "v");
        assertThat(http.get("/v1/kv/contract/block/params?index=abc").status()).isEqualTo(400);
        assertThat(http.get("/v1/kv/contract/block/params?index=-5").status()).isEqualTo(400);
        assertThat(http.get("/v1/kv/contract/block/params?index=1&wait=soon").status()).isEqualTo(400);
        assertThat(http.get("/v1/kv/contract/block/params?stale&consistent").status()).isEqualTo(400);
        // An index the client has not seen yet is answered at once.
        Reply r = http.get("/v1/kv/contract/block/params?index=1&wait=30s", Duration.ofSeconds(5));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.index()).isGreaterThan(1);
    }

    // ------------------------------------------------------------------ sessions

    @Test
    void sessionCreateRulesAndShape() {
        Reply shortTtl = http.put("/v1/session/create", "{\"TTL\": \"1s\"}");
        assertThat(shortTtl.status()).isEqualTo(400);
        assertThat(shortTtl.body()).contains("TTL");

        Reply longTtl = http.put("/v1/session/create", "{\"TTL\": \"25h\"}");
        assertThat(longTtl.status()).isEqualTo(400);

        Reply badTtl = http.put("/v1/session/create", "{\"TTL\": \"soon\"}");
        assertThat(badTtl.status()).isEqualTo(400);

        Reply behavior = http.put("/v1/session/create", "{\"Behavior\": \"bogus\"}");
        assertThat(behavior.status()).isEqualTo(400);
        assertThat(behavior.body()).contains("Behavior");

        Reply malformed = http.put("/v1/session/create", "{\"TTL\": ");
        assertThat(malformed.status()).isEqualTo(400);

        Reply unknownNode = http.put("/v1/session/create", "{\"Node\": \"no-such-node\"}");
        assertThat(unknownNode.status()).isEqualTo(400);
        assertThat(unknownNode.body()).contains("no-such-node");

        assertThat(http.get("/v1/session/list").json()).noneSatisfy(s -> assertThat(s.get("Node").asText()).isEqualTo("no-such-node"));

        // An empty body is a session with defaults.
        Reply created = http.put("/v1/session/create", "");
        assertThat(created.status()).isEqualTo(200);
        assertThat(fieldNames(created.json())).containsExactly("ID");
        String id = created.json().get("ID").asText();

        Reply info = http.get("/v1/session/info/" + id);
        assertThat(info.status()).isEqualTo(200);
        assertConsistencyHeaders(info);
        JsonNode s = info.json().get(0);
        assertThat(fieldNames(s)).contains("ID", "Name", "Node", "Checks", "LockDelay", "Behavior", "TTL", "CreateIndex", "ModifyIndex");
        assertThat(s.get("Node").asText()).isEqualTo(NODE);
        assertThat(s.get("Behavior").asText()).isEqualTo("release");
        assertThat(s.get("LockDelay").asLong()).as("15 s, in nanoseconds").isEqualTo(15_000_000_000L);
        assertThat(strings(s.get("Checks"))).containsExactly("serfHealth");

        Reply withTtl = http.put("/v1/session/create", "{\"TTL\": \"10s\", \"Behavior\": \"delete\", \"LockDelay\": \"0s\"}");
        assertThat(withTtl.status()).isEqualTo(200);
        String ttlId = withTtl.json().get("ID").asText();
        JsonNode t = http.get("/v1/session/info/" + ttlId).json().get(0);
        assertThat(t.get("TTL").asText()).isEqualTo("10s");
        assertThat(t.get("Behavior").asText()).isEqualTo("delete");
        assertThat(t.get("LockDelay").asLong()).isZero();

        Reply renew = http.put("/v1/session/renew/" + ttlId, "");
        assertThat(renew.status()).isEqualTo(200);
        assertThat(renew.json().get(0).get("ID").asText()).isEqualTo(ttlId);

        assertThat(http.get("/v1/session/node/" + NODE).body()).contains(id, ttlId);

        assertThat(http.put("/v1/session/destroy/" + id, "").json().asBoolean()).isTrue();
        assertThat(http.put("/v1/session/destroy/" + ttlId, "").json().asBoolean()).isTrue();
        assertThat(http.get("/v1/session/info/" + id).json()).isEmpty();
        Reply renewGone = http.put("/v1/session/renew/" + id, "");
        assertThat(renewGone.status()).isEqualTo(404);
        assertThat(renewGone.body()).contains(id);
    }

    // ------------------------------------------------------------------ agent

    @Test
    void agentEndpoints() {
        Reply self = http.get("/v1/agent/self");
        assertThat(self.status()).isEqualTo(200);
        assertThat(fieldNames(self.json())).contains("Config", "Member");
        assertThat(self.json().get("Config").get("NodeName").asText()).isEqualTo(NODE);
        assertThat(self.json().get("Config").get("Datacenter").asText()).isNotBlank();
        assertThat(self.json().get("Config").get("Server").asBoolean()).isTrue();
        assertThat(fieldNames(self.json().get("Member"))).contains("Name", "Addr", "Port", "Tags", "Status");
        assertThat(self.json().get("Member").get("Name").asText()).isEqualTo(NODE);

        Reply members = http.get("/v1/agent/members");
        assertThat(members.status()).isEqualTo(200);
        assertThat(members.json()).hasSize(1);
        JsonNode m = members.json().get(0);
        assertThat(m.get("Name").asText()).isEqualTo(NODE);
        assertThat(m.get("Status").asInt()).as("1 = alive").isEqualTo(1);
        assertThat(m.get("Tags").get("role").asText()).isEqualTo("consul");

        Reply badJson = http.put("/v1/agent/service/register", "{\"Name\": ");
        assertThat(badJson.status()).isEqualTo(400);
        assertThat(badJson.body()).containsIgnoringCase("JSON");
        Reply badPort = http.put("/v1/agent/service/register", "{\"Name\": \"bad\", \"Port\": \"abc\"}");
        assertThat(badPort.status()).isEqualTo(400);
        assertThat(badPort.body()).containsIgnoringCase("port").contains("abc");
        Reply noName = http.put("/v1/agent/service/register", "{\"Port\": 80}");
        assertThat(noName.status()).isEqualTo(400);
        assertThat(noName.body()).containsIgnoringCase("name");
        Reply badCheck = http.put("/v1/agent/service/register", "{\"Name\": \"bad\", \"Check\": {\"HTTP\": \"http://127.0.0.1:1/\"}}");
        assertThat(badCheck.status()).as("an HTTP check without an interval").isEqualTo(400);
        assertThat(http.get("/v1/agent/services").json().has("bad")).isFalse();

        put("/v1/agent/service/register", "{\"ID\": \"cache-1\", \"Name\": \"cache\", \"Port\": 6379, \"Tags\": [\"a\"], \"Check\": {\"TTL\": \"30s\"}}");
        Reply services = http.get("/v1/agent/services");
        assertThat(services.status()).isEqualTo(200);
        JsonNode cache = services.json().get("cache-1");
        assertThat(cache).isNotNull();
        assertThat(fieldNames(cache)).contains("ID", "Service", "Tags", "Meta", "Port", "Address");
        assertThat(cache.get("Service").asText()).isEqualTo("cache");
        assertThat(cache.get("Port").asInt()).isEqualTo(6379);

        Reply checks = http.get("/v1/agent/checks");
        assertThat(checks.status()).isEqualTo(200);
        JsonNode ttl = checks.json().get("service:cache-1");
        assertThat(ttl).isNotNull();
        assertThat(fieldNames(ttl)).contains("Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName");
        assertThat(ttl.get("Status").asText()).isEqualTo("critical");
        assertThat(ttl.get("ServiceID").asText()).isEqualTo("cache-1");

        Reply unknownPass = http.put("/v1/agent/check/pass/no-such-check", "");
        assertThat(unknownPass.status()).isEqualTo(404);
        assertThat(unknownPass.body()).contains("no-such-check");

        Reply pass = http.put("/v1/agent/check/pass/service:cache-1?note=ok", "");
        assertThat(pass.status()).isEqualTo(200);
        JsonNode passed = http.get("/v1/agent/checks").json().get("service:cache-1");
        assertThat(passed.get("Status").asText()).isEqualTo("passing");
        assertThat(passed.get("Output").asText()).isEqualTo("ok");

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(http.get("/v1/health/service/cache?passing").json()).hasSize(1));

        assertThat(http.put("/v1/agent/service/deregister/no-such-service", "").status()).isEqualTo(404);
        put("/v1/agent/service/deregister/cache-1", "");
        assertThat(http.get("/v1/agent/services").json().has("cache-1")).isFalse();
        assertThat(http.get("/v1/agent/checks").json().has("service:cache-1")).isFalse();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(http.get("/v1/health/service/cache").json()).isEmpty());
    }

    // ------------------------------------------------------------------ status

    @Test
    void statusLeaderAndPeers() {
        Reply leader = http.get("/v1/status/leader");
        assertThat(leader.status()).isEqualTo(200);
        assertThat(leader.json().isTextual()).isTrue();
        String addr = leader.json().asText();
        assertThat(addr).matches("127\\.0\\.0\\.1:\\d+");

        Reply peers = http.get("/v1/status/peers");
        assertThat(peers.status()).isEqualTo(200);
        assertThat(peers.json().isArray()).isTrue();
        assertThat(strings(peers.json())).containsExactly(addr);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
