package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Cli.Run;
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

import static io.failoverkit.discovery.testing.Cli.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Raft configuration of three server JVMs as an operator changes it: list-peers, a server that leaves gracefully
 * is removed by the leader's dead-server cleanup, a new server joins as a voter, and remove-peer takes out one that
 * was SIGKILLed. The KV takes writes throughout.
 */
class RaftMembershipClusterTest {
    @TempDir Path dir;
    private ServerCluster cluster;
    private AgentProcess fourth;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (fourth != null) fourth.close();
        if (cluster != null) cluster.close();
    }

    private static List<String> voters(AgentProcess s) {
        List<String> names = new ArrayList<>();
        for (JsonNode v : s.http().get("/v1/operator/raft/configuration").json().get("Servers")) {
            if (v.get("Voter").asBoolean()) names.add(v.get("Node").asText());
        }
        return names;
    }

    private static int memberStatus(AgentProcess from, String name) {
        for (JsonNode m : from.http().get("/v1/agent/members").json()) if (m.get("Name").asText().equals(name)) return m.get("Status").asInt();
        return -1;
    }

    @Test
    void listPeersCleanupOfALeftServerJoinAndRemovePeer() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        List<AgentProcess> followers = cluster.servers.stream().filter(s -> s != leader).toList();

        // list-peers through a follower: Consul's columns, three voters, one leader, node IDs from the data dirs.
        Run list = run("operator", "raft", "list-peers", "-http-addr=127.0.0.1:" + followers.get(0).httpPort);
        assertThat(list.code()).as(list.err()).isZero();
        String[] lines = list.out().strip().split("\n");
        assertThat(lines).hasSize(4);
        assertThat(lines[0].split("\\s+")).containsExactly("Node", "ID", "Address", "State", "Voter", "RaftProtocol");
        for (AgentProcess s : cluster.servers) {
            String id = Files.readString(s.dataDir.resolve("node-id")).strip();
            String state = s == leader ? "leader" : "follower";
            assertThat(lines).anySatisfy(l -> assertThat(l.split("\\s+")).containsExactly(s.name, id, "127.0.0.1:" + s.serverPort, state, "true", "3"));
        }
        long index0 = leader.http().get("/v1/operator/raft/configuration").json().get("Index").asLong();

        // A follower leaves gracefully: the leader removes it (two of three stay healthy), and says why.
        AgentProcess leaving = followers.get(1);
        assertThat(leaving.http().put("/v1/agent/leave", "").status()).isEqualTo(200);
        assertThat(leaving.waitFor(Duration.ofSeconds(60))).isTrue();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .untilAsserted(() -> assertThat(voters(leader)).containsExactlyInAnyOrder(leader.name, followers.get(0).name));
        assertThat(Files.readString(leader.logFile().toPath()))
                .contains("autopilot: removing server " + leaving.name).contains("it left the pool");
        assertThat(leader.http().get("/v1/operator/raft/configuration").json().get("Index").asLong()).isGreaterThan(index0);
        assertThat(leader.http().put("/v1/kv/after-leave", "ok").body().strip()).isEqualTo("true");

        // A new server joins the running group (it does not bootstrap one of its own): a voter, with the KV.
        fourth = new AgentProcess("s4", dir.resolve("s4"), List.of("-server", "-bootstrap-expect=3"));
        fourth.start(List.of("-retry-join=" + leader.lanAddress()));
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .untilAsserted(() -> assertThat(voters(leader)).containsExactlyInAnyOrder(leader.name, followers.get(0).name, "s4"));
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> fourth.http().get("/v1/kv/after-leave?stale&raw").body().equals("ok"));

        // SIGKILL it; once the pool knows it failed, remove-peer takes it out of the configuration.
        fourth.kill();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> memberStatus(leader, "s4") == 4);
        Run missing = run("operator", "raft", "remove-peer", "-address=127.0.0.1:1", "-http-addr=127.0.0.1:" + leader.httpPort);
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("address \"127.0.0.1:1\" was not found in the Raft configuration");
        Run remove = run("operator", "raft", "remove-peer", "-address=127.0.0.1:" + fourth.serverPort,
                "-http-addr=127.0.0.1:" + followers.get(0).httpPort);
        assertThat(remove.code()).as(remove.err()).isZero();
        assertThat(remove.out().strip()).isEqualTo("Removed peer with address \"127.0.0.1:" + fourth.serverPort + "\"");
        assertThat(voters(leader)).containsExactlyInAnyOrder(leader.name, followers.get(0).name);
        assertThat(Files.readString(leader.logFile().toPath()) + Files.readString(followers.get(0).logFile().toPath()))
                .contains("operator request: removing server s4");
        Http.Reply w = followers.get(0).http().put("/v1/kv/after-remove", "ok");
        assertThat(w.body().strip()).as(w.body()).isEqualTo("true");
    }

    @Test
    void aServerFailedLongerThanTheBoundIsRemovedAndAddedBackWhenItReturns() throws Exception {
        cluster = new ServerCluster(3, dir, List.of("-J-Dfailoverkit.autopilot.dead-server-after-ms=4000")).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        AgentProcess victim = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
        victim.kill();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .untilAsserted(() -> assertThat(voters(leader)).hasSize(2).doesNotContain(victim.name));
        // Whichever server leads by then removed it (on a loaded box the leadership may have moved meanwhile).
        StringBuilder logs = new StringBuilder();
        for (AgentProcess s : cluster.servers) if (s != victim) logs.append(Files.readString(s.logFile().toPath()));
        String log = logs.toString();
        assertThat(log).contains("autopilot: removing server " + victim.name).containsPattern("failed for \\d+ s \\(bound 4 s\\)");
        assertThat(leader.http().put("/v1/kv/while-removed", "ok").body().strip()).isEqualTo("true");

        // It comes back with its old storage: alive again, so the leader adds it again, and it catches up.
        cluster.restart(victim);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .untilAsserted(() -> assertThat(voters(leader)).hasSize(3).contains(victim.name));
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> victim.http().get("/v1/kv/while-removed?stale&raw").body().equals("ok"));
    }
}
