package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.cluster.GossipKeys;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The gossip-facing HTTP API on one agent: members, events (fire, list, blocking), keyring, tags, force-leave. */
class GossipApiTest {
    @Test
    void membersHaveConsulsFieldsAndTagsChangeAtRunTime() throws Exception {
        try (DevAgent a = DevAgent.start("solo")) {
            JsonNode m = a.http.get("/v1/agent/members?wan=1&segment=x").json().get(0);
            for (String f : List.of("Name", "Addr", "Port", "Tags", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur", "DelegateMin", "DelegateMax", "DelegateCur")) {
                assertThat(m.has(f)).as(f).isTrue();
            }
            assertThat(m.get("Status").asInt()).isEqualTo(1);
            assertThat(m.get("Port").asInt()).isEqualTo(a.agent.config().serfLanPort);
            assertThat(m.get("Tags").get("role").asText()).isEqualTo("consul");
            assertThat(m.get("Tags").get("dc").asText()).isEqualTo("dc1");

            Http.Reply set = a.http.put("/v1/agent/tags", "{\"Set\": {\"zone\": \"a\"}}");
            assertThat(set.status()).as(set.body()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(a.http.get("/v1/agent/members").json().get(0).get("Tags").path("zone").asText()).isEqualTo("a"));
            assertThat(a.http.put("/v1/agent/tags", "{\"Delete\": [\"zone\"]}").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(a.http.get("/v1/agent/members").json().get(0).get("Tags").has("zone")).isFalse());
            Http.Reply reserved = a.http.put("/v1/agent/tags", "{\"Set\": {\"role\": \"x\"}}");
            assertThat(reserved.status()).isEqualTo(400);
            assertThat(reserved.body()).contains("role");
            assertThat(a.http.get("/v1/agent/members").json().get(0).get("Tags").get("role").asText()).isEqualTo("consul");
            // A set over Serf's 512-byte meta is refused whole and leaves nothing behind: the next update works.
            Http.Reply big = a.http.put("/v1/agent/tags", "{\"Set\": {\"big\": \"" + "x".repeat(600) + "\"}}");
            assertThat(big.status()).as(big.body()).isEqualTo(400);
            Http.Reply after = a.http.put("/v1/agent/tags", "{\"Set\": {\"zone\": \"b\"}}");
            assertThat(after.status()).as("an update after a refused one: " + after.body()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                JsonNode tags = a.http.get("/v1/agent/members").json().get(0).get("Tags");
                assertThat(tags.path("zone").asText()).isEqualTo("b");
                assertThat(tags.has("big")).isFalse();
            });

            Http.Reply unknown = a.http.put("/v1/agent/force-leave/ghost", (String) null);
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(unknown.body()).contains("ghost");
            assertThat(a.http.put("/v1/agent/join/127.0.0.1:1", (String) null).status()).as("nobody there").isEqualTo(500);
            Http.Reply bad = a.http.put("/v1/agent/join/127.0.0.1:notaport", (String) null);
            assertThat(bad.status()).as("a bad address: " + bad.body()).isEqualTo(400);
        }
    }

    @Test
    void eventsFireListAndBlockAsConsuls() throws Exception {
        Path out = Files.createTempFile("handler", ".log");
        try (DevAgent a = DevAgent.start("ev", cfg -> cfg.eventHandlers.add("user:deploy=cat >> " + out + "; echo \" $SERF_USER_EVENT $SERF_SELF_NAME\" >> " + out))) {
            Http.Reply empty = a.http.get("/v1/event/list");
            assertThat(empty.json()).isEmpty();
            assertThat(empty.headers().firstValue("X-Consul-Index")).contains("1");

            Http.Reply fired = a.http.put("/v1/event/fire/deploy?node=ev", "v1");
            assertThat(fired.status()).as(fired.body()).isEqualTo(200);
            JsonNode e = fired.json();
            assertThat(e.get("Name").asText()).isEqualTo("deploy");
            assertThat(e.get("Payload").asText()).isEqualTo(Base64.getEncoder().encodeToString("v1".getBytes()));
            assertThat(e.get("NodeFilter").asText()).isEqualTo("ev");
            assertThat(e.get("ServiceFilter").asText()).isEmpty();
            assertThat(e.get("Version").asInt()).isEqualTo(1);
            assertThat(e.get("LTime").asLong()).isZero();
            String id = e.get("ID").asText();

            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/event/list").json().size() == 1);
            Http.Reply list = a.http.get("/v1/event/list?name=deploy");
            assertThat(list.json().get(0).get("ID").asText()).isEqualTo(id);
            assertThat(list.json().get(0).get("LTime").asLong()).as("the Lamport time it arrived with").isPositive();
            String index = list.headers().firstValue("X-Consul-Index").orElseThrow();
            assertThat(a.http.get("/v1/event/list?name=other").json()).isEmpty();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Files.readString(out)).as("payload on stdin (Serf ends it with a newline), then the env").contains("v1\n deploy ev"));

