package io.failoverkit.discovery.gossip.interop;

import io.failoverkit.discovery.gossip.serf.MemberStatus;
import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfConfig;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.SerfProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Our {@link Serf} library itself (agent timings, over the real {@link UdpTcpTransport}, compression on, in this
 * JVM, no agent around it) in one ENCRYPTED pool with stock serf agents, all with one {@code serf keygen} key (the
 * plain pool is gossip/serf/StockSerfInteropTest's). The layer under cluster/AgentSerfInteropTest: when this passes
 * and that fails, the fault is in the agent's use of the library (flags, façade, HTTP, handlers), not the gossip.
 *
 * Steps: our node joins serf-1; each lists the other alive with its address and tags; serf's user event reaches our
 * event consumer (name and payload), ours runs serf's handler; serf-1 SIGKILLed is seen failed by us; serf-2 joins
 * us, and our node "crashed" (shut down without a leave, its sockets closed) is seen failed by serf-2.
 */
class StockSerfEncryptedInteropTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir Path dir;

    @BeforeAll
    static void serfIsInstalled() {
        assertThat(Files.isExecutable(SerfProcess.SERF)).as("/usr/bin/serf (Debian's serf package; bin/setup installs it)").isTrue();
    }

    @Test
    void ourSerfAndStockSerfInAnEncryptedPool() throws Exception {
        scenario(SerfProcess.keygen());
    }

    private void scenario(String key) throws Exception {
        Path handler = SerfProcess.recordingHandler(dir.resolve("events"));
        List<String> serfArgs = new ArrayList<>(List.of("-event-handler=" + handler, "-tag=interop=stock-serf"));
        serfArgs.add("-encrypt=" + key);
        SerfProcess serf1 = new SerfProcess("serf-1", serfArgs);
        SerfProcess serf2 = new SerfProcess("serf-2", serfArgs);
        Codec.Options opts = new Codec.Options("", Keyring.ofBase64(key), true, false);
        UdpTcpTransport transport = new UdpTcpTransport(new InetSocketAddress("127.0.0.1", FreePorts.next()), opts);
        RealScheduler scheduler = new RealScheduler("fk-lib");
        List<SerfEvent> events = new CopyOnWriteArrayList<>();
        Serf fk = null;
        try {
            fk = Serf.create(SerfConfig.defaults(SwimConfig.agent("fk-lib"), Map.of("role", "failoverkit")), transport, scheduler, events::add);
            Serf ours = fk;
            serf1.start();
            await("our join of serf-1").atMost(WAIT).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                    .until(() -> ours.join(List.of(new InetSocketAddress("127.0.0.1", serf1.bindPort)), false).get(20, TimeUnit.SECONDS) == 1);

            await("serf-1 lists us alive").atMost(WAIT).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(serf1.memberStatus()).containsEntry("fk-lib", "alive").containsEntry("serf-1", "alive"));
            assertThat(serfMember(serf1, "fk-lib").path("tags").path("role").asText()).as("our tags, decoded by serf").isEqualTo("failoverkit");
            assertThat(serfMember(serf1, "fk-lib").path("addr").asText()).isEqualTo("127.0.0.1:" + transport.port());
            await("we list serf-1 alive").atMost(WAIT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(member(ours, "serf-1")).hasValueSatisfying(m -> assertThat(m.status()).isEqualTo(MemberStatus.ALIVE)));
            SerfMember s1 = member(ours, "serf-1").orElseThrow();
            assertThat(s1.address()).isEqualTo(new InetSocketAddress("127.0.0.1", serf1.bindPort));
            assertThat(s1.tags()).as("serf's tags, decoded by us").containsEntry("interop", "stock-serf");

            serf1.event("from-serf", "payload-from-serf");
            await("serf's user event reaches us").atMost(WAIT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(userEvents(events)).contains("from-serf|payload-from-serf"));
            ours.userEvent("from-fk", "payload-from-fk".getBytes(StandardCharsets.UTF_8), false);
            await("our user event runs serf's handler").atMost(WAIT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(SerfProcess.userEventsRun(handler, "serf-1")).contains("from-fk|payload-from-fk"));

            serf1.kill();
            await("we see the killed serf-1 failed").atMost(WAIT).pollInterval(Duration.ofMillis(250))
                    .untilAsserted(() -> assertThat(member(ours, "serf-1")).hasValueSatisfying(m -> assertThat(m.status()).isEqualTo(MemberStatus.FAILED)));

            serf2.start();
            await("serf-2 joins us").atMost(WAIT).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                    .untilAsserted(() -> serf2.join("127.0.0.1:" + transport.port()));
            await("serf-2 lists us alive").atMost(WAIT).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(serf2.memberStatus()).containsEntry("fk-lib", "alive"));
            ours.shutdown();
            transport.close();
            await("serf-2 sees our crashed node failed").atMost(WAIT).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(serf2.memberStatus()).containsEntry("fk-lib", "failed"));

            // Each user event was delivered once (checked seconds after the first delivery: no duplicate came).
            assertThat(userEvents(events)).containsOnlyOnce("from-serf|payload-from-serf");
            assertThat(SerfProcess.userEventsRun(handler, "serf-1")).containsOnlyOnce("from-fk|payload-from-fk");
        } catch (Throwable t) {
            System.err.printf("---- serf-1 (%s):%n%s%n---- serf-2 (%s):%n%s%n---- our stats: %s, dropped packets %d%n",
                    serf1.logFile(), serf1.logTail(40), serf2.logFile(), serf2.logTail(40), fk == null ? "-" : fk.stats(), transport.droppedPackets());
            throw t;
        } finally {
            if (fk != null) fk.shutdown();
            transport.close();
            scheduler.shutdown();
            serf2.close();
            serf1.close();
        }
    }

    private static Optional<SerfMember> member(Serf s, String name) {
        return s.members().stream().filter(m -> m.name().equals(name)).findFirst();
    }

    private static List<String> userEvents(List<SerfEvent> events) {
        List<String> out = new ArrayList<>();
        for (SerfEvent e : events) {
            if (e instanceof SerfEvent.User u) out.add(u.name() + "|" + new String(u.payload(), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static com.fasterxml.jackson.databind.JsonNode serfMember(SerfProcess serf, String name) {
        for (var m : serf.members()) if (m.path("name").asText().equals(name)) return m;
        throw new AssertionError("serf does not list " + name);
    }
}
