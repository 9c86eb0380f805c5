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
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * PUT /v1/txn on the wire, against the request and response shapes of Consul's Transaction API documentation
 * (api-docs/txn: the sample payload and response, the KV verb table, the 128-operation and 512 kB limits), and our
 * rules for bad input: a 4xx naming what is wrong, nothing applied.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TxnApiTest {
    private static DevAgent agent;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("txn-node");
        http = agent.http;
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String kv(String verb, String key, String extra) {
        return "{\"KV\": {\"Verb\": \"" + verb + "\", \"Key\": \"" + key + "\"" + (extra.isEmpty() ? "" : ", " + extra) + "}}";
    }

    private static Reply txn(String query, String... ops) {
        return http.put("/v1/txn" + query, "[" + String.join(", ", ops) + "]");
    }

    private static List<String> fieldNames(JsonNode obj) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) out.add(it.next());
        return out;
    }

    private static String raw(String key) {
        Reply r = http.get("/v1/kv/" + key + "?raw");
        return r.status() == 404 ? null : r.body();
    }

    @Test
    void theDocumentedResponseShapeForAnAppliedTransaction() {
        // The sample payload's KV operation, as the docs spell it: Verb, Key, base64 Value, Flags, Index, Session.
        Reply r = txn("", kv("set", "txn/doc/a", "\"Value\": \"" + b64("hello") + "\", \"Flags\": 42, \"Index\": 0, \"Session\": \"\""),
                kv("get", "txn/doc/a", ""),
                kv("set", "txn/doc/b", "\"Value\": \"" + b64("x") + "\""),
                kv("delete", "txn/doc/b", ""));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode body = r.json();
        assertThat(fieldNames(body)).containsExactly("Results", "Errors");
        assertThat(body.get("Errors").isNull()).as("Errors is null when applied").isTrue();
        JsonNode results = body.get("Results");
        assertThat(results).as("no result entry for a delete").hasSize(3);
        for (JsonNode res : results) assertThat(fieldNames(res)).containsExactly("KV");
        JsonNode set = results.get(0).get("KV");
        assertThat(fieldNames(set)).containsExactly("LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex");
        assertThat(set.get("Key").asText()).isEqualTo("txn/doc/a");
        assertThat(set.get("Flags").asLong()).isEqualTo(42);
        assertThat(set.get("Value").isNull()).as("Value is null for verbs other than get and get-tree").isTrue();
        assertThat(set.get("LockIndex").asLong()).isZero();
        JsonNode got = results.get(1).get("KV");
        assertThat(got.get("Value").asText()).isEqualTo(b64("hello"));
        // Every key the transaction wrote carries the Raft index of its entry.
        long index = r.index();
        assertThat(index).isPositive();
        assertThat(set.get("ModifyIndex").asLong()).isEqualTo(index);
        assertThat(set.get("CreateIndex").asLong()).isEqualTo(index);
        assertThat(results.get(2).get("KV").get("ModifyIndex").asLong()).isEqualTo(index);
        assertThat(http.get("/v1/kv/txn/doc/a").json().get(0).get("ModifyIndex").asLong()).isEqualTo(index);
        assertThat(raw("txn/doc/a")).isEqualTo("hello");
        assertThat(raw("txn/doc/b")).as("set then deleted in the same transaction").isNull();
    }

    @Test
    void theDocumentedResponseShapeForARolledBackTransaction() {
        assertThat(http.put("/v1/kv/txn/rb/exists", "v").status()).isEqualTo(200);
        long before = http.get("/v1/kv/txn/rb/?recurse").index();
        Reply r = txn("", kv("set", "txn/rb/new", "\"Value\": \"" + b64("n") + "\""),
                kv("check-not-exists", "txn/rb/exists", ""),
                kv("delete", "txn/rb/exists", ""),
                kv("check-index", "txn/rb/exists", "\"Index\": 1"));
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        JsonNode body = r.json();
        assertThat(fieldNames(body)).containsExactly("Results", "Errors");
        assertThat(body.get("Results").isNull()).as("Results is null when rolled back").isTrue();
        assertThat(body.get("Errors")).hasSize(2);
        for (JsonNode e : body.get("Errors")) assertThat(fieldNames(e)).containsExactly("OpIndex", "What");
        assertThat(body.get("Errors").get(0).get("OpIndex").asInt()).isEqualTo(1);
        assertThat(body.get("Errors").get(0).get("What").asText()).contains("txn/rb/exists").contains("exists");
        assertThat(body.get("Errors").get(1).get("OpIndex").asInt()).isEqualTo(3);
        // Each operation sees the ones before it: the delete at 2 removed the key the check at 3 looks at.
        assertThat(body.get("Errors").get(1).get("What").asText()).contains("txn/rb/exists").contains("does not exist");
        assertThat(raw("txn/rb/new")).as("the set before the failing check is not applied").isNull();
        assertThat(raw("txn/rb/exists")).as("nor the delete after it").isEqualTo("v");
        assertThat(http.get("/v1/kv/txn/rb/?recurse").index()).isEqualTo(before);
    }

    @Test
    void casCheckIndexDeleteCasAndTrees() {
        Reply created = txn("", kv("cas", "txn/cas/k", "\"Index\": 0, \"Value\": \"" + b64("v1") + "\""));
        assertThat(created.status()).as("cas with index 0 creates").isEqualTo(200);
        long idx = created.json().get("Results").get(0).get("KV").get("ModifyIndex").asLong();
        assertThat(txn("", kv("cas", "txn/cas/k", "\"Index\": 0, \"Value\": \"" + b64("again") + "\"")).status()).isEqualTo(409);
        Reply stale = txn("", kv("cas", "txn/cas/k", "\"Index\": " + (idx + 100) + ", \"Value\": \"" + b64("v2") + "\""));
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.json().get("Errors").get(0).get("What").asText()).contains("txn/cas/k");
        Reply ok = txn("", kv("check-index", "txn/cas/k", "\"Index\": " + idx),
                kv("cas", "txn/cas/k", "\"Index\": " + idx + ", \"Value\": \"" + b64("v2") + "\""),
                kv("set", "txn/cas/other", "\"Value\": \"" + b64("o") + "\""));
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().get("Results").get(0).get("KV").get("ModifyIndex").asLong()).as("check-index returns the entry").isEqualTo(idx);
        assertThat(raw("txn/cas/k")).isEqualTo("v2");

        Reply tree = txn("", kv("get-tree", "txn/cas/", ""), kv("get-or-empty", "txn/cas/none", ""));
        assertThat(tree.status()).as(tree.body()).isEqualTo(200);
        JsonNode res = tree.json().get("Results");
        assertThat(res).hasSize(3);
        assertThat(res.get(0).get("KV").get("Key").asText()).isEqualTo("txn/cas/k");
        assertThat(res.get(0).get("KV").get("Value").asText()).isEqualTo(b64("v2"));
        assertThat(res.get(1).get("KV").get("Key").asText()).isEqualTo("txn/cas/other");
        assertThat(res.get(2).get("KV").get("Value").isNull()).as("get-or-empty of a missing key").isTrue();
        assertThat(txn("", kv("get", "txn/cas/none", "")).status()).as("get fails on a missing key").isEqualTo(409);

        long now = http.get("/v1/kv/txn/cas/k").json().get(0).get("ModifyIndex").asLong();
        assertThat(txn("", kv("delete-cas", "txn/cas/k", "\"Index\": " + (now + 1))).status()).isEqualTo(409);
        assertThat(txn("", kv("delete-cas", "txn/cas/k", "\"Index\": " + now)).status()).isEqualTo(200);
        assertThat(raw("txn/cas/k")).isNull();
        assertThat(txn("", kv("delete-tree", "txn/cas/", "")).status()).isEqualTo(200);
        assertThat(http.get("/v1/kv/txn/cas/?recurse").status()).isEqualTo(404);
    }

    @Test
    void lockUnlockAndCheckSessionFollowTheSessionThatHoldsTheKey() {
        String s1 = http.put("/v1/session/create", "{\"Name\": \"txn-1\", \"LockDelay\": \"0s\"}").json().get("ID").asText();
        String s2 = http.put("/v1/session/create", "{\"Name\": \"txn-2\", \"LockDelay\": \"0s\"}").json().get("ID").asText();
        Reply locked = txn("", kv("lock", "txn/lock/k", "\"Session\": \"" + s1 + "\", \"Value\": \"" + b64("mine") + "\""));
        assertThat(locked.status()).as(locked.body()).isEqualTo(200);
        JsonNode e = locked.json().get("Results").get(0).get("KV");
        assertThat(e.get("Session").asText()).isEqualTo(s1);
        assertThat(e.get("LockIndex").asLong()).isEqualTo(1);

        Reply other = txn("", kv("lock", "txn/lock/k", "\"Session\": \"" + s2 + "\""));
        assertThat(other.status()).isEqualTo(409);
        assertThat(other.json().get("Errors").get(0).get("What").asText()).contains("held by session").contains(s1);
        assertThat(txn("", kv("check-session", "txn/lock/k", "\"Session\": \"" + s1 + "\"")).status()).isEqualTo(200);
        assertThat(txn("", kv("check-session", "txn/lock/k", "\"Session\": \"" + s2 + "\"")).status()).isEqualTo(409);
        assertThat(txn("", kv("unlock", "txn/lock/k", "\"Session\": \"" + s2 + "\"")).status()).isEqualTo(409);
        Reply bogus = txn("", kv("lock", "txn/lock/fresh", "\"Session\": \"00000000-0000-0000-0000-000000000000\""));
        assertThat(bogus.status()).isEqualTo(409);
        assertThat(bogus.json().get("Errors").get(0).get("What").asText()).contains("does not exist");

        Reply unlocked = txn("", kv("unlock", "txn/lock/k", "\"Session\": \"" + s1 + "\""));
        assertThat(unlocked.status()).as(unlocked.body()).isEqualTo(200);
        assertThat(unlocked.json().get("Results").get(0).get("KV").has("Session")).isFalse();
        assertThat(http.get("/v1/kv/txn/lock/k").json().get(0).has("Session")).isFalse();
    }

    @Test
    void aLockInATransactionRespectsLockDelay() {
        String s1 = http.put("/v1/session/create", "{\"Name\": \"delay-1\", \"LockDelay\": \"3s\"}").json().get("ID").asText();
        String s2 = http.put("/v1/session/create", "{\"Name\": \"delay-2\", \"LockDelay\": \"0s\"}").json().get("ID").asText();
        assertThat(http.put("/v1/kv/txn/delay/k?acquire=" + s1, "one").body().strip()).isEqualTo("true");
        long destroyedFrom = System.nanoTime();
        assertThat(http.put("/v1/session/destroy/" + s1, (String) null).status()).isEqualTo(200);
        Reply refused = txn("", kv("set", "txn/delay/side", "\"Value\": \"" + b64("s") + "\""),
                kv("lock", "txn/delay/k", "\"Session\": \"" + s2 + "\""));
        long refusedAt = System.nanoTime();
        if (refusedAt - destroyedFrom < Duration.ofSeconds(3).toNanos()) {
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.json().get("Errors").get(0).get("OpIndex").asInt()).isEqualTo(1);
            assertThat(refused.json().get("Errors").get(0).get("What").asText()).contains("lock-delay");
            assertThat(raw("txn/delay/side")).as("nothing applied").isNull();
        }
        long[] lockedAt = new long[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            Reply r = txn("", kv("lock", "txn/delay/k", "\"Session\": \"" + s2 + "\""));
            lockedAt[0] = System.nanoTime();
            return r.status() == 200;
        });
        assertThat(lockedAt[0] - destroyedFrom).as("never inside the 3 s lock-delay").isGreaterThanOrEqualTo(Duration.ofSeconds(3).toNanos());
    }

    @Test
    void readOnlyTransactionsAreReadsWithConsistencyModes() {
        assertThat(http.put("/v1/kv/txn/ro/k", "v").status()).isEqualTo(200);
        for (String mode : List.of("", "?stale", "?consistent")) {
            Reply r = txn(mode, kv("get", "txn/ro/k", ""), kv("check-not-exists", "txn/ro/none", ""));
            assertThat(r.status()).as(mode + ": " + r.body()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Consul-KnownLeader")).as(mode).hasValue("true");
            assertThat(r.headers().firstValue("X-Consul-LastContact")).as(mode).isPresent();
            assertThat(r.json().get("Results").get(0).get("KV").get("Value").asText()).isEqualTo(b64("v"));
        }
        assertThat(txn("?stale&consistent", kv("get", "txn/ro/k", "")).status()).isEqualTo(400);
        Reply missing = txn("", kv("get", "txn/ro/none", ""));
        assertThat(missing.status()).isEqualTo(409);
        assertThat(missing.json().get("Errors").get(0).get("What").asText()).contains("txn/ro/none");
    }

    @Test
    void badInputIsRefusedWholeWithTheReason() {
        String set = kv("set", "txn/bad/k", "\"Value\": \"" + b64("v") + "\"");
        assertThat(http.put("/v1/txn", "[" + set + ",").status()).as("malformed JSON").isEqualTo(400);
        assertThat(http.put("/v1/txn", "{\"KV\": {}}").body()).contains("array");
        assertThat(http.put("/v1/txn", "{\"KV\": {}}").status()).isEqualTo(400);
        Reply verb = txn("", set, kv("frobnicate", "txn/bad/k", ""));
        assertThat(verb.status()).isEqualTo(400);
        assertThat(verb.body()).contains("operation 1").contains("frobnicate");
        assertThat(txn("", "{\"KV\": {\"Verb\": \"set\"}}").body()).contains("Key");
        assertThat(txn("", kv("lock", "txn/bad/k", "")).body()).contains("Session");
        Reply b64 = txn("", kv("set", "txn/bad/k", "\"Value\": \"not base64!\""));
        assertThat(b64.status()).isEqualTo(400);
        assertThat(b64.body()).contains("base64");
        assertThat(txn("", kv("set", "txn/bad/k", "\"Flags\": -1")).status()).isEqualTo(400);
        assertThat(txn("", kv("set", "txn/bad/k", "\"Color\": \"red\"")).status()).as("unknown field").isEqualTo(400);

        // The documented sample payload mixes in Node, Service and Check operations: refused, never skipped.
        Reply node = txn("", set, "{\"Node\": {\"Verb\": \"set\", \"Node\": {\"Node\": \"bar\", \"Address\": \"192.168.0.1\"}}}");
        assertThat(node.status()).isEqualTo(400);
        assertThat(node.body()).contains("Node operations are not supported");
        assertThat(txn("", "{\"Service\": {\"Verb\": \"delete\", \"Node\": \"foo\", \"Service\": {\"ID\": \"db1\"}}}").status()).isEqualTo(400);
        assertThat(txn("", "{\"Check\": {\"Verb\": \"get\", \"Check\": {}}}").status()).isEqualTo(400);

        // Consul's limits: 128 operations (413 above), 512 kB a value, and the request body.
        String[] many = new String[129];
        java.util.Arrays.fill(many, set);
        Reply tooMany = txn("", many);
        assertThat(tooMany.status()).isEqualTo(413);
        assertThat(tooMany.body()).contains("129 > 128");
        assertThat(txn("", java.util.Arrays.copyOf(many, 128)).status()).as("128 is allowed").isEqualTo(200);
        String big = Base64.getEncoder().encodeToString(new byte[400 * 1024]);
        assertThat(txn("", kv("set", "txn/bad/big", "\"Value\": \"" + big + "\"")).status()).as("a body over 512 kB").isEqualTo(413);
        assertThat(http.get("/v1/txn").status()).isEqualTo(405);
        assertThat(raw("txn/bad/big")).isNull();
        assertThat(http.delete("/v1/kv/txn/bad/k").status()).isEqualTo(200);
        assertThat(raw("txn/bad/k")).isNull();
    }
}
