package io.failoverkit.discovery.gossip.serf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our Serf (over the real UDP/TCP transport) and a stock {@code serf agent} (/usr/bin/serf) in one pool on loopback:
 * each lists the other alive with its tags, a user event fired by either reaches the other once (serf's own event
 * handler script on its side), a tag change is seen, and a leave on either side is seen as left, not failed.
 * Run under {@code flock /tmp/failoverkit-drills.lock}.
 */
@EnabledIf("serfInstalled")
class StockSerfInteropTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Process> processes = new ArrayList<>();
    private final ConcurrentLinkedQueue<SerfEvent> events = new ConcurrentLinkedQueue<>();
    private Serf ours;
    private RealScheduler scheduler;
    private String rpc;
    private InetSocketAddress serfAddr;
    private Path handlerOut;

    static boolean serfInstalled() {
        return new File("/usr/bin/serf").canExecute();
    }

    @AfterEach
    void stop() throws Exception {
        if (ours != null) ours.shutdown();
        if (scheduler != null) scheduler.shutdown();
        for (Process p : processes) {
            long pid = p.pid();
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    private void startBoth() throws Exception {
        startBoth(null);
    }

    private void startBoth(String key) throws Exception {
        int port = FreePorts.next();
        rpc = "127.0.0.1:" + FreePorts.next();
        Path dir = Files.createTempDirectory("serf-interop-");
        handlerOut = dir.resolve("fromfk");
        Path log = dir.resolve("serf.log");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/serf", "agent", "-node", "stock1", "-bind", "127.0.0.1:" + port,
                "-rpc-addr", rpc, "-tag", "role=stock", "-log-level", "debug",
                "-event-handler", "user:fromfk=cat >> " + handlerOut));
        if (key != null) cmd.addAll(List.of("-encrypt", key));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        serfAddr = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        await().atMost(WAIT).ignoreExceptions().until(() -> {
            try (Socket s = new Socket()) {
                s.connect(serfAddr, 500);
                return true;
            }
        });
        UdpTcpTransport transport = new UdpTcpTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new Codec.Options("", key == null ? null : Keyring.ofBase64(key), true, false));
        scheduler = new RealScheduler("fk1");
        SerfConfig cfg = SerfConfig.defaults(SwimConfig.lan("fk1"), Map.of("role", "failoverkit", "dc", "lab"));
        ours = Serf.create(cfg, transport, scheduler, events::add);
        assertThat(ours.join(List.of(serfAddr), true).get(30, TimeUnit.SECONDS)).isEqualTo(1);
        await().atMost(WAIT).until(() -> status("stock1") == MemberStatus.ALIVE && "alive".equals(stockStatus("fk1")));
    }

    private MemberStatus status(String name) {
        return ours.members().stream().filter(m -> m.name().equals(name)).map(SerfMember::status).findFirst().orElse(null);
    }

    private JsonNode stockMember(String name) throws Exception {
        JsonNode root = JSON.readTree(run("/usr/bin/serf", "members", "-rpc-addr", rpc, "-format", "json"));
        for (JsonNode m : root.path("members")) if (m.path("name").asText().equals(name)) return m;
        return null;
    }

    private String stockStatus(String name) throws Exception {
        JsonNode m = stockMember(name);
        return m == null ? null : m.path("status").asText();
    }

    private long userEvents(String name) {
        return events.stream().filter(e -> e instanceof SerfEvent.User u && u.name().equals(name)).count();
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(30, TimeUnit.SECONDS);
        return new String(out, StandardCharsets.UTF_8);
    }

    @Test
    void eventsTagsAndOurLeaveCrossBothWays() throws Exception {
        startBoth();
        assertThat(ours.members()).filteredOn(m -> m.name().equals("stock1")).first()
                .extracting(SerfMember::tags).isEqualTo(Map.of("role", "stock"));
        JsonNode me = stockMember("fk1");
        assertThat(me.path("tags").path("role").asText()).isEqualTo("failoverkit");
        assertThat(me.path("tags").path("dc").asText()).isEqualTo("lab");

        // stock -> ours
        assertThat(run("/usr/bin/serf", "event", "-rpc-addr", rpc, "fromserf", "hello")).contains("dispatched");
        await().atMost(WAIT).until(() -> userEvents("fromserf") >= 1);
        SerfEvent.User got = (SerfEvent.User) events.stream().filter(e -> e instanceof SerfEvent.User u && u.name().equals("fromserf")).findFirst().orElseThrow();
        assertThat(new String(got.payload(), StandardCharsets.UTF_8)).isEqualTo("hello");

        // ours -> stock: serf's own handler script runs with our payload
        ours.userEvent("fromfk", "payload-1".getBytes(StandardCharsets.UTF_8), false);
        await().atMost(WAIT).until(() -> Files.exists(handlerOut) && Files.readString(handlerOut).contains("payload-1"));

        // a tag change
        ours.setTags(Map.of("role", "failoverkit", "dc", "lab", "v", "2")).get(30, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> "2".equals(stockMember("fk1").path("tags").path("v").asText()));

        // each event arrived once (by now every retransmit of both is long over)
        assertThat(userEvents("fromserf")).isEqualTo(1);
        assertThat(Files.readString(handlerOut)).isEqualTo("payload-1\n");

        // our leave: stock serf says left, not failed
        ours.leave().get(30, TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> "left".equals(stockStatus("fk1")));
    }

    @Test
    void aStockLeaveIsLeftAndAStockKillIsFailed() throws Exception {
        startBoth();
        // a second stock agent joins through us
        int port2 = FreePorts.next();
        String rpc2 = "127.0.0.1:" + FreePorts.next();
        Process p2 = new ProcessBuilder("/usr/bin/serf", "agent", "-node", "stock2", "-bind", "127.0.0.1:" + port2,
                "-rpc-addr", rpc2).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p2);
        await().atMost(WAIT).ignoreExceptions().until(() -> run("/usr/bin/serf", "join", "-rpc-addr", rpc2,
                ours.localMember().address().getHostString() + ":" + ours.localMember().address().getPort()).contains("Successfully"));
        await().atMost(WAIT).until(() -> status("stock2") == MemberStatus.ALIVE);

        assertThat(run("/usr/bin/serf", "leave", "-rpc-addr", rpc2)).contains("leave complete");
        await().atMost(WAIT).until(() -> status("stock2") == MemberStatus.LEFT);

        Process stock1 = processes.getFirst();
        stock1.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL to that PID
        await().atMost(WAIT).until(() -> status("stock1") == MemberStatus.FAILED);
        assertThat(events).filteredOn(e -> e instanceof SerfEvent.Members m && m.kind() == SerfEvent.Kind.FAILED)
                .allSatisfy(e -> assertThat(((SerfEvent.Members) e).members().getFirst().name()).isEqualTo("stock1"));
    }

    @Test
    void anEncryptedPoolWithTheSameKey() throws Exception {
        String key = run("/usr/bin/serf", "keygen").trim();
        startBoth(key);
        assertThat(run("/usr/bin/serf", "event", "-rpc-addr", rpc, "fromserf", "sealed")).contains("dispatched");
        await().atMost(WAIT).until(() -> userEvents("fromserf") == 1);
        ours.userEvent("fromfk", "sealed-too".getBytes(StandardCharsets.UTF_8), false);
        await().atMost(WAIT).until(() -> Files.exists(handlerOut) && Files.readString(handlerOut).contains("sealed-too"));
        assertThat(stockMember("fk1").path("tags").path("role").asText()).isEqualTo("failoverkit");
    }
}
