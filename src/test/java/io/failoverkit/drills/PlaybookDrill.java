package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The runbooks in playbooks/, run by `failover playbook run` against a lab: a discovery node (with gossip
 * encryption) and a Redis master with two replicas as local processes. Every page in dry run (nothing destructive
 * runs, the lab is unchanged, the checks that do not hold on a healthy lab say so), then the switchover and the
 * replica rebuild for real, asserting the end state and the audit in the KV. The steps call `failover` and
 * `discovery-node` through wrappers that start this build's classes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlaybookDrill {
    static final ObjectMapper JSON = new ObjectMapper();
    static Agent agent;
    static String http;
    static String gossipKey;
    static LocalRedisLab lab;
    static Path work, bin, pages, definition;
    static final String CLUSTER = "pb-redis";
    static final RedisServers redis = new RedisServers(1000, null);

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("playbook-drill");
        gossipKey = io.failoverkit.discovery.cluster.GossipKeys.generate();
        AgentConfig cfg = new AgentConfig();
        cfg.dev = true;
        cfg.nodeName = "pb-discovery";
        cfg.httpPort = DiscoveryLab.freePort();
        cfg.dnsPort = DiscoveryLab.freePort();
        cfg.serverPort = DiscoveryLab.freePort();
        cfg.serfLanPort = DiscoveryLab.freePort();
        cfg.encrypt = gossipKey;
        Files.createDirectories(work.resolve("discovery"));
        cfg.validate();
        agent = Agent.start(cfg);
        http = "127.0.0.1:" + agent.httpPort();
        await().atMost(Duration.ofSeconds(30)).until(() -> leader().matches("\"[^\"]+\""));

        lab = new LocalRedisLab(work.resolve("redis"), 2);
        definition = Files.writeString(work.resolve(CLUSTER + ".json"), JSON.writeValueAsString(Map.of(
                "name", CLUSTER, "kind", "redis", "members", lab.addresses())));
        DiscoveryClient d = new DiscoveryClient(http);
        String master = lab.servers.get(0).address();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            new Catalog(d, CLUSTER).register(master, List.of(lab.servers.get(1).address(), lab.servers.get(2).address()));
            return lab.servers.stream().skip(1).map(s -> redis.observe(s.address())).allMatch(InstanceState::masterLinkUp);
        });

        bin = PlaybookLab.bin(work);
        pages = PlaybookLab.pages();
    }

    @AfterAll
    static void stop() throws Exception {
        if (lab != null) lab.close();
        if (agent != null) agent.close();
        PlaybookLab.delete(work);
    }

    static String leader() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + http + "/v1/status/leader")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    static PlaybookLab.Run playbook(String... args) { return PlaybookLab.run(http, pages, bin, args); }

    static Map<String, JsonNode> audit(String prefix, String page) throws Exception { return PlaybookLab.audit(http, prefix, page); }

    /** What a dry run must never change. */
    record LabState(String master, List<String> writable, long epoch, List<String> catalog, String leader) {}

    static LabState labState() throws Exception {
        DiscoveryClient d = new DiscoveryClient(http);
        List<String> writable = lab.addresses().stream().filter(a -> { InstanceState s = redis.observe(a); return s.isMaster() && s.writable(); }).toList();
        EpochStore.Read e = new EpochStore(d, CLUSTER).read();
        return new LabState(e.state().master(), writable, e.state().epoch(), new Catalog(d, CLUSTER).masters(), leader());
    }

    /** The steps of a dry run's output: name, and whether it ran. */
    static void assertDryRun(PlaybookLab.Run r, String page, int exit, String firstFailedCheck) throws Exception {
        assertThat(r.exit()).as(page + ": " + r.out() + r.err()).isEqualTo(exit);
        io.failoverkit.failover.playbook.Playbook p = io.failoverkit.failover.playbook.Playbook.read(pages.resolve(page + ".md"));
        boolean destructiveSeen = false;
        for (io.failoverkit.failover.playbook.Playbook.Step s : p.runSteps(false)) {
            if (s.kind() != null && !s.kind().equals("redis")) {
                assertThat(r.out()).as(page + ": a mysql step is left out of a redis run").doesNotContain(" " + s.name() + " [");
                continue;
            }
            Matcher m = Pattern.compile("step \\d+/\\d+ " + Pattern.quote(s.name()) + " \\[[^\\n]*\\n((?:  \\$ [^\\n]*\\n)+)  ([^\\n]*)").matcher(r.out());
            assertThat(m.find()).as(page + ": step " + s.name() + " is shown with its command").isTrue();
            if (s.destructive() || destructiveSeen) {
                assertThat(m.group(2)).as(page + ": " + s.name() + " is not run").startsWith("would run (dry run");
            } else {
                assertThat(m.group(2)).as(page + ": check " + s.name() + " runs").startsWith("runs in the dry run");
            }
            destructiveSeen |= s.destructive();
        }
        if (firstFailedCheck != null) assertThat(r.out()).contains("checks failed [" + firstFailedCheck);
        else assertThat(r.out()).contains("DRY RUN done: every read-only check passed");
        Map<String, JsonNode> entries = audit(page.startsWith("discovery") || page.startsWith("gossip") ? "failoverkit/playbooks/audit/" : "failover/" + CLUSTER + "/audit/", page);
        assertThat(entries).as(page + ": its dry run is in the audit").isNotEmpty();
        assertThat(entries.values()).allMatch(e -> e.path("dryRun").asBoolean() && e.path("by").asText().contains("@"));
        assertThat(entries.values()).noneMatch(e -> e.path("destructive").asBoolean() && !e.path("outcome").asText().equals("would-run"));
    }

    @Test
    @Order(1)
    void everyPlaybookInDryRunRunsNothingDestructive() throws Exception {
        LabState before = labState();
        String master = lab.servers.get(0).address(), replica1 = lab.servers.get(1).address(), replica2 = lab.servers.get(2).address();
        String c = definition.toString();
        String serverAddr = "127.0.0.1:" + agent.config().serverPort;

        assertDryRun(playbook("switchover", "--cluster", c, "--dry-run"), "switchover", 0, null);
        assertDryRun(playbook("replica-rebuild", "--cluster", c, "--dry-run", "--set", "REPLICA=" + replica2), "replica-rebuild", 0, null);
        assertDryRun(playbook("old-master-returns", "--cluster", c, "--dry-run", "--set", "OLD_MASTER=" + replica1), "old-master-returns", 0, null);
        // The pages for situations a healthy lab is not in stop at the check that makes sure of the situation.
        assertDryRun(playbook("master-lost", "--cluster", c, "--dry-run"), "master-lost", 1, "unacknowledged-failover");
        PlaybookLab.Run split = playbook("split-brain", "--cluster", c, "--dry-run");
        assertDryRun(split, "split-brain", 1, "critical");
        assertThat(split.out()).contains("keeping " + master);
        String nodeId = java.util.UUID.randomUUID().toString();
        Files.writeString(work.resolve("discovery/node-id"), nodeId + "\n");
        PlaybookLab.Run quorum = playbook("discovery-quorum-loss", "--dry-run", "--set", "SURVIVORS=" + nodeId + "=" + serverAddr,
                "--set", "DATA_DIRS=" + work.resolve("discovery"), "--set", "STOP_SERVERS=false", "--set", "START_SERVERS=false");
        assertDryRun(quorum, "discovery-quorum-loss", 1, "no-leader");
        assertThat(quorum.out()).contains("the cluster HAS a leader").contains("data dir " + work.resolve("discovery") + ": node ID " + nodeId)
                .contains("$ for s in " + nodeId + "=" + serverAddr + "; do json=").contains("/raft/peers.json");
        assertDryRun(playbook("discovery-rolling-upgrade", "--dry-run", "--set", "SERVER=pb-discovery", "--set", "STOP_SERVER=false",
                "--set", "START_SERVER=false", "--set", "SNAPSHOT_FILE=" + work.resolve("s.snap")), "discovery-rolling-upgrade", 0, null);
        assertDryRun(playbook("discovery-add-server", "--dry-run", "--set", "NEW_SERVER=pb-new", "--set", "NEW_SERVER_ADDR=127.0.0.1:9",
                "--set", "START_NEW_SERVER=false"), "discovery-add-server", 0, null);
        PlaybookLab.Run remove = playbook("discovery-remove-server", "--dry-run", "--set", "REMOVE_SERVER=pb-discovery", "--set", "REMOVE_SERVER_ADDR=" + serverAddr);
        assertDryRun(remove, "discovery-remove-server", 1, "is-a-peer");
        assertThat(remove.out()).contains("refusing to remove the last server");
        String newKey = io.failoverkit.discovery.cluster.GossipKeys.generate();
        PlaybookLab.Run gossip = playbook("gossip-key-rotation", "--dry-run", "--set", "OLD_KEY=" + gossipKey, "--set", "NEW_KEY=" + newKey);
        assertDryRun(gossip, "gossip-key-rotation", 0, null);
        assertThat(gossip.out()).contains("agents holding the current key / agents: 1 1").contains("OLD_KEY=(hidden)");
        assertThat(gossip.out() + gossip.err()).as("keys are never printed by the runner").doesNotContain(newKey);

        // Every page was run, and nothing changed.
        try (var s = Files.list(pages)) {
            assertThat(s.filter(p -> p.toString().endsWith(".md") && !p.endsWith("README.md")).count()).isEqualTo(10);
        }
        assertThat(labState()).isEqualTo(before);
        assertThat(before.writable()).containsExactly(master);
        assertThat(Files.exists(work.resolve("s.snap"))).as("the snapshot step is not run").isFalse();
        for (String r : List.of(replica1, replica2)) assertThat(redis.observe(r).masterAddress()).isEqualTo(master);
    }

    static List<String> writable() {
        return lab.addresses().stream().filter(a -> { InstanceState s = redis.observe(a); return s.isMaster() && s.writable(); }).toList();
    }

    @Test
    @Order(2)
    void switchoverForRealMovesTheMasterAndEveryoneFollows() throws Exception {
        String old = lab.servers.get(0).address();
        try (Jedis j = new Jedis("127.0.0.1", lab.servers.get(0).port)) {
            for (int i = 0; i < 100; i++) j.set("before:" + i, "v" + i);
        }
        PlaybookLab.Run r = playbook("switchover", "--cluster", definition.toString(), "--yes");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("DONE: 6 steps of switchover passed");

        DiscoveryClient d = new DiscoveryClient(http);
        String now = new EpochStore(d, CLUSTER).read().state().master();
        assertThat(now).isNotNull().isNotEqualTo(old).isIn(lab.addresses());
        assertThat(writable()).as("exactly one writable: the new master").containsExactly(now);
        assertThat(new Catalog(d, CLUSTER).masters()).containsExactly(now);
        for (String a : lab.addresses()) {
            if (a.equals(now)) continue;
            InstanceState s = redis.observe(a);
            assertThat(s.isReplica() && s.masterLinkUp() && now.equals(s.masterAddress())).as(a + " follows " + now + ": " + s).isTrue();
        }
        HostPort np = HostPort.of(now);
        try (Jedis j = new Jedis(np.host, np.port)) {
            assertThat(j.get("before:99")).as("no write lost").isEqualTo("v99");
            assertThat(j.set("after", "1")).isEqualTo("OK");
        }
        Map<String, JsonNode> audit = audit("failover/" + CLUSTER + "/audit/", "switchover");
        JsonNode promote = audit.entrySet().stream().filter(e -> e.getKey().endsWith("-04-promote") && !e.getValue().path("dryRun").asBoolean())
                .findFirst().orElseThrow().getValue();
        assertThat(promote.path("outcome").asText()).isEqualTo("ok");
        assertThat(promote.path("exitCode").asInt()).isZero();
        assertThat(promote.path("destructive").asBoolean()).isTrue();
        assertThat(promote.path("by").asText()).contains("@");
        assertThat(audit.entrySet()).anyMatch(e -> e.getKey().endsWith("-end") && e.getValue().path("outcome").asText().equals("done"));
    }

    record HostPort(String host, int port) {
        static HostPort of(String a) { return new HostPort(a.substring(0, a.lastIndexOf(':')), Integer.parseInt(a.substring(a.lastIndexOf(':') + 1))); }
    }

    @Test
    @Order(3)
    void replicaRebuildForRealBringsABrokenReplicaBack() throws Exception {
        DiscoveryClient d = new DiscoveryClient(http);
        String master = new EpochStore(d, CLUSTER).read().state().master();
        assertThat(master).as("the switchover ran first").isNotNull();
        String broken = lab.addresses().stream().filter(a -> !a.equals(master)).findFirst().orElseThrow();
        HostPort b = HostPort.of(broken), m = HostPort.of(master);
        // Broken: it replicates from nowhere (a port nothing listens on) and misses what the master takes meanwhile.
        int nowhere = io.failoverkit.failover.drill.LocalProcesses.freePort();
        try (Jedis j = new Jedis(b.host, b.port)) {
            j.replicaof("127.0.0.1", nowhere);
        }
        try (Jedis j = new Jedis(m.host, m.port)) {
            for (int i = 0; i < 200; i++) j.set("missed:" + i, "m" + i);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !redis.observe(broken).masterLinkUp());
        assertThat(playbook("switchover", "--cluster", definition.toString(), "--dry-run").out()).as("the switchover check sees it")
                .contains("a replica is down or not following");

        PlaybookLab.Run r = playbook("replica-rebuild", "--cluster", definition.toString(), "--set", "REPLICA=" + broken, "--set", "CATCH_UP_SECONDS=60", "--yes");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        InstanceState s = redis.observe(broken);
        assertThat(s.isReplica() && s.masterLinkUp() && master.equals(s.masterAddress())).as(broken + " follows " + master + ": " + s).isTrue();
        try (Jedis j = new Jedis(b.host, b.port)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> "m199".equals(j.get("missed:199")));
            assertThat(j.get("before:0")).isEqualTo("v0");
        }
        assertThat(writable()).as("exactly one writable").containsExactly(master);
        Map<String, JsonNode> audit = audit("failover/" + CLUSTER + "/audit/", "replica-rebuild");
        assertThat(audit.entrySet()).anyMatch(e -> e.getKey().endsWith("-redis-replicaof") && !e.getValue().path("dryRun").asBoolean()
                && e.getValue().path("outcome").asText().equals("ok") && e.getValue().path("exitCode").asInt() == 0);
        assertThat(audit.keySet()).noneMatch(k -> k.contains("-mysql-"));
    }
}
