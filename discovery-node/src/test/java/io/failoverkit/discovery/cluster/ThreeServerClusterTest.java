package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three discovery-node servers, each its own JVM on loopback, treated as an operator's worst night treats them:
 * the leader SIGKILLed mid-write, every server killed and restarted. Nothing acknowledged may be lost.
 */
class ThreeServerClusterTest {
    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    /** Writes to a random running server until one acknowledges, for at most {@code within}; null if none did. */
    private static Long putSomewhere(List<AgentProcess> servers, String key, String value, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            AgentProcess s = servers.get(ThreadLocalRandom.current().nextInt(servers.size()));
            if (!s.isRunning()) continue;
            try {
                Http.Reply r = s.http().put("/v1/kv/" + key, value);
                if (r.status() == 200 && r.body().strip().equals("true")) return r.index();
            } catch (RuntimeException e) {
                // connection refused or timed out: that server is down; try another
            }
            sleep(20);
        }
        return null;
    }

    private static void sleep(long ms) {
        try { Thread.sleep(ms); } catch (InterruptedException e) { Thread.currentThread().interrupt(); throw new IllegalStateException(e); }
    }

    @Test
    void leaderSigkillMidWriteLosesNoAcknowledgedWriteAndWritesResume() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(60));
        Map<String, String> acknowledged = new LinkedHashMap<>();
        long lastIndex = 0;
        for (int i = 0; i < 50; i++) {
            Long idx = putSomewhere(cluster.servers, "orders/" + i, "v" + i, Duration.ofSeconds(10));
            assertThat(idx).as("write %d before the kill", i).isNotNull();
            assertThat(idx).as("indexes are monotonic").isGreaterThan(lastIndex);
            lastIndex = idx;
            acknowledged.put("orders/" + i, "v" + i);
        }

        long killedAt = System.nanoTime();
        leader.kill();
        List<AgentProcess> survivors = cluster.running();
        assertThat(survivors).hasSize(2);
        Long first = putSomewhere(survivors, "orders/50", "v50", Duration.ofSeconds(30));
        long recoveryMillis = (System.nanoTime() - killedAt) / 1_000_000;
        assertThat(first).as("a write after the leader's SIGKILL").isNotNull();
        assertThat(first).isGreaterThan(lastIndex);
        acknowledged.put("orders/50", "v50");
        System.out.println("leader kill -> next acknowledged write: " + recoveryMillis + " ms");
        for (int i = 51; i < 100; i++) {
            Long idx = putSomewhere(survivors, "orders/" + i, "v" + i, Duration.ofSeconds(10));
            assertThat(idx).as("write %d after re-election", i).isNotNull();
            acknowledged.put("orders/" + i, "v" + i);
        }

        AgentProcess newLeader = cluster.awaitLeader(Duration.ofSeconds(30));
        assertThat(newLeader).isNotSameAs(leader);
        assertEveryKey(newLeader.http(), acknowledged, "?consistent");

        // The killed server comes back and catches up from the others.
        cluster.restart(leader);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .untilAsserted(() -> assertEveryKey(leader.http(), acknowledged, "?stale"));
    }

    private static void assertEveryKey(Http http, Map<String, String> expected, String mode) {
        Http.Reply r = http.get("/v1/kv/orders/?recurse&" + mode.substring(1));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        Map<String, String> actual = new LinkedHashMap<>();
        for (JsonNode e : r.json()) actual.put(e.get("Key").asText(), new String(Base64.getDecoder().decode(e.get("Value").asText())));
        assertThat(actual).containsAllEntriesOf(expected);
    }

    @Test
    void allThreeServersKilledAndRestartedKeepTheKvIntact() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(60));
        Http http = leader.http();
        Map<String, String> expected = new LinkedHashMap<>();
        for (int i = 0; i < 120; i++) {
            assertThat(http.put("/v1/kv/config/k" + i, "value-" + i).body().strip()).isEqualTo("true");
            expected.put("config/k" + i, "value-" + i);
        }
        // A CAS update and a delete, so the restart must replay more than inserts.
        long modify = http.get("/v1/kv/config/k7").json().get(0).get("ModifyIndex").asLong();
        assertThat(http.put("/v1/kv/config/k7?cas=" + modify, "cas-updated").body().strip()).isEqualTo("true");
        expected.put("config/k7", "cas-updated");
        assertThat(http.delete("/v1/kv/config/k8").status()).isEqualTo(200);
        expected.remove("config/k8");
        JsonNode before = http.get("/v1/kv/config/?recurse").json();

        for (AgentProcess s : cluster.servers) s.kill();
        for (AgentProcess s : cluster.servers) cluster.restart(s);
        AgentProcess again = cluster.awaitLeader(Duration.ofSeconds(90));

        Http.Reply after = again.http().get("/v1/kv/config/?recurse&consistent");
        assertThat(after.status()).isEqualTo(200);
        assertThat(after.json()).as("every key, value and index as before the restart").isEqualTo(before);
        Map<String, String> actual = new LinkedHashMap<>();
        for (JsonNode e : after.json()) actual.put(e.get("Key").asText(), new String(Base64.getDecoder().decode(e.get("Value").asText())));
        assertThat(actual).isEqualTo(expected);
        // And it keeps taking writes, with indexes after the old ones.
        Http.Reply w = again.http().put("/v1/kv/config/after-restart", "yes");
        assertThat(w.status()).isEqualTo(200);
        assertThat(w.index()).isGreaterThan(before.get(before.size() - 1).get("ModifyIndex").asLong());
    }

    @Test
    void sessionLockIsReleasedWhenItsTtlLapsesAndNeverHeldTwice() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        cluster.awaitLeader(Duration.ofSeconds(60));
        AgentProcess a = cluster.servers.get(0);
        AgentProcess b = cluster.servers.get(1);
        // Sessions of two managers on two different servers; the node check must be registered first.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                a.http().get("/v1/health/node/s1").body().contains("passing") && b.http().get("/v1/health/node/s2").body().contains("passing"));
        String first = a.http().put("/v1/session/create", "{\"Name\":\"manager-1\",\"TTL\":\"10s\",\"LockDelay\":\"0s\"}").json().get("ID").asText();
        String second = b.http().put("/v1/session/create", "{\"Name\":\"manager-2\",\"TTL\":\"30s\",\"LockDelay\":\"0s\"}").json().get("ID").asText();

        assertThat(a.http().put("/v1/kv/failover/c1/leader?acquire=" + first, "manager-1").body().strip()).isEqualTo("true");
        long lastRenew = System.nanoTime();
        // Renew once through a follower: the renewal must reach the leader's timer.
        sleep(4000);
        Http.Reply renew = b.http().put("/v1/session/renew/" + first, (String) null);
        assertThat(renew.status()).as(renew.body()).isEqualTo(200);
        lastRenew = System.nanoTime();

        // The second manager tries every 200 ms; it must fail while the first session is valid (10 s after its renewal).
        List<Long> acquiredAfterMillis = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (System.nanoTime() < deadline) {
            String got = b.http().put("/v1/kv/failover/c1/leader?acquire=" + second, "manager-2").body().strip();
            long since = (System.nanoTime() - lastRenew) / 1_000_000;
            if (got.equals("true")) { acquiredAfterMillis.add(since); break; }
            JsonNode holder = b.http().get("/v1/kv/failover/c1/leader?consistent").json().get(0);
            if (since < 10_000) assertThat(holder.get("Session").asText()).as("holder %d ms after renewal", since).isEqualTo(first);
            sleep(200);
        }
        assertThat(acquiredAfterMillis).as("the second manager got the lock once the first session's TTL lapsed").hasSize(1);
        assertThat(acquiredAfterMillis.get(0)).as("never while the first was valid").isGreaterThanOrEqualTo(10_000);
        assertThat(a.http().get("/v1/session/info/" + first + "?consistent").json()).as("the lapsed session is gone").isEmpty();
        JsonNode holder = a.http().get("/v1/kv/failover/c1/leader?consistent").json().get(0);
        assertThat(holder.get("Session").asText()).isEqualTo(second);
        assertThat(holder.get("LockIndex").asLong()).isEqualTo(2);
        System.out.println("second holder acquired " + acquiredAfterMillis.get(0) + " ms after the first session's last renewal (TTL 10 s)");
    }
}
