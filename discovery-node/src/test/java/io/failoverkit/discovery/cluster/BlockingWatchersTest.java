package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Thousands of blocked watchers park on the state store without a platform thread each, and one write wakes its own. */
class BlockingWatchersTest {
    private static final int WATCHERS = 2000;

    @Test
    void twoThousandParkedBlockingQueriesCostNoThreadEachAndAWriteWakesOnlyItsWatchers() throws Exception {
        try (DevAgent a = DevAgent.start("watch-node")) {
            a.http.put("/v1/kv/hot", "0");
            a.http.put("/v1/kv/cold", "0");
            long hotIndex = a.http.get("/v1/kv/hot").index();
            long coldIndex = a.http.get("/v1/kv/cold").index();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

            HttpClient client = HttpClient.newBuilder().executor(java.util.concurrent.Executors.newFixedThreadPool(4)).build();
            List<CompletableFuture<HttpResponse<String>>> hot = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> cold = new ArrayList<>();
            for (int i = 0; i < WATCHERS; i++) {
                boolean isHot = i % 2 == 0;
                String path = isHot ? "/v1/kv/hot?index=" + hotIndex : "/v1/kv/cold?index=" + coldIndex;
                var f = client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort + path + "&wait=60s"))
                        .timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofString());
                (isHot ? hot : cold).add(f);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> a.agent.parkedWatchers() >= WATCHERS);
            int threadsParked = ManagementFactory.getThreadMXBean().getThreadCount();
            System.out.printf("platform threads: %d before, %d with %d parked blocking queries%n", threadsBefore, threadsParked, WATCHERS);
            assertThat(threadsParked - threadsBefore).as("platform threads added for %d parked queries", WATCHERS).isLessThan(100);

            long t0 = System.nanoTime();
            a.http.put("/v1/kv/hot", "1");
            CompletableFuture.allOf(hot.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            System.out.printf("woke %d watchers in %d ms%n", hot.size(), (System.nanoTime() - t0) / 1_000_000);
            for (var f : hot) {
                HttpResponse<String> r = f.get();
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(Long.parseLong(r.headers().firstValue("X-Consul-Index").orElseThrow())).isGreaterThan(hotIndex);
            }
            assertThat(cold).as("a write to another key wakes none of these").noneMatch(CompletableFuture::isDone);
            assertThat(a.agent.parkedWatchers()).isEqualTo(cold.size());
            a.http.put("/v1/kv/cold", "1");
            CompletableFuture.allOf(cold.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            client.shutdownNow();
        }
    }
}
