package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A blocking query that a change wakes leaves nothing queued behind it: its wait timer (5 minutes here) is cancelled
 * and gone from the agent's timer queue, not kept, with the request it holds, until the wait would have ended. With
 * 5,000 watchers woken by a steady change rate (bench/scale.sh) the cancelled timers used to pile up by the hundreds
 * of thousands.
 */
class BlockingQueryTimersTest {
    @Test
    void wokenBlockingQueriesLeaveNoTimerQueued() throws Exception {
        try (DevAgent a = DevAgent.start("timers")) {
            assertThat(a.http.put("/v1/kv/watched", "v0").status()).isEqualTo(200);
            long index = Long.parseLong(a.http.get("/v1/kv/watched").headers().firstValue("X-Consul-Index").orElseThrow());
            int before = a.agent.queuedTimers();
            int wakes = 100;
            for (int i = 1; i <= wakes; i++) {
                long at = index;
                CompletableFuture<Http.Reply> parked = CompletableFuture.supplyAsync(
                        () -> a.http.get("/v1/kv/watched?index=" + at + "&wait=5m", Duration.ofMinutes(6)));
                await().atMost(Duration.ofSeconds(30)).until(() -> a.agent.parkedWatchers() > 0);
                assertThat(a.http.put("/v1/kv/watched", "v" + i).status()).isEqualTo(200);
                Http.Reply woke = parked.get();
                assertThat(woke.status()).isEqualTo(200);
                index = Long.parseLong(woke.headers().firstValue("X-Consul-Index").orElseThrow());
                assertThat(index).as("woken by write %d", i).isGreaterThan(at);
            }
            assertThat(a.agent.parkedWatchers()).isZero();
            // The agent's own periodic timers may come and go; one left per woken query would be 100 more.
            assertThat(a.agent.queuedTimers()).as("timers queued after %d woken queries (before: %d)", wakes, before).isLessThan(before + 10);
        }
    }
}
