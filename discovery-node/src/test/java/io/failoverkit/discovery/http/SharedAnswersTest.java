package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.Http.Reply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Answers shared among the callers that read the same thing at the same state (the watchers one change wakes): each
 * gets exactly what a read of its own would have rendered, parameters that shape an answer keep answers apart, a
 * later change is never answered from an older state, and repeated reads of one state are rendered once.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedAnswersTest {
    private static DevAgent agent;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("shared-answers");
        http = agent.http;
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    private static void register(String node, String id, String tag, String status) {
        Reply r = http.put("/v1/catalog/register", """
                {"Node": "%s", "Address": "10.9.0.1", "Service": {"ID": "%s", "Service": "sa-web", "Tags": ["%s"], "Port": 80},
                 "Check": {"CheckID": "%s-alive", "ServiceID": "%s", "Status": "%s"}}
                """.formatted(node, id, tag, id, id, status));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    private static double counter(String name) {
        return http.counter(name);
    }

    @Test
    void watchersWokenByOneChangeGetWhatTheirOwnReadWouldHaveRendered() throws Exception {
        register("sa-1", "w-1", "blue", "passing");
        register("sa-2", "w-2", "green", "critical");
        long index = http.get("/v1/health/service/sa-web").index();

        Map<String, List<CompletableFuture<Reply>>> watchers = new java.util.LinkedHashMap<>();
        for (String query : List.of("", "passing&", "tag=blue&", "passing&pretty&")) {
            List<CompletableFuture<Reply>> list = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String path = "/v1/health/service/sa-web?" + query + "index=" + index + "&wait=30s";
                list.add(CompletableFuture.supplyAsync(() -> http.get(path, Duration.ofSeconds(60))));
            }
            watchers.put(query, list);
        }
        register("sa-3", "w-3", "blue", "passing");

        Map<String, String> bodies = new java.util.HashMap<>();
        for (var e : watchers.entrySet()) {
            for (CompletableFuture<Reply> f : e.getValue()) {
                Reply r = f.get(60, TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.index()).isGreaterThan(index);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
                bodies.merge(e.getKey(), r.body(), (a, b) -> {
                    assertThat(b).as("every watcher of ?%s got the same answer", e.getKey()).isEqualTo(a);
                    return a;
                });
            }
            // What a read of its own renders now (nothing changed since the wake): a parameter the answer ignores
            // but the sharing does not (so it is rendered afresh).
            Reply fresh = http.get("/v1/health/service/sa-web?" + e.getKey() + "unshared=" + System.nanoTime());
            assertThat(bodies.get(e.getKey())).as("?%s", e.getKey()).isEqualTo(fresh.body());
        }
        assertThat(nodes(bodies.get(""))).containsExactlyInAnyOrder("sa-1", "sa-2", "sa-3");
        assertThat(nodes(bodies.get("passing&"))).containsExactlyInAnyOrder("sa-1", "sa-3");
        assertThat(nodes(bodies.get("tag=blue&"))).containsExactlyInAnyOrder("sa-1", "sa-3");
        assertThat(bodies.get("passing&pretty&")).as("?pretty is its own answer").isNotEqualTo(bodies.get("passing&")).contains("\n");

        // A change after: never answered from the older state.
        register("sa-4", "w-4", "green", "passing");
        assertThat(nodes(http.get("/v1/health/service/sa-web?passing").body())).containsExactlyInAnyOrder("sa-1", "sa-3", "sa-4");

        // Reads of one state are rendered once: of 20 in a row, all but those that straddle an apply are shared,
        // and a shared answer carries the caller's own index headers and the render's own headers.
        double before = counter("failoverkit.http.answers.shared");
        Reply own = http.get("/v1/health/service/sa-web?tag=green&unshared=1");
        for (int i = 0; i < 20; i++) {
            Reply r = http.get("/v1/health/service/sa-web?tag=green");
            assertThat(nodes(r.body())).containsExactlyInAnyOrder("sa-2", "sa-4");
            assertThat(r.body()).isEqualTo(own.body());
            for (String h : List.of("X-Consul-Index", "X-Consul-KnownLeader", "X-Consul-Effective-Consistency", "Content-Type")) {
                assertThat(r.headers().firstValue(h)).as(h).isEqualTo(own.headers().firstValue(h));
            }
        }
        assertThat(counter("failoverkit.http.answers.shared") - before).isGreaterThanOrEqualTo(1);

        // Parameters are kept apart by their structure, not by a joined string: ?passing=%0Atag%3Dblue is "passing"
        // (its value is not "false"), ?passing&tag=blue is passing and blue.
        assertThat(nodes(http.get("/v1/health/service/sa-web?passing&tag=blue").body())).containsExactlyInAnyOrder("sa-1", "sa-3");
        assertThat(nodes(http.get("/v1/health/service/sa-web?passing=%0Atag%3Dblue").body())).containsExactlyInAnyOrder("sa-1", "sa-3", "sa-4");
    }

    @Test
    void aRawKvValueIsSharedWithItsHeadersAndANotFoundIsNot() {
        assertThat(http.put("/v1/kv/sa/raw", "<b>value</b>").status()).isEqualTo(200);
        Reply own = http.get("/v1/kv/sa/raw?raw&unshared=1");
        double before = counter("failoverkit.http.answers.shared");
        for (int i = 0; i < 10; i++) {
            Reply r = http.get("/v1/kv/sa/raw?raw");
            assertThat(r.body()).isEqualTo("<b>value</b>");
            for (String h : List.of("Content-Type", "X-Content-Type-Options", "Content-Security-Policy")) {
                assertThat(r.headers().firstValue(h)).as(h).isPresent().isEqualTo(own.headers().firstValue(h));
            }
        }
        assertThat(counter("failoverkit.http.answers.shared") - before).isGreaterThanOrEqualTo(1);

        double rendered = counter("failoverkit.http.answers.rendered");
        for (int i = 0; i < 5; i++) assertThat(http.get("/v1/kv/sa/missing").status()).isEqualTo(404);
        assertThat(counter("failoverkit.http.answers.rendered")).as("a 404 is not kept").isEqualTo(rendered);
    }

    @Test
    void theKeptAnswersStayWithinTheirBytesTheOldestGoingFirst() {
        SharedAnswers kept = new SharedAnswers(10_000);
        for (int i = 0; i < 100; i++) {
            kept.put(key(99, "/v1/x" + i), new SharedAnswers.Answer(200, List.of(), new byte[1_000], "application/json"));
            assertThat(kept.bytes()).isLessThanOrEqualTo(10_000);
        }
        assertThat(kept.get(key(99, "/v1/x99"))).as("the newest is kept").isNotNull();
        assertThat(kept.get(key(99, "/v1/x0"))).as("the oldest went").isNull();
        kept.put(key(99, "/v1/big"), new SharedAnswers.Answer(200, List.of(), new byte[5_000], "application/json"));
        assertThat(kept.get(key(99, "/v1/big"))).as("one answer over a quarter of the bound is not kept").isNull();
        assertThat(kept.size()).isPositive();
        kept.put(key(98, "/v1/late"), new SharedAnswers.Answer(200, List.of(), new byte[10], "application/json"));
        assertThat(kept.get(key(98, "/v1/late"))).as("an answer of an older state is not kept").isNull();
        kept.put(key(100, "/v1/y"), new SharedAnswers.Answer(200, List.of(), new byte[10], "application/json"));
        assertThat(kept.size()).as("a newer state drops the older one's answers").isEqualTo(1);
    }

    @Test
    void callersOfAKeyBeingRenderedWaitForThatRenderAndRenderTheirOwnWhenItHasNothingToShare() throws Exception {
        SharedAnswers kept = new SharedAnswers(1 << 20);
        SharedAnswers.Answer answer = new SharedAnswers.Answer(200, List.of(Map.entry("X-Test", "1")), "[]".getBytes(), "application/json");
        assertThat(kept.claim(key(7, "/v1/a"))).as("the first caller renders").isNull();
        var waiting = kept.claim(key(7, "/v1/a"));
        assertThat(waiting).as("the second waits").isNotNull().isNotDone();
        assertThat(kept.claim(key(7, "/v1/b"))).as("another request renders its own").isNull();
        kept.rendered(key(7, "/v1/a"), answer);
        assertThat(waiting.get(1, TimeUnit.SECONDS)).isSameAs(answer);
        assertThat(kept.claim(key(7, "/v1/a")).getNow(null)).as("then kept").isSameAs(answer);

        var second = kept.claim(key(7, "/v1/b"));
        kept.rendered(key(7, "/v1/b"), null);
        assertThat(second.get(1, TimeUnit.SECONDS)).as("nothing to share: the waiter renders its own").isNull();
        assertThat(kept.claim(key(7, "/v1/b"))).as("and the next caller renders again").isNull();
    }

    private static SharedAnswers.Key key(long version, String path) {
        return new SharedAnswers.Key(version, "GET", path, Map.of(), io.failoverkit.discovery.acl.Identity.ACL_DISABLED, false);
    }

    private static List<String> nodes(String body) {
        List<String> out = new ArrayList<>();
        try {
            for (JsonNode e : io.failoverkit.discovery.state.Json.MAPPER.readTree(body)) out.add(e.path("Node").path("Node").asText());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(body, e);
        }
        return out;
    }
}
