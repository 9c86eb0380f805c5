package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.SerfProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stock serf agent (Debian's {@code serf} package, memberlist's LAN defaults) in a failoverkit pool, all real
 * processes on loopback: a failoverkit server ({@code -server -bootstrap-expect=1}), a failoverkit client agent that
 * joins it, and {@code serf agent}, which joins the server's LAN port with {@code serf join}. Plain, then encrypted
 * with one key from {@code serf keygen} on every agent. Each side must list the other's members alive (with the
 * address, port and tags the other advertised), a user event fired by either side must run the other side's
 * handler (once, with its payload; an event fired through our HTTP API reaches serf in Consul's format, see
 * {@link #runsOfFkEvent}), and a SIGKILLed agent on either side must be seen failed by the other.
 *
 * Every agent runs the same handler script, which appends one line per event to a file named after the agent:
 * {@code SERF_EVENT|SERF_USER_EVENT|SERF_SELF_NAME|stdin}. Waits are bounded and generous (a loaded 2-core CI box);
 * nothing is timed. The agents' logs are under target/it-logs.
 */
class AgentSerfInteropTest {
    private static final Duration JOIN = Duration.ofSeconds(90);
    private static final Duration EVENT = Duration.ofSeconds(60);
    private static final Duration FAILURE = Duration.ofSeconds(90);

    @TempDir Path dir;

    @BeforeAll
    static void serfIsInstalled() {
        // Not a skip: bin/setup installs Debian's serf; a machine without it must fail here, loudly.
        assertThat(Files.isExecutable(SerfProcess.SERF)).as("/usr/bin/serf (Debian's serf package; bin/setup installs it)").isTrue();
    }

    @Test
    void aStockSerfAgentJoinsAPlainPool() throws Exception {
        scenario(null);
    }

    @Test
    void aStockSerfAgentJoinsAPoolEncryptedWithTheSameKey() throws Exception {
        String key = SerfProcess.keygen();
        assertThat(key).as("serf keygen").isNotBlank();
        scenario(key);
    }

    /**
     * The control: the same steps between two stock serf agents (encrypted). It checks this test's own harness (the
     * serf CLI, the handler script, the waits); when it passes and a failoverkit scenario fails, the fault is ours
     * (and gossip/interop/StockSerfEncryptedInteropTest, gossip/serf/StockSerfInteropTest tell whether it is the
     * gossip library or the agent around it).
     */
    @Test
    void controlTwoStockSerfAgentsPassTheSameSteps() throws Exception {
        Path handler = SerfProcess.recordingHandler(dir.resolve("events"));
        List<String> args = List.of("-event-handler=" + handler, "-encrypt=" + SerfProcess.keygen());
        SerfProcess a = new SerfProcess("serf-a", args);
        SerfProcess b = new SerfProcess("serf-b", args);
        try {
            a.start();
            b.start();
            await("serf join").atMost(JOIN).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() -> b.join(a.lanAddress()));
            for (SerfProcess s : List.of(a, b)) {
                await(s.name + " lists both alive").atMost(JOIN).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                        .untilAsserted(() -> assertThat(s.memberStatus()).containsEntry("serf-a", "alive").containsEntry("serf-b", "alive"));
            }
            assertThat(serfMember(a, "serf-b").path("addr").asText()).isEqualTo(b.lanAddress());
            a.event("from-a", "payload-a");
            await("a's event runs b's handler").atMost(EVENT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(SerfProcess.userEventsRun(handler, "serf-b")).contains("from-a|payload-a"));
            b.kill();
            await("a sees the killed b failed").atMost(FAILURE).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(a.memberStatus()).containsEntry("serf-b", "failed"));
            assertThat(SerfProcess.userEventsRun(handler, "serf-b")).containsOnlyOnce("from-a|payload-a");
        } finally {
            b.close();
            a.close();
        }
    }

    private void scenario(String key) throws Exception {
        Path handler = SerfProcess.recordingHandler(dir.resolve("events"));
        List<String> enc = key == null ? List.of() : List.of("-encrypt=" + key);
        List<String> fkArgs = new ArrayList<>(List.of("-event-handler=" + handler));
        fkArgs.addAll(enc);
        List<String> serverArgs = new ArrayList<>(List.of("-server", "-bootstrap-expect=1"));
        serverArgs.addAll(fkArgs);
        AgentProcess server = new AgentProcess("fk-server", dir.resolve("fk-server"), serverArgs);
        AgentProcess client = new AgentProcess("fk-client", dir.resolve("fk-client"), fkArgs);
        List<String> serfArgs = new ArrayList<>(List.of("-event-handler=" + handler, "-tag=interop=stock-serf"));
        serfArgs.addAll(enc);
        SerfProcess serf = new SerfProcess("serf-1", serfArgs);
        try {
            scenario(handler, server, client, serf);
        } catch (Throwable t) {
            // What each agent said last: tells which side (and which layer) went wrong.
            for (AgentProcess fk : List.of(server, client)) System.err.printf("---- %s (%s) log tail:%n%s%n", fk.name, fk.logFile(), fk.logTail(40));
            System.err.printf("---- serf-1 (%s) log tail:%n%s%n", serf.logFile(), serf.logTail(40));
            throw t;
        } finally {
            serf.close();
            client.close();
            server.close();
        }
    }

    private void scenario(Path handler, AgentProcess server, AgentProcess client, SerfProcess serf) throws Exception {
        server.start(List.of());
        client.start(List.of("-retry-join=" + server.lanAddress()));
        serf.start();
        await("the failoverkit agents answer HTTP").atMost(JOIN).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .failFast("a failoverkit agent exited (its log tail is printed below)", () -> !server.isRunning() || !client.isRunning())
                .until(() -> server.http().get("/v1/agent/self").status() == 200 && client.http().get("/v1/agent/self").status() == 200);
        await("serf join " + server.lanAddress() + " succeeds").atMost(JOIN).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .untilAsserted(() -> serf.join(server.lanAddress()));

        // Each side lists the other's members alive, as they advertised themselves.
        await("serf lists every member alive").atMost(JOIN).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(serf.memberStatus())
                        .containsEntry("fk-server", "alive").containsEntry("fk-client", "alive").containsEntry("serf-1", "alive"));
        for (AgentProcess fk : List.of(server, client)) {
            await(fk.name + " lists every member alive").atMost(JOIN).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(fkStatus(fk))
                            .containsEntry("fk-server", 1).containsEntry("fk-client", 1).containsEntry("serf-1", 1));
        }
        JsonNode serfSeenByFk = fkMember(client, "serf-1");
        assertThat(serfSeenByFk.path("Addr").asText()).isEqualTo("127.0.0.1");
        assertThat(serfSeenByFk.path("Port").asInt()).isEqualTo(serf.bindPort);
        assertThat(serfSeenByFk.path("Tags").path("interop").asText()).as("serf's tag, decoded by failoverkit").isEqualTo("stock-serf");
        JsonNode serverSeenBySerf = serfMember(serf, "fk-server");
        assertThat(serverSeenBySerf.path("addr").asText()).isEqualTo("127.0.0.1:" + server.serfPort);
        assertThat(serverSeenBySerf.path("tags").isObject()).as("fk-server's tags, decoded by serf: %s", serverSeenBySerf).isTrue();

        // An event fired by serf runs failoverkit's handlers, and one fired by failoverkit runs serf's.
        serf.event("from-serf", "payload-from-serf");
        for (String fk : List.of("fk-server", "fk-client")) {
            await("serf's event runs " + fk + "'s handler").atMost(EVENT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(SerfProcess.userEventsRun(handler, fk)).contains("from-serf|payload-from-serf"));
        }
        assertThat(server.http().put("/v1/event/fire/from-fk", "payload-from-fk").status()).isEqualTo(200);
        await("failoverkit's event runs serf's handler").atMost(EVENT).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(runsOfFkEvent(handler, "serf-1", "from-fk", "payload-from-fk")).isPositive());
        await("failoverkit's event runs fk-client's handler").atMost(EVENT).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(SerfProcess.userEventsRun(handler, "fk-client")).contains("from-fk|payload-from-fk"));
        await("failoverkit's event runs fk-server's own handler").atMost(EVENT).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(SerfProcess.userEventsRun(handler, "fk-server")).contains("from-fk|payload-from-fk"));

        // A SIGKILLed failoverkit agent is seen failed by serf (and by the other failoverkit agent).
        client.kill();
        await("serf sees the killed fk-client failed").atMost(FAILURE).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(serf.memberStatus()).containsEntry("fk-client", "failed"));
        await("fk-server sees the killed fk-client failed").atMost(FAILURE).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(fkStatus(server)).containsEntry("fk-client", 4));
        assertThat(serf.memberStatus()).containsEntry("fk-server", "alive");

        // A SIGKILLed serf is seen failed by failoverkit.
        serf.kill();
        await("fk-server sees the killed serf failed").atMost(FAILURE).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(fkStatus(server)).containsEntry("serf-1", 4));

        // Each user event ran each handler once (checked now, seconds after the first run: no duplicate came).
        for (String agent : List.of("fk-server", "fk-client", "serf-1")) {
            assertThat(SerfProcess.userEventsRun(handler, agent)).as(agent + " ran from-serf").containsOnlyOnce("from-serf|payload-from-serf");
            assertThat(runsOfFkEvent(handler, agent, "from-fk", "payload-from-fk")).as(agent + " ran from-fk").isEqualTo(1);
        }
        assertThat(server.isRunning()).as("fk-server survived all this").isTrue();
    }

    /**
     * How many times that agent's handler ran the user event NAME fired through failoverkit's HTTP API. Our agents
     * hand their handlers NAME and PAYLOAD. A stock serf agent sees what Consul puts on the wire for
     * {@code PUT /v1/event/fire/NAME} (failoverkit speaks Consul's event format): the serf user event
     * {@code consul:event:NAME} whose payload is Consul's msgpack envelope (ID, name, payload, version); it counts
     * when the envelope carries NAME and PAYLOAD.
     */
    static long runsOfFkEvent(Path handler, String agent, String name, String payload) throws java.io.IOException {
        return SerfProcess.userEventsRun(handler, agent).stream().filter(line -> line.equals(name + "|" + payload)
                || (line.startsWith("consul:event:" + name + "|") && line.contains(name) && line.contains(payload))).count();
    }

    /** Member name -> Consul status code (1 alive, 2 leaving, 3 left, 4 failed) from /v1/agent/members. */
    private static Map<String, Integer> fkStatus(AgentProcess fk) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (JsonNode m : fk.http().get("/v1/agent/members").json()) out.put(m.path("Name").asText(), m.path("Status").asInt());
        return out;
    }

    private static JsonNode fkMember(AgentProcess fk, String name) {
        for (JsonNode m : fk.http().get("/v1/agent/members").json()) if (m.path("Name").asText().equals(name)) return m;
        throw new AssertionError(fk.name + " does not list " + name);
    }

    private static JsonNode serfMember(SerfProcess serf, String name) {
        for (JsonNode m : serf.members()) if (m.path("name").asText().equals(name)) return m;
        throw new AssertionError("serf does not list " + name);
    }
}
