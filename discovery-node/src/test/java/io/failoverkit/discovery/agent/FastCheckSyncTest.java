package io.failoverkit.discovery.agent;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.QueryParams;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An agent-local check's status change reaches the catalog at once (a sync triggered by the change, as Consul's agent
 * does), not at the next anti-entropy round; the changes of a burst are coalesced into few catalog writes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FastCheckSyncTest {

    @Test
    void aTtlPassShowsInHealthPassingAndInDnsAndAFailTakesItOut() throws Exception {
        try (DevAgent agent = DevAgent.start("sync-node")) {
            Http http = agent.http;
            assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"api-1\",\"Name\":\"api\",\"Port\":9000,\"Check\":{\"CheckID\":\"api-ttl\",\"TTL\":\"60s\"}}").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/health/service/api").json().size() == 1);
            Http.Reply before = http.get("/v1/health/service/api?passing");
            assertThat(before.json().size()).isZero();

            // A blocking watcher on ?passing, as consul-template or Prometheus would hold, wakes with the instance.
            java.util.concurrent.CompletableFuture<Http.Reply> watch = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> http.get("/v1/health/service/api?passing&index=" + before.index() + "&wait=60s", Duration.ofSeconds(90)));
            assertThat(http.put("/v1/agent/check/pass/api-ttl", "").status()).isEqualTo(200);
            Http.Reply woke = watch.get(60, TimeUnit.SECONDS);
            // The watcher may wake on another catalog change first; the instance must be passing soon after either way.
            await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/health/service/api?passing").json().size() == 1);
            assertThat(woke.index()).isGreaterThan(before.index());

            SimpleResolver dns = new SimpleResolver("127.0.0.1");
            dns.setPort(agent.dnsPort);
            await().atMost(Duration.ofSeconds(20)).until(() -> lookup(dns, "api.service.consul") == 1);

            assertThat(http.put("/v1/agent/check/fail/api-ttl", "").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/health/service/api?passing").json().size() == 0);
            await().atMost(Duration.ofSeconds(20)).until(() -> lookup(dns, "api.service.consul") == 0);
        }
    }

    private static int lookup(SimpleResolver dns, String name) throws Exception {
        Lookup l = new Lookup(name, Type.A);
        l.setResolver(dns);
        l.setCache(null);
        var r = l.run();
        return r == null ? 0 : r.length;
    }

    @Test
    void aBurstOfStatusChangesTakesNoMoreRaftEntriesThanChanges() throws Exception {
        int n = 30;
        try (DevAgent agent = DevAgent.start("burst-node")) {
            Http http = agent.http;
            String checks = IntStream.range(0, n).mapToObj(i -> "{\"CheckID\":\"b" + i + "\",\"TTL\":\"60s\"}").collect(Collectors.joining(","));
            assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"burst-1\",\"Name\":\"burst\",\"Checks\":[" + checks + "]}").status()).isEqualTo(200);
            ConsulClient consul = new ConsulClient("127.0.0.1", agent.httpPort);
            await().atMost(Duration.ofSeconds(20)).until(() -> consul.getHealthChecksForService("burst", QueryParams.DEFAULT).getValue().size() == n);
            double appliesBefore = applies(http);

            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> done = new java.util.ArrayList<>();
                for (int i = 0; i < n; i++) {
                    String id = "b" + i;
                    done.add(pool.submit(() -> consul.agentCheckPass(id)));
                }
                for (Future<?> f : done) f.get(30, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> consul.getHealthChecksForService("burst", QueryParams.DEFAULT).getValue().stream()
                    .allMatch(c -> c.getStatus() == com.ecwid.consul.v1.health.model.Check.CheckStatus.PASSING));
            double applies = applies(http) - appliesBefore;
            assertThat(applies).isPositive().isLessThanOrEqualTo(n);
        }
    }

    private static double applies(Http http) {
        for (JsonNode c : http.get("/v1/agent/metrics").json().path("Counters")) {
            if (c.path("Name").asText().equals("consul.raft.apply")) return c.path("Sum").asDouble();
        }
        return 0;
    }

    /**
     * With a catalog write in flight, the changes that arrive meanwhile wait and then go together in one write: the
     * catalog sees two writes for twenty changes. A stand-in server holds the first write until the burst is in.
     */
    @Test
    void changesThatArriveWhileAWriteIsInFlightGoTogetherInTheNextWrite() throws Exception {
        List<JsonNode> registers = new CopyOnWriteArrayList<>();
        AtomicBoolean hold = new AtomicBoolean();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch held = new CountDownLatch(1);
        int port = FreePorts.next();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/v1/catalog/node/", ex -> reply(ex, "{\"Node\":null,\"Services\":{}}"));
        server.createContext("/v1/health/node/", ex -> reply(ex, "[]"));
        server.createContext("/v1/catalog/register", ex -> {
            JsonNode body = Json.MAPPER.readTree(ex.getRequestBody().readAllBytes());
            registers.add(body);
            if (hold.get() && held.getCount() > 0) {
                held.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            reply(ex, "true");
        });
        server.start();
        LocalState local = new LocalState();
        AntiEntropy ae = new AntiEntropy(local, "n1", "id-1", "127.0.0.1", () -> Optional.of("127.0.0.1:" + port));
        try {
            String checks = IntStream.range(0, 20).mapToObj(i -> "{\"CheckID\":\"c" + i + "\",\"TTL\":\"60s\"}").collect(Collectors.joining(","));
            local.addService(Definitions.service(Json.MAPPER.readTree("{\"ID\":\"s1\",\"Name\":\"s\",\"Checks\":[" + checks + "]}")), LocalState.Source.API);
            // The first sync: the service, then all its checks in one write.
            await().atMost(Duration.ofSeconds(20)).until(() -> registers.size() == 2);
            assertThat(registers.get(1).path("Checks").size()).isEqualTo(20);

            hold.set(true);
            local.update("c0", Model.PASSING, "");
            assertThat(held.await(20, TimeUnit.SECONDS)).isTrue();
            for (int i = 1; i < 20; i++) local.update("c" + i, Model.PASSING, "");
            local.update("c0", Model.WARNING, "");
            release.countDown();
            await().atMost(Duration.ofSeconds(20)).until(() -> registers.size() == 4);
            JsonNode first = registers.get(2).path("Checks");
            JsonNode second = registers.get(3).path("Checks");
            assertThat(first.size()).isEqualTo(1);
            assertThat(second.size()).isEqualTo(20);
            Map<String, String> status = new java.util.HashMap<>();
            second.forEach(c -> status.put(c.path("CheckID").asText(), c.path("Status").asText()));
            assertThat(status.get("c0")).isEqualTo("warning"); // the latest status, not the one of the held write
            assertThat(status.get("c19")).isEqualTo("passing");
            assertThat(registers.get(3).path("SkipNodeUpdate").asBoolean()).isTrue();
            // Nothing more is written: the burst cost two writes.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> registers.size() == 4);
        } finally {
            ae.close();
            server.stop(0);
        }
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, String body) throws java.io.IOException {
        byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }
}
