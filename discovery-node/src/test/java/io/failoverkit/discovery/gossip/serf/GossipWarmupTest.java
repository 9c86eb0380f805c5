package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import org.junit.jupiter.api.Test;
import org.slf4j.helpers.NOPLogger;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class GossipWarmupTest {
    private static final Map<String, String> TAGS = Map.of("role", "node", "dc", "dc1", "id", "0123456789abcdef", "port", "8300");
    private static final SerfConfig CONFIG = SerfConfig.defaults(SwimConfig.agent("real-node"), TAGS);
    private static final Codec.Options PLAIN = new Codec.Options("", null, true, false);

    @Test
    void runsTheGivenPassesWhenTheBudgetIsNotSpent() {
        GossipWarmup.Result r = GossipWarmup.run(PLAIN, TAGS, CONFIG, 3, Duration.ofSeconds(1), () -> 0L);
        assertThat(r.passes()).isEqualTo(3);
    }

    @Test
    void stopsOnceThePassesAfterTheFirstHaveUsedTheBudget() {
        // every reading of the clock is 100 ms later: the first pass, one more (100 ms used < 150 ms), then it stops
        AtomicLong clock = new AtomicLong();
        GossipWarmup.Result r = GossipWarmup.run(PLAIN, TAGS, CONFIG, 50, Duration.ofMillis(150),
                () -> clock.addAndGet(Duration.ofMillis(100).toNanos()));
        assertThat(r.passes()).isEqualTo(2);
    }

    @Test
    void noPassesWhenToldNone() {
        assertThat(GossipWarmup.run(PLAIN, TAGS, CONFIG, 0, Duration.ofSeconds(1), System::nanoTime).passes()).isZero();
    }

    @Test
    void sealedPacketsWithTheAgentsKeyringToo() {
        Keyring keys = new Keyring();
        keys.install(new byte[32]);
        assertThat(GossipWarmup.run(new Codec.Options("", keys, true, false), TAGS, CONFIG, 2, Duration.ofSeconds(1), () -> 0L).passes())
                .isEqualTo(2);
        assertThat(keys.list()).hasSize(1);
    }

    @Test
    void leavesARunningPoolAsItWas() {
        // a real (simulated) two-node pool with the same config: the warm-up must not send to it, change its members
        // or hand its consumer any event
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 7);
        List<Serf> pool = new ArrayList<>();
        List<SerfEvent> events = new ArrayList<>();
        List<InetSocketAddress> addrs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String name = "real-" + i;
            InetSocketAddress a = new InetSocketAddress("127.0.2." + (i + 1), 7946);
            SimScheduler s = new SimScheduler(clock, name, 10L + i);
            SerfConfig c = SerfConfig.defaults(SwimConfig.agent(name), TAGS);
            pool.add(Serf.create(c, net.attach(a, s), s, events::add, NOPLogger.NOP_LOGGER, NOPLogger.NOP_LOGGER));
            addrs.add(a);
        }
        try {
            pool.get(1).join(List.of(addrs.get(0)), false);
            assertThat(clock.runUntil(() -> pool.get(0).members().size() == 2 && pool.get(1).members().size() == 2,
                    Duration.ofMillis(50), Duration.ofSeconds(30))).isTrue();
            long packets = net.packetsSent();
            long v0 = pool.get(0).membersVersion(), v1 = pool.get(1).membersVersion();
            List<SerfMember> m0 = pool.get(0).members();
            int seen = events.size();

            GossipWarmup.Result r = GossipWarmup.run(PLAIN, TAGS, SerfConfig.defaults(SwimConfig.agent("real-0"), TAGS), 3,
                    Duration.ofSeconds(1), () -> 0L);

            assertThat(r.passes()).isEqualTo(3);
            assertThat(net.packetsSent()).isEqualTo(packets);
            assertThat(pool.get(0).membersVersion()).isEqualTo(v0);
            assertThat(pool.get(1).membersVersion()).isEqualTo(v1);
            assertThat(pool.get(0).members()).extracting(SerfMember::name).containsExactlyElementsOf(m0.stream().map(SerfMember::name).toList());
            assertThat(events).hasSize(seen);
        } finally {
            for (Serf s : pool) s.shutdown();
        }
    }
}