            // A blocking list waits while the index is the one given, and wakes at the next event.
            CompletableFuture<Http.Reply> waiting = CompletableFuture.supplyAsync(() -> a.http.get("/v1/event/list?index=" + index + "&wait=30s", Duration.ofSeconds(40)));
            Thread.sleep(500);
            assertThat(waiting).isNotDone();
            assertThat(a.http.put("/v1/event/fire/restart", "").status()).isEqualTo(200);
            Http.Reply woke = waiting.get(20, TimeUnit.SECONDS);
            assertThat(woke.json()).hasSize(2);
            assertThat(woke.headers().firstValue("X-Consul-Index").orElseThrow()).isNotEqualTo(index);
            // A short wait with no event returns the same list.
            String now = woke.headers().firstValue("X-Consul-Index").orElseThrow();
            Http.Reply timedOut = a.http.get("/v1/event/list?index=" + now + "&wait=1s");
            assertThat(timedOut.json()).hasSize(2);

            // A filter naming another node: not acted on here.
            assertThat(a.http.put("/v1/event/fire/deploy?node=%5Eother%24", "v2").status()).isEqualTo(200);
            assertThat(a.http.put("/v1/event/fire/mark", "").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/event/list?name=mark").json().size() == 1);
            assertThat(a.http.get("/v1/event/list?name=deploy").json()).hasSize(1);

            // Bad requests: nothing sent.
            Http.Reply big = a.http.put("/v1/event/fire/huge", "x".repeat(600));
            assertThat(big.status()).isEqualTo(400);
            assertThat(big.body()).contains("512");
            assertThat(a.http.put("/v1/event/fire/x?tag=prod", "").body()).contains("Cannot provide tag filter without service filter");
            assertThat(a.http.put("/v1/event/fire/x?node=(", "").status()).isEqualTo(400);
            assertThat(a.http.put("/v1/event/fire/", "").status()).isEqualTo(400);
            assertThat(a.http.get("/v1/event/fire/x").status()).isEqualTo(405);
            Thread.sleep(1000);
            assertThat(a.http.get("/v1/event/list?name=huge").json()).isEmpty();
            assertThat(Files.readString(out).lines().filter(l -> l.contains("deploy")).count()).as("the handler ran once for deploy here").isEqualTo(1);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void keyringInstallsSwitchesAndRemovesKeysAndKeepsThemInTheDataDir() throws Exception {
        String k1 = GossipKeys.generate();
        String k2 = GossipKeys.generate();
        try (DevAgent a = DevAgent.start("keys", cfg -> cfg.encrypt = k1)) {
            JsonNode ring = a.http.get("/v1/operator/keyring").json().get(0);
            assertThat(ring.get("Keys").has(k1)).isTrue();
            assertThat(ring.get("NumNodes").asInt()).isEqualTo(1);
            assertThat(ring.get("PrimaryKeys").get(k1).asInt()).isEqualTo(1);

            assertThat(send(a, "POST", k2).status()).isEqualTo(200);
            assertThat(a.http.get("/v1/operator/keyring").json().get(0).get("Keys").size()).isEqualTo(2);
            Http.Reply removePrimary = send(a, "DELETE", k1);
            assertThat(removePrimary.status()).isEqualTo(500);
            assertThat(removePrimary.body()).contains("primary");
            assertThat(send(a, "PUT", k2).status()).isEqualTo(200);
            assertThat(send(a, "DELETE", k1).status()).isEqualTo(200);
            JsonNode after = a.http.get("/v1/operator/keyring").json().get(0);
            assertThat(after.get("Keys").size()).isEqualTo(1);
            assertThat(after.get("PrimaryKeys").has(k2)).isTrue();
            Path file = a.agent.dataDir().resolve(GossipKeys.KEYRING_FILE);
            assertThat(GossipKeys.load(file)).hasSize(1);
            assertThat(GossipKeys.encode(GossipKeys.load(file).get(0))).isEqualTo(k2);
            assertThat(a.http.send("POST", "/v1/operator/keyring", "{\"Key\": \"c2hvcnQ=\"}".getBytes(), Duration.ofSeconds(5)).status()).isEqualTo(400);
        }
        try (DevAgent plain = DevAgent.start("plain")) {
            assertThat(plain.http.get("/v1/operator/keyring").json().get(0).get("Keys")).isEmpty();
            Http.Reply install = send(plain, "POST", k1);
            assertThat(install.status()).isEqualTo(500);
            assertThat(install.body()).contains("not enabled");
        }
    }

    private record Cli(int code, String out) {}

    private static synchronized Cli cli(String... args) {
        var cl = io.failoverkit.discovery.Main.commandLine();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(out, true));
        try {
            cl.setErr(new java.io.PrintWriter(new java.io.StringWriter()));
            return new Cli(cl.execute(args), out.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void theCommandsTalkToARunningAgentWithConsulsColumns() throws Exception {
        try (DevAgent a = DevAgent.start("cli-1")) {
            String addr = "-http-addr=127.0.0.1:" + a.httpPort;
            Cli members = cli("members", addr);
            assertThat(members.code()).isZero();
            List<String> lines = members.out().lines().toList();
            assertThat(lines.get(0).split("\\s+")).containsExactly("Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment");
            assertThat(lines.get(1).split("\\s+")).containsExactly("cli-1", "127.0.0.1:" + a.agent.config().serfLanPort, "alive", "server",
                    io.failoverkit.discovery.agent.Agent.VERSION, "2", "dc1", "default", "<all>");
            Cli detailed = cli("members", addr, "-detailed");
            assertThat(detailed.out().lines().findFirst().orElseThrow().split("\\s+")).containsExactly("Node", "Address", "Status", "Tags");
            assertThat(detailed.out()).contains("role=consul").contains("dc=dc1");
            Cli json = cli("members", addr, "-format", "json");
            assertThat(io.failoverkit.discovery.state.Json.MAPPER.readTree(json.out()).get(0).get("Name").asText()).isEqualTo("cli-1");
            assertThat(cli("members", addr, "-status=fail").code()).as("nothing matched").isEqualTo(2);
            assertThat(cli("members", addr, "-status=^alive$").code()).isZero();

            assertThat(cli("tags", addr, "-set", "zone=b").code()).isZero();
            await().atMost(Duration.ofSeconds(10)).until(() -> cli("members", addr, "-detailed").out().contains("zone=b"));
            assertThat(cli("tags", addr, "-delete", "role").code()).isEqualTo(1);

            Cli ev = cli("event", addr, "-name", "deploy", "-node", "cli", "v9");
            assertThat(ev.code()).isZero();
            assertThat(ev.out()).startsWith("Event ID: ");
            await().atMost(Duration.ofSeconds(10)).until(() -> a.http.get("/v1/event/list?name=deploy").json().size() == 1);
            assertThat(cli("event", addr, "-name", "big", "x".repeat(600)).code()).isEqualTo(1);

            assertThat(cli("join", addr, "127.0.0.1:1").code()).isEqualTo(1);
            assertThat(cli("force-leave", addr, "ghost").code()).isEqualTo(1);
            Cli keys = cli("keyring", addr, "-list");
            assertThat(keys.code()).isZero();
            assertThat(keys.out()).contains("LAN:");
        }
    }

    private static Http.Reply send(DevAgent a, String method, String key) {
        return a.http.send(method, "/v1/operator/keyring", ("{\"Key\": \"" + key + "\"}").getBytes(), Duration.ofSeconds(10));
    }
}
