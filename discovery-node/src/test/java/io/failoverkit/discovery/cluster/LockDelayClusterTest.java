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
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Lock-delay on three servers (own JVMs, loopback), checked by the leader from its own memory: after a session that
 * held a lock is destroyed, nobody gets the lock, through any server, by KV ?acquire or a txn lock, until the delay
 * has passed; and a new leader elected after a SIGKILL of the old one inside the delay still holds it.
 */
class LockDelayClusterTest {
    private static final Duration DELAY = Duration.ofSeconds(8);
    private static final String KEY = "failover/c1/leader";

    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    private record Attempt(long atNanos, boolean acquired, String how) {}

    /**
     * Tries to take the lock for {@code session} through each of {@code servers} in turn, alternating KV ?acquire and
     * a txn lock, until one succeeds (bounded); returns every attempt.
     */
    private static List<Attempt> acquireUntilHeld(List<AgentProcess> servers, String session) {
        List<Attempt> attempts = new ArrayList<>();
        int[] n = {0};
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(150)).until(() -> {
            AgentProcess s = servers.get(n[0] % servers.size());
            boolean viaTxn = (n[0]++ / servers.size()) % 2 == 1;
            Http.Reply r;
            try {
                r = viaTxn
                        ? s.http().put("/v1/txn", "[{\"KV\": {\"Verb\": \"lock\", \"Key\": \"" + KEY + "\", \"Session\": \"" + session
                                + "\", \"Value\": \"" + Base64.getEncoder().encodeToString(s.name.getBytes()) + "\"}}]")
                        : s.http().put("/v1/kv/" + KEY + "?acquire=" + session, s.name);
            } catch (RuntimeException e) {
                return false; // a server in the middle of an election may not answer; try the next
            }
            long at = System.nanoTime();
            boolean ok = viaTxn ? r.status() == 200 : r.status() == 200 && r.body().strip().equals("true");
            if (r.status() == 409) assertThat(r.body()).contains("lock-delay");
            attempts.add(new Attempt(at, ok, (viaTxn ? "txn lock via " : "acquire via ") + s.name + " -> " + r.status() + " " + r.body().strip()));
            return ok;
        });
        return attempts;
    }

    private static String session(AgentProcess on, String name, Duration lockDelay) {
        Http.Reply r = on.http().put("/v1/session/create", "{\"Name\": \"" + name + "\", \"Node\": \"" + on.name
                + "\", \"LockDelay\": \"" + lockDelay.toSeconds() + "s\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("ID").asText();
    }

    private List<AgentProcess> startAndAwaitNodes() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> cluster.servers.stream()
                .allMatch(s -> leader.http().get("/v1/health/node/" + s.name).body().contains("passing")));
        List<AgentProcess> followers = new ArrayList<>(cluster.servers);
        followers.remove(leader);
        return followers;
    }

    private static void assertNoAcquireInsideTheDelay(List<Attempt> attempts, long destroySentAt) {
        Attempt first = attempts.get(0);
        Attempt won = attempts.get(attempts.size() - 1);
        System.out.println("lock-delay " + DELAY.toSeconds() + " s; acquired " + (won.atNanos() - destroySentAt) / 1_000_000
                + " ms after the destroy was sent, after " + (attempts.size() - 1) + " refusals (" + won.how() + ")");
        assertThat(won.acquired()).isTrue();
        // The delay starts when a server applies the destroy, never before it was sent: no acquire may land earlier.
        assertThat(won.atNanos() - destroySentAt).as("acquired inside the lock-delay: %s", attempts).isGreaterThanOrEqualTo(DELAY.toNanos());
        if (first.atNanos() - destroySentAt < DELAY.toNanos()) assertThat(first.acquired()).as(first.how()).isFalse();
        assertThat(attempts).as("refused on more than one server and by both verbs while the delay lasted")
                .filteredOn(a -> !a.acquired()).extracting(a -> a.how().substring(0, a.how().indexOf(" -> ")))
                .hasSizeGreaterThanOrEqualTo(Math.min(4, attempts.size() - 1));
    }

    @Test
    void acquireIsRefusedThroughEveryServerDuringLockDelayAndAllowedAfter() throws Exception {
        List<AgentProcess> followers = startAndAwaitNodes();
        AgentProcess a = followers.get(0);
        AgentProcess b = followers.get(1);
        String holder = session(a, "manager-a", DELAY);
        String next = session(b, "manager-b", Duration.ZERO);
        assertThat(a.http().put("/v1/kv/" + KEY + "?acquire=" + holder, "a").body().strip()).isEqualTo("true");

        long destroySentAt = System.nanoTime();
        assertThat(b.http().put("/v1/session/destroy/" + holder, (String) null).status()).isEqualTo(200);
        List<Attempt> attempts = acquireUntilHeld(cluster.servers, next);
        assertNoAcquireInsideTheDelay(attempts, destroySentAt);
        assertThat(a.http().get("/v1/kv/" + KEY + "?consistent").json().get(0).get("Session").asText()).isEqualTo(next);

        // The epoch write as a manager makes it, sent to a follower: forwarded, one entry, checked against the lock.
        String epochTxn = "[{\"KV\": {\"Verb\": \"check-session\", \"Key\": \"" + KEY + "\", \"Session\": \"%s\"}},"
                + " {\"KV\": {\"Verb\": \"cas\", \"Key\": \"failover/c1/epoch\", \"Index\": 0, \"Value\": \"MQ==\"}}]";
        Http.Reply lost = a.http().put("/v1/txn", String.format(epochTxn, holder));
        assertThat(lost.status()).as(lost.body()).isEqualTo(409);
        Http.Reply written = a.http().put("/v1/txn", String.format(epochTxn, next));
        assertThat(written.status()).as(written.body()).isEqualTo(200);
        long index = written.json().get("Results").get(1).get("KV").get("ModifyIndex").asLong();
        assertThat(index).isEqualTo(written.index());
        for (AgentProcess s : cluster.servers) {
            for (String mode : List.of("", "?consistent")) {
                Http.Reply read = s.http().put("/v1/txn" + mode, "[{\"KV\": {\"Verb\": \"get\", \"Key\": \"failover/c1/epoch\"}}]");
                assertThat(read.status()).as(s.name + mode + ": " + read.body()).isEqualTo(200);
                assertThat(read.json().get("Results").get(0).get("KV").get("ModifyIndex").asLong()).as(s.name + mode).isEqualTo(index);
            }
        }
    }

    @Test
    void aNewLeaderAfterASigkillInsideTheDelayStillHoldsTheKey() throws Exception {
        List<AgentProcess> survivors = startAndAwaitNodes();
        AgentProcess oldLeader = cluster.awaitLeader(Duration.ofSeconds(30));
        AgentProcess a = survivors.get(0);
        AgentProcess b = survivors.get(1);
        String holder = session(a, "manager-a", DELAY);
        String next = session(b, "manager-b", Duration.ZERO);
        assertThat(a.http().put("/v1/kv/" + KEY + "?acquire=" + holder, "a").body().strip()).isEqualTo("true");

        long destroySentAt = System.nanoTime();
        assertThat(oldLeader.http().put("/v1/session/destroy/" + holder, (String) null).status()).isEqualTo(200);
        oldLeader.kill();
        long killedAfter = System.nanoTime() - destroySentAt;
        List<Attempt> attempts = acquireUntilHeld(survivors, next);
        AgentProcess newLeader = cluster.awaitLeader(Duration.ofSeconds(30));
        assertThat(newLeader).isNotSameAs(oldLeader);
        System.out.println("old leader SIGKILLed " + killedAfter / 1_000_000 + " ms after the destroy was sent; new leader " + newLeader.name);
        assertNoAcquireInsideTheDelay(attempts, destroySentAt);
        assertThat(a.http().get("/v1/kv/" + KEY + "?consistent").json().get(0).get("Session").asText()).isEqualTo(next);
    }
}
