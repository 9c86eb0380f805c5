package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Watchers parked on a follower are relayed to the leader; identical blocking queries may share one relayed request
 * (Forwarder.relay), and every watcher gets an answer that includes the change that woke it. What must never join:
 * a ?consistent query (its read barrier is its own) and a read that does not block.
 */
class FollowerRelayJoinClusterTest {
    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    private static double joined(Http http) {
        return http.counter("failoverkit.http.forwarded.joined");
    }

    private static void register(Http http, String id) {
        Http.Reply r = http.put("/v1/catalog/register", "{\"Node\": \"n-" + id + "\", \"Address\": \"10.7.0.1\", \"Service\": {\"ID\": \""
                + id + "\", \"Service\": \"relayed\", \"Port\": 80}}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    @Test
    void watchersOnAFollowerAllSeeTheChangeAndConsistentOrNonBlockingReadsNeverJoin() throws Exception {
        cluster = new ServerCluster(3, dir);
        cluster.start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        AgentProcess follower = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
        Http f = follower.http();
        register(leader.http(), "r-1");
        long index = f.get("/v1/health/service/relayed").index();
        assertThat(index).isPositive();

        double before = joined(f);
        List<CompletableFuture<Http.Reply>> consistent = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            consistent.add(CompletableFuture.supplyAsync(() -> f.get("/v1/health/service/relayed?consistent&index=" + index + "&wait=60s", Duration.ofSeconds(90))));
        }
        for (int i = 0; i < 4; i++) assertThat(f.get("/v1/health/service/relayed").status()).isEqualTo(200);
        Thread.sleep(1_000); // the ?consistent queries reach the relay (a loaded box may make this check vacuous, never false)
        assertThat(joined(f) - before).as("no ?consistent or non-blocking read joined another").isZero();
        List<CompletableFuture<Http.Reply>> watchers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            watchers.add(CompletableFuture.supplyAsync(() -> f.get("/v1/health/service/relayed?index=" + index + "&wait=60s", Duration.ofSeconds(90))));
        }
        register(leader.http(), "r-2");
        for (CompletableFuture<Http.Reply> w : watchers) {
            Http.Reply r = w.get(90, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.index()).isGreaterThan(index);
            assertThat(r.json()).as("the change that woke it").hasSize(2);
        }
        for (CompletableFuture<Http.Reply> c : consistent) {
            Http.Reply r = c.get(90, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json()).hasSize(2);
        }
        // At most the identical watchers joined (5 of 6): never a ?consistent query, never a read that does not block.
        assertThat(joined(f) - before).isBetween(0.0, 5.0);
    }
}
