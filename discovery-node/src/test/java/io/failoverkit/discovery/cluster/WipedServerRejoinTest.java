package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.Main;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A server whose data dir is wiped keeps its node name, which is its Raft ID: the running configuration still lists
 * it. Started as a voting member with an empty log it could vote for a leader missing committed entries, so it refuses
 * to start and says how to proceed; once an operator removed it with remove-peer it joins as a new server.
 */
class WipedServerRejoinTest {
    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    private static List<String> voters(AgentProcess s) {
        List<String> names = new ArrayList<>();
        for (JsonNode v : s.http().get("/v1/operator/raft/configuration").json().get("Servers")) {
            if (v.get("Voter").asBoolean()) names.add(v.get("Node").asText());
        }
        return names;
    }

    private static void wipe(Path dataDir) throws Exception {
        try (Stream<Path> all = Files.walk(dataDir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Test
    void aWipedServerStillListedAsAVoterRefusesToStartUntilRemoved() throws Exception {
        cluster = new ServerCluster(3, dir);
        cluster.start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        assertThat(leader.http().put("/v1/kv/before", "wipe").body().strip()).isEqualTo("true");
        AgentProcess victim = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> victim.http().get("/v1/kv/before?stale&raw").body().equals("wipe"));

        victim.kill();
        wipe(victim.dataDir);
        cluster.restart(victim);
        assertThat(victim.waitFor(Duration.ofSeconds(90))).as("the wiped server refuses to start").isTrue();
        assertThat(victim.exitValue()).isEqualTo(1);
        assertThat(victim.logTail(30)).contains("Raft storage is gone but the cluster still lists it as a voter")
                .contains("remove-peer -id=" + victim.name);
        assertThat(voters(leader)).contains(victim.name);

        // As the message says: remove it on the cluster, then start it again; it joins as a new server.
        var cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute("operator", "raft", "remove-peer", "-id=" + victim.name, "-http-addr=127.0.0.1:" + leader.httpPort))
                .as(err.toString()).isZero();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> !voters(leader).contains(victim.name));
        cluster.restart(victim);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> voters(leader).contains(victim.name) && voters(leader).size() == 3);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> victim.http().get("/v1/kv/before?stale&raw").body().equals("wipe"));
        assertThat(victim.isRunning()).isTrue();
    }

    @Test
    void aServerRemovedWhileAwayIsToldSoByTheLeaderAndJoinsAgainKeepingItsOldStorage() throws Exception {
        cluster = new ServerCluster(3, dir);
        cluster.start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        assertThat(leader.http().put("/v1/kv/before", "away").body().strip()).isEqualTo("true");
        AgentProcess away = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> away.http().get("/v1/kv/before?stale&raw").body().equals("away"));
        away.kill();
        var cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute("operator", "raft", "remove-peer", "-id=" + away.name, "-http-addr=127.0.0.1:" + leader.httpPort))
                .as(err.toString()).isZero();
        assertThat(leader.http().put("/v1/kv/while", "away").body().strip()).isEqualTo("true");

        cluster.restart(away);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> voters(leader).contains(away.name) && voters(leader).size() == 3);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> away.http().get("/v1/kv/while?stale&raw").body().equals("away"));
        assertThat(Files.readString(away.logFile().toPath())).contains("removed while it was away");
        try (Stream<Path> dirs = Files.list(away.dataDir.resolve("raft"))) {
            assertThat(dirs.map(d -> d.getFileName().toString()).filter(n -> n.contains(".removed-")).toList())
                    .as("the old storage is kept, set aside").hasSize(1);
        }
    }
}
