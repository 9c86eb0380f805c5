package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.raft.RaftRecovery;
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
 * Consul's outage recovery for real: three server JVMs, two SIGKILLed for good, the survivor stopped and given
 * raft/peers.json. A malformed file stops it with the reason and stays; the right one makes it a one-server cluster
 * that elects itself, with the KV exactly as it was (values and indexes), and the file is gone. Then two new servers
 * join and there are three voters again.
 */
class QuorumLossRecoveryTest {
    @TempDir Path dir;
    private ServerCluster cluster;
    private final List<AgentProcess> extra = new ArrayList<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        for (AgentProcess p : extra) p.close();
        if (cluster != null) cluster.close();
    }

    private static JsonNode kv(AgentProcess s, String query) {
        Http.Reply r = s.http().get("/v1/kv/?recurse" + query);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    /** The index of the newest finished snapshot in the server's Raft storage (-1: none yet). */
    private static long newestSnapshotIndex(AgentProcess s) throws java.io.IOException {
        return s.raftSnapshots().stream().mapToLong(AgentProcess::snapshotIndex).max().orElse(-1);
    }

    @Test
    void theSurvivorRecoversFromPeersJsonKeepsTheKvAndNewServersJoin() throws Exception {
        Path conf = dir.resolve("snap.json");
        // A low threshold: the survivor's state is in a snapshot and in the log after it.
        Files.writeString(conf, "{\"raft_snapshot_threshold\": 16, \"raft_snapshot_interval\": \"0s\"}");
        cluster = new ServerCluster(3, dir, List.of("-config-file=" + conf));
        cluster.start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        Http http = leader.http();
        for (int i = 0; i < 40; i++) assertThat(http.put("/v1/kv/app/k" + i, "v" + i).status()).isEqualTo(200);
        // The survivor's state must be in a snapshot and in the log after it (both recovery paths): first its newest
        // snapshot covers the 40 writes (catalog writes, not in the KV compared, bring its turn), then the last three
        // KV writes follow it. Its next turn is up to a threshold (16 entries) later, so they stay in the log only;
        // should its writer still cover them (a starved writer while nudges went on: review 80), the last write is
        // made again below until one is in the log after the newest snapshot.
        // (CI, session 18: without this wait the survivor's last snapshot once fell on its last entry: 0 replayed.)
        AgentProcess survivor = cluster.servers.get(0);
        long fortieth = 0;
        for (JsonNode e : kv(leader, "&consistent")) fortieth = Math.max(fortieth, e.get("ModifyIndex").asLong());
        long covered = fortieth;
        int[] nudges = {0};
        await("the survivor's newest snapshot covers the first 40 writes").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (newestSnapshotIndex(survivor) >= covered) return true;
            assertThat(http.put("/v1/catalog/register", "{\"Node\": \"nudge\", \"Address\": \"10.9.0." + (nudges[0]++ % 250 + 1) + "\"}").status()).isEqualTo(200);
            return false;
        });
        assertThat(http.delete("/v1/kv/app/k3").status()).isEqualTo(200);
        long cas = http.get("/v1/kv/app/k5").json().get(0).get("ModifyIndex").asLong();
        assertThat(http.put("/v1/kv/app/k5?cas=" + cas, "cas-ed").body().strip()).isEqualTo("true");
        JsonNode before = null;
        for (int attempt = 1; attempt <= 5; attempt++) {
            assertThat(http.put("/v1/kv/app/flagged?flags=42", "f").status()).isEqualTo(200);
            JsonNode now = kv(leader, "&consistent");
            before = now;
            // Everything the survivor acknowledged must be in its storage: wait until it has applied the last write.
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> kv(survivor, "&stale").equals(now));
            long last = 0;
            for (JsonNode e : now) last = Math.max(last, e.get("ModifyIndex").asLong());
            // A snapshot its apply started is written by now (or still a .tmp, awaited).
            Thread.sleep(1000);
            await().atMost(Duration.ofSeconds(30)).until(() -> !survivor.raftSnapshotBeingWritten());
            if (newestSnapshotIndex(survivor) < last) break;
            assertThat(attempt).as("a write left in the survivor's log after its newest snapshot").isLessThan(5);
        }
        assertThat(before).hasSize(40);
        for (AgentProcess s : cluster.servers) if (s != survivor) s.kill();
        // The survivor dies too (no snapshot on the way out): its state is in its last snapshot and the log after it.
        survivor.kill();

        Path peers = survivor.dataDir.resolve("raft").resolve("peers.json");
        String nodeId = Files.readString(survivor.dataDir.resolve("node-id")).strip();
        // A malformed file: the agent does not start, says why, and the file stays.
        Files.writeString(peers, "[{\"id\": \"" + nodeId + "\", \"address\": \"127.0.0.1\"}]");
        cluster.restart(survivor);
        assertThat(survivor.waitFor(Duration.ofSeconds(60))).as("the agent refuses to start").isTrue();
        assertThat(survivor.exitValue()).isEqualTo(1);
        assertThat(survivor.logTail(20)).contains("quorum-loss recovery refused").contains("not HOST:PORT");
        assertThat(peers).exists();

        // Consul's v3 format with the node ID from the data dir, as its docs say.
        Files.writeString(peers, "[{\"id\": \"" + nodeId + "\", \"address\": \"127.0.0.1:" + survivor.serverPort + "\", \"non_voter\": false}]");
        // A first attempt crashed half way: the old storage set aside, the new group dir formatted and nothing more.
        // The next start resumes from the storage set aside, never from the empty new dir.
        Path groupDir = RaftRecovery.groupDir(survivor.dataDir.resolve("raft"), RaftNode.groupIdFor("dc1"));
        Path aside = RaftRecovery.setAsideForRecovery(groupDir);
        Files.createDirectories(groupDir.resolve("current"));
        Files.writeString(groupDir.resolve("current").resolve("raft-meta.conf"), "#\nterm=0\nvotedFor=\n");
        Files.createDirectories(groupDir.resolve("sm"));
        cluster.restart(survivor);
        AgentProcess newLeader = cluster.awaitLeader(Duration.ofSeconds(90));
        assertThat(newLeader).isSameAs(survivor);
        assertThat(kv(survivor, "&consistent")).as("the KV as it was, indexes included").isEqualTo(before);
        assertThat(peers).doesNotExist();
        String log = Files.readString(survivor.logFile().toPath());
        assertThat(log).contains("recovery: loaded snapshot").contains("quorum-loss recovery done")
                .contains("resuming from the storage it set aside, " + aside);
        assertThat(RaftRecovery.markerFile(groupDir)).doesNotExist();
        var replayed = java.util.regex.Pattern.compile("recovery: replayed (\\d+) state entries").matcher(log);
        assertThat(replayed.find()).isTrue();
        assertThat(Long.parseLong(replayed.group(1))).as("entries after the snapshot came from the log").isPositive();
        JsonNode config = survivor.http().get("/v1/operator/raft/configuration").json();
        assertThat(config.get("Servers")).hasSize(1);
        assertThat(config.get("Servers").get(0).get("Node").asText()).isEqualTo(survivor.name);
        assertThat(config.get("Servers").get(0).get("ID").asText()).isEqualTo(nodeId);
        // Indexes go on from the old log: a new write's index is above every index the KV had.
        long maxBefore = 0;
        for (JsonNode e : before) maxBefore = Math.max(maxBefore, e.get("ModifyIndex").asLong());
        assertThat(survivor.http().put("/v1/kv/app/after", "recovered").body().strip()).isEqualTo("true");
        assertThat(survivor.http().get("/v1/kv/app/after").json().get(0).get("ModifyIndex").asLong()).isGreaterThan(maxBefore);

        // Two new servers join the recovered one: three voters again, each with the whole KV.
        for (String name : List.of("s4", "s5")) {
            AgentProcess p = new AgentProcess(name, dir.resolve(name), List.of("-server", "-bootstrap-expect=3", "-config-file=" + conf));
            extra.add(p);
            p.start(List.of("-retry-join=" + survivor.lanAddress()));
        }
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() -> {
            JsonNode servers = survivor.http().get("/v1/operator/raft/configuration").json().get("Servers");
            List<String> names = new ArrayList<>();
            for (JsonNode s : servers) if (s.get("Voter").asBoolean()) names.add(s.get("Node").asText());
            assertThat(names).containsExactlyInAnyOrder("s1", "s4", "s5");
        });
        JsonNode after = kv(survivor, "&consistent");
        assertThat(after).hasSize(41);
        for (AgentProcess p : extra) {
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> kv(p, "&stale").equals(after));
        }
        // The new group takes writes through a new server, and a quorum of it survives losing one.
        assertThat(extra.get(0).http().put("/v1/kv/app/joined", "yes").body().strip()).isEqualTo("true");
        extra.get(1).kill();
        assertThat(extra.get(0).http().put("/v1/kv/app/one-down", "still").body().strip()).isEqualTo("true");
        assertThat(survivor.http().get("/v1/kv/app/one-down?consistent&raw").body()).isEqualTo("still");
    }
}
