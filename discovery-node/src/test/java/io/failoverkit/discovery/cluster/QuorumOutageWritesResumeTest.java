package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three server JVMs; two are SIGKILLed for longer than a server's Raft client retries a request, while the survivor
 * keeps being written to and read from consistently (every one fails: no quorum). After the two come back, writes,
 * consistent reads and session renewals through every server succeed again; before the fix the survivor's client
 * stayed closed until a restart. Writes no longer go through that client (RaftNode's direct path, bounded by each
 * caller's deadline); consistent reads' ReadIndex barriers still do, and are what make it fail and be replaced here.
 */
class QuorumOutageWritesResumeTest {
    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    private static Http.Reply tryGet(AgentProcess s, String path) {
        try {
            return s.http().get(path, Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            return new Http.Reply(-1, e.toString(), null);
        }
    }

    private static Http.Reply tryPut(AgentProcess s, String path, String body) {
        try {
            return s.http().put(path, body);
        } catch (RuntimeException e) {
            return new Http.Reply(-1, e.toString(), null);
        }
    }

    @Test
    void afterAQuorumOutageEveryServerWritesAgain() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        cluster.awaitLeader(Duration.ofSeconds(90));
        for (AgentProcess s : cluster.servers) {
            assertThat(s.http().put("/v1/kv/before/" + s.name, "v").body().strip()).isEqualTo("true");
        }
        AgentProcess survivor = cluster.servers.get(0);
        // A session belongs to a node of the catalog (as in Consul): the survivor's node reaches it with a passing
        // serfHealth once the leader reconciles its membership, which a loaded machine may do after the writes above.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                tryGet(survivor, "/v1/health/node/" + survivor.name).body().contains("passing"));
        String session = survivor.http().put("/v1/session/create", "{\"TTL\": \"60s\"}").json().get("ID").asText();

        for (AgentProcess s : cluster.servers) if (s != survivor) s.kill();
        // The outage outlasts the client's retries (60 attempts, 100 ms apart, refused at once by dead servers).
        List<String> failed = new ArrayList<>();
        long until = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        int n = 0;
        while (System.nanoTime() < until) {
            Http.Reply r = tryPut(survivor, "/v1/kv/outage/" + n++, "v");
            assertThat(r.status()).as("no write commits without a quorum: %s", r.body()).isNotEqualTo(200);
            if (failed.size() < 3) failed.add(r.status() + " " + r.body().strip());
            Http.Reply read = tryGet(survivor, "/v1/kv/before/" + survivor.name + "?consistent");
            assertThat(read.status()).as("no consistent read without a quorum: %s", read.body()).isNotEqualTo(200);
            if (failed.size() < 4) failed.add("read: " + read.status() + " " + read.body().strip());
        }
        System.out.println("writes through the survivor during the outage: " + n + " failed, the first: " + failed);

        for (AgentProcess s : cluster.servers) if (s != survivor) cluster.restart(s);
        cluster.awaitLeader(Duration.ofSeconds(120));
        for (AgentProcess s : cluster.servers) {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                Http.Reply r = tryPut(s, "/v1/kv/after/" + s.name, "ok");
                assertThat(r.status()).as("write through %s: %s", s.name, r.body()).isEqualTo(200);
                assertThat(r.body().strip()).isEqualTo("true");
            });
            // Not a lucky one: it keeps writing.
            assertThat(s.http().put("/v1/kv/after/" + s.name, "again").body().strip()).isEqualTo("true");
        }
        Http.Reply renew = survivor.http().put("/v1/session/renew/" + session, "");
        assertThat(renew.status()).as(renew.body()).isEqualTo(200);
        assertThat(survivor.http().get("/v1/kv/after/" + survivor.name + "?consistent&raw").body()).isEqualTo("again");
        // The survivor got there by replacing its Raft client after a consistent read failed inside it (the path this
        // test is about was taken).
        assertThat(Files.readString(survivor.logFile().toPath())).contains("replaced by");
    }
}
