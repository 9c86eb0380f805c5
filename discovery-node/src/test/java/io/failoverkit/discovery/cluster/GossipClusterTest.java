package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Discovery-node agents in their own JVMs on loopback, joined by gossip (SWIM + Serf on the LAN port): servers whose
 * -retry-join names all three (themselves included) form one cluster whatever the boot order; agents joined through
 * one learn the whole pool; a SIGKILLed agent is failed everywhere and its services leave DNS; a leave is a leave;
 * a user event runs each agent's handler exactly once; an oversized one is refused with nothing sent.
 */
class GossipClusterTest {
    @TempDir Path dir;
    private final List<AgentProcess> started = new ArrayList<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        for (AgentProcess p : started) p.close();
    }

    private AgentProcess agent(String name, List<String> args) {
        AgentProcess p = new AgentProcess(name, dir.resolve(name + "-" + System.nanoTime()), args);
        started.add(p);
        return p;
    }

    // ---- three servers, every -retry-join naming all three ----

    private List<AgentProcess> threeServers(String round) {
        List<AgentProcess> s = new ArrayList<>();
        for (int i = 1; i <= 3; i++) s.add(agent(round + "-s" + i, List.of("-server", "-bootstrap-expect=3", "-log-level=info")));
        return s;
    }

    private static List<String> retryJoinAll(List<AgentProcess> servers) {
        List<String> args = new ArrayList<>();
        for (AgentProcess o : servers) args.add("-retry-join=" + o.lanAddress());
        return args;
    }

    /** One Raft leader named by all three, and each server lists the three servers alive. */
    private static void assertOneCluster(List<AgentProcess> servers, String scenario) {
        long t0 = System.nanoTime();
        await(scenario).atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            String leader = null;
            for (AgentProcess s : servers) {
                String l = s.http().get("/v1/status/leader", Duration.ofSeconds(3)).json().asText();
                assertThat(l).as("%s: %s knows a leader", scenario, s.name).isNotEmpty();
                if (leader != null) assertThat(l).as("%s: every server names the same leader", scenario).isEqualTo(leader);
                leader = l;
                assertThat(aliveNames(s)).as("%s: members alive as %s sees them", scenario, s.name)
                        .containsExactlyInAnyOrderElementsOf(servers.stream().map(x -> x.name).toList());
            }
            for (AgentProcess s : servers) {
                assertThat(s.http().get("/v1/status/peers", Duration.ofSeconds(3)).json()).as("%s: one Raft group of three", scenario).hasSize(3);
            }
        });
        System.out.printf("%s: one leader and 3 alive everywhere %d ms after the last start%n", scenario, (System.nanoTime() - t0) / 1_000_000);
    }

    private static List<String> aliveNames(AgentProcess a) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : a.http().get("/v1/agent/members", Duration.ofSeconds(3)).json()) if (m.get("Status").asInt() == 1) out.add(m.get("Name").asText());
        return out;
    }

    private static Map<String, Integer> statuses(AgentProcess a) {
        Map<String, Integer> out = new HashMap<>();
        for (JsonNode m : a.http().get("/v1/agent/members", Duration.ofSeconds(3)).json()) out.put(m.get("Name").asText(), m.get("Status").asInt());
        return out;
    }

    private void stopAll(List<AgentProcess> ps) throws InterruptedException {
        for (AgentProcess p : ps) p.kill();
    }

    @Test
    void threeServersRetryJoiningAllThreeFormOneClusterWhateverTheBootOrder() throws Exception {
        // All at once.
        List<AgentProcess> a = threeServers("together");
        for (AgentProcess s : a) s.start(retryJoinAll(a));
        assertOneCluster(a, "all at once");
        stopAll(a);

        // The first-listed boots last, after the others formed their pair (the never-elects case).
        List<AgentProcess> b = threeServers("firstlast");
        b.get(1).start(retryJoinAll(b));
        b.get(2).start(retryJoinAll(b));
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> aliveNames(b.get(1)).size() == 2 && aliveNames(b.get(2)).size() == 2);
        b.get(0).start(retryJoinAll(b));
        assertOneCluster(b, "first-listed last");
        stopAll(b);

        // Seconds between each.
        List<AgentProcess> c = threeServers("spaced");
        for (AgentProcess s : c) {
            s.start(retryJoinAll(c));
            Thread.sleep(3000);
        }
        assertOneCluster(c, "three seconds apart");
        stopAll(c);
    }

    @Test
    void repeatedColdStartsOfThreeServersAlwaysFormOneCluster() throws Exception {
        for (int round = 1; round <= 3; round++) {
            List<AgentProcess> s = threeServers("cold" + round);
            for (AgentProcess x : s) x.start(retryJoinAll(s));
            assertOneCluster(s, "cold start " + round);
            stopAll(s);
        }
    }

    // ---- ten agents through one: membership, events, failure, leave ----

    /**
     * A node that died while no server ran, and that the pool has forgotten by the time the server is back, is
     * marked critical by the new leader once it has led the pool for the grace (here 3 s; 60 s by default), so its
     * sessions (a failover lock's kind) do not outlive it. Before, it stayed passing for good: no member of the pool
     * remembered it and the leader had never seen it.
     */
    @Test
    void aNodeThatDiedWhileNoServerRanIsMarkedCriticalByTheNextLeader() throws Exception {
        AgentProcess server = agent("srv", List.of("-server", "-bootstrap-expect=1", "-J-Dfailoverkit.reconcile.unknown-grace-ms=3000"));
        server.start(List.of());
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> !server.http().get("/v1/status/leader").json().asText().isEmpty());
        AgentProcess c1 = agent("c1", List.of());
        AgentProcess c2 = agent("c2", List.of());
        c1.start(List.of("-retry-join=" + server.lanAddress()));
        c2.start(List.of("-retry-join=" + server.lanAddress()));
        await("serfHealth passing for c1 and c2").atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
            for (String n : List.of("c1", "c2")) assertThat(server.http().get("/v1/health/node/" + n).body()).as(n).contains("serfHealth").contains("passing");
        });
        String session = server.http().put("/v1/session/create", "{\"Node\": \"c1\"}").json().get("ID").asText();

        server.stop();
        c1.kill();
        await("c2 saw c1 fail").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .untilAsserted(() -> assertThat(statuses(c2).get("c1")).isEqualTo(4));
        // memberlist drops a dead node from what it push-pulls after gossipToTheDeadTime (30 s); Serf still lists it
        // as failed but does not pass it on, so the restarted server never hears of c1.
        Thread.sleep(35_000);
        server.start(List.of("-retry-join=" + c2.lanAddress()));

        await("c1 critical, its session gone").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
            assertThat(server.http().get("/v1/health/node/c1").body()).contains("critical");
            assertThat(server.http().get("/v1/session/info/" + session).body().strip()).isIn("[]", "null");
        });
        assertThat(server.http().get("/v1/health/node/c2").body()).as("the live client").contains("passing").doesNotContain("critical");
    }

    @Test
    void tenAgentsJoinThroughOneAndSeeEventsFailuresAndLeaves() throws Exception {
        Path events = Files.createDirectories(dir.resolve("events"));
        AgentProcess server = agent("srv", List.of("-server", "-bootstrap-expect=1", "-event-handler=user=echo \"$SERF_USER_EVENT $SERF_USER_LTIME\" >> " + events.resolve("srv")));
        server.start(List.of());
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> !server.http().get("/v1/status/leader").json().asText().isEmpty());
        List<AgentProcess> clients = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            String name = "c" + i;
            Path cfg = dir.resolve(name + ".json");
            Files.writeString(cfg, "{\"service\": {\"name\": \"web\", \"port\": " + (8000 + i) + "}}");
            AgentProcess c = agent(name, List.of("-config-file=" + cfg, "-node-meta=rack:r" + (i % 3),
                    "-event-handler=user=echo \"$SERF_USER_EVENT $SERF_USER_LTIME\" >> " + events.resolve(name)));
            clients.add(c);
            c.start(List.of("-retry-join=" + server.lanAddress()));
        }
        List<AgentProcess> all = new ArrayList<>(clients);
        all.add(server);
        List<String> names = all.stream().map(p -> p.name).toList();

        // Every agent learns every other, though each named only the server.
        await("all 11 alive everywhere").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
            for (AgentProcess a : all) assertThat(aliveNames(a)).as("alive as %s sees them", a.name).containsExactlyInAnyOrderElementsOf(names);
        });
        // Clients count as clients; the catalog has every node with a passing serfHealth and the node meta.
        JsonNode members = server.http().get("/v1/agent/members").json();
        for (JsonNode m : members) {
            assertThat(m.path("Tags").path("role").asText()).isEqualTo(m.get("Name").asText().equals("srv") ? "consul" : "node");
            assertThat(m.get("ProtocolCur").asInt()).isPositive();
            assertThat(m.get("Port").asInt()).isPositive();
            String n = m.get("Name").asText();
            // -node-meta is gossiped too: every member's tags carry it
            if (!n.equals("srv")) assertThat(m.path("Tags").path("rack").asText()).as("gossiped node meta of %s", n)
                    .isEqualTo("r" + (Integer.parseInt(n.substring(1)) % 3));
        }
        await("serfHealth passing for all").atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
            for (String n : names) assertThat(server.http().get("/v1/health/node/" + n).body()).as(n).contains("serfHealth").contains("passing");
        });
        await("node meta in the catalog").atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                assertThat(server.http().get("/v1/catalog/node/c4").json().path("Node").path("Meta").path("rack").asText()).isEqualTo("r1"));
        await("10 web instances in DNS").atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                assertThat(srvTargets(server.dnsPort, "web.service.consul")).hasSize(10));

        // An oversized event is refused and goes nowhere; then a real one runs every handler exactly once.
        Http.Reply big = server.http().put("/v1/event/fire/big", "x".repeat(600));
        assertThat(big.status()).as(big.body()).isEqualTo(400);
        assertThat(big.body()).contains("512");
        long firedAt = System.nanoTime();
        Http.Reply fired = clients.get(0).http().put("/v1/event/fire/deploy", "v42");
        assertThat(fired.status()).as(fired.body()).isEqualTo(200);
        JsonNode ev = fired.json();
        assertThat(ev.get("Name").asText()).isEqualTo("deploy");
        assertThat(new String(java.util.Base64.getDecoder().decode(ev.get("Payload").asText()))).isEqualTo("v42");
        assertThat(ev.get("Version").asInt()).isEqualTo(1);
        String id = ev.get("ID").asText();
        await("every handler ran").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            for (String n : names) assertThat(lines(events.resolve(n))).as("handler runs on %s", n).isNotEmpty();
        });
        System.out.printf("user event fired -> all 11 handlers ran within %d ms (polled every 200 ms)%n", (System.nanoTime() - firedAt) / 1_000_000);
        Thread.sleep(5000); // a duplicate delivery would show by now (Serf retransmits for a few gossip rounds)
        for (String n : names) {
            List<String> l = lines(events.resolve(n));
            assertThat(l).as("handler runs on %s", n).hasSize(1);
            assertThat(l.get(0)).startsWith("deploy ");
        }
        for (AgentProcess a : all) {
            JsonNode list = a.http().get("/v1/event/list?name=deploy").json();
            assertThat(list).as("event list on %s", a.name).hasSize(1);
            assertThat(list.get(0).get("ID").asText()).isEqualTo(id);
            assertThat(a.http().get("/v1/event/list?name=big").json()).isEmpty();
        }

        // SIGKILL one: every other marks it failed, its serfHealth turns critical and its instance leaves DNS.
        AgentProcess victim = clients.get(2);
        long killedAt = System.nanoTime();
        victim.kill();
        List<AgentProcess> rest = all.stream().filter(a -> a != victim).toList();
        await("failed everywhere").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            for (AgentProcess a : rest) assertThat(statuses(a).get(victim.name)).as("%s as %s sees it", victim.name, a.name).isEqualTo(4);
        });
        System.out.printf("SIGKILL -> failed on all 10 others within %d ms (polled every 250 ms)%n", (System.nanoTime() - killedAt) / 1_000_000);
        await("serfHealth critical").atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                assertThat(server.http().get("/v1/health/node/" + victim.name).body()).contains("critical"));
        await("out of DNS").atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
            List<String> targets = srvTargets(server.dnsPort, "web.service.consul");
            assertThat(targets).hasSize(9);
            assertThat(targets).noneMatch(t -> t.startsWith(victim.name + "."));
        });
        // No live agent was taken for failed along the way.
        for (AgentProcess a : rest) assertThat(aliveNames(a)).as("alive as %s sees them", a.name).hasSize(10);

        // A graceful leave: left everywhere, and its catalog node deregistered.
        AgentProcess leaver = clients.get(3);
        assertThat(leaver.http().put("/v1/agent/leave", (String) null).status()).isEqualTo(200);
        List<AgentProcess> stay = rest.stream().filter(a -> a != leaver).toList();
        await("left everywhere").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            for (AgentProcess a : stay) assertThat(statuses(a).get(leaver.name)).as("%s as %s sees it", leaver.name, a.name).isEqualTo(3);
        });
        await("deregistered").atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                assertThat(server.http().get("/v1/catalog/node/" + leaver.name).body().strip()).isEqualTo("null"));
        // force-leave moves the failed one to left, and the leader deregisters it too.
        assertThat(server.http().put("/v1/agent/force-leave/" + victim.name, (String) null).status()).isEqualTo(200);
        await("force-left").atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
            assertThat(statuses(server).get(victim.name)).isEqualTo(3);
            assertThat(server.http().get("/v1/catalog/node/" + victim.name).body().strip()).isEqualTo("null");
        });
        assertThat(server.http().put("/v1/agent/force-leave/no-such-node", (String) null).status()).isEqualTo(404);

        // A late joiner (a new or restarted agent) does not re-run the pool's past user events: agents join with
        // ignoreOld, as Consul's JoinLAN (with it off, the deploy handler ran again on every restart).
        AgentProcess late = agent("late", List.of("-event-handler=user=echo \"$SERF_USER_EVENT $SERF_USER_LTIME\" >> " + events.resolve("late")));
        late.start(List.of("-retry-join=" + server.lanAddress()));
        await("the late joiner knows the pool").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(aliveNames(late)).hasSize(stay.size() + 1));
        Thread.sleep(5000); // a replay would have run by now (the push-pull that taught it the pool carried the event)
        assertThat(lines(events.resolve("late"))).as("past events replayed on the late joiner").isEmpty();
    }

    // ---- an encrypted pool: key rotation with no downtime, keys kept across a restart, a wrong key kept out ----

    @Test
    void anEncryptedPoolRotatesItsKeyWithNoDowntimeAndARestartKeepsTheNewKey() throws Exception {
        String k1 = GossipKeys.generate();
        String k2 = GossipKeys.generate();
        AgentProcess server = agent("ksrv", List.of("-server", "-bootstrap-expect=1", "-encrypt=" + k1));
        server.start(List.of());
        AgentProcess c1 = agent("kc1", List.of("-encrypt=" + k1));
        AgentProcess c2 = agent("kc2", List.of("-encrypt=" + k1));
        c1.start(List.of("-retry-join=" + server.lanAddress()));
        c2.start(List.of("-retry-join=" + server.lanAddress()));
        List<AgentProcess> all = List.of(server, c1, c2);
        List<String> names = List.of("ksrv", "kc1", "kc2");
        await("encrypted pool of 3").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            for (AgentProcess a : all) assertThat(aliveNames(a)).containsExactlyInAnyOrderElementsOf(names);
        });

        assertThat(keyring(server, "POST", k2).status()).isEqualTo(200);
        JsonNode ring = server.http().get("/v1/operator/keyring").json().get(0);
        assertThat(ring.get("NumNodes").asInt()).isEqualTo(3);
        assertThat(ring.get("Keys").get(k1).asInt()).isEqualTo(3);
        assertThat(ring.get("Keys").get(k2).asInt()).isEqualTo(3);
        assertThat(keyring(c1, "PUT", k2).status()).as("any agent takes the request for the pool").isEqualTo(200);
        assertThat(server.http().get("/v1/operator/keyring").json().get(0).get("PrimaryKeys").get(k2).asInt()).isEqualTo(3);
        assertThat(keyring(server, "DELETE", k1).status()).isEqualTo(200);
        JsonNode after = server.http().get("/v1/operator/keyring").json().get(0);
        assertThat(after.get("Keys").size()).isEqualTo(1);
        assertThat(after.get("Keys").get(k2).asInt()).isEqualTo(3);
        // No downtime: nobody was ever taken for failed, and the pool still talks (on k2 only now).
        Thread.sleep(3000);
        for (AgentProcess a : all) assertThat(statuses(a).values()).as("as %s sees them", a.name).containsOnly(1);

        // A restart keeps the keys installed at run time (serf/local.keyring wins over the -encrypt it was started with).
        c1.kill();
        c1.start(List.of("-retry-join=" + server.lanAddress()));
        await("kc1 back on k2").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            for (AgentProcess a : all) assertThat(aliveNames(a)).containsExactlyInAnyOrderElementsOf(names);
        });

        // An agent with the old key alone cannot join: its -join fails and nothing in the pool changes.
        long droppedBefore = server.http().get("/v1/agent/self").json().path("Stats").path("serf_lan").path("dropped_packets").asLong();
        AgentProcess stranger = agent("kc3", List.of("-encrypt=" + k1));
        stranger.start(List.of("-join=" + server.lanAddress()));
        assertThat(stranger.waitFor(Duration.ofSeconds(60))).as("the agent with the wrong key gives up").isTrue();
        assertThat(statuses(server)).doesNotContainKey("kc3");
        assertThat(server.http().get("/v1/agent/self").json().path("Stats").path("serf_lan").path("dropped_packets").asLong())
                .as("its attempts were dropped and counted").isGreaterThan(droppedBefore);
    }

    private static Http.Reply keyring(AgentProcess a, String method, String key) {
        return a.http().send(method, "/v1/operator/keyring", ("{\"Key\": \"" + key + "\"}").getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(20));
    }

    private static List<String> lines(Path f) throws IOException {
        return Files.exists(f) ? Files.readAllLines(f, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList() : List.of();
    }

    /** The targets of the SRV answers for {@code name}, by the real dig. */
    private static List<String> srvTargets(int dnsPort, String name) throws Exception {
        Process p = new ProcessBuilder("dig", "@127.0.0.1", "-p", Integer.toString(dnsPort), "+time=3", "+tries=1", "+short", name, "SRV")
                .redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("dig did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        List<String> targets = new ArrayList<>();
        for (String l : out.lines().toList()) {
            String[] parts = l.trim().split("\\s+");
            if (parts.length == 4 && !l.startsWith(";")) targets.add(parts[3]);
        }
        return targets;
    }
}
