package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import org.slf4j.helpers.NOPLogger;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a small Serf pool's life once, in memory, on the simulated network and clock: {@code size} nodes with the
 * agent's own settings and tags join one, converge, one changes its tags, one fires a user event, one leaves, all
 * shut down. Silent (its nodes log nowhere), nothing leaves the JVM, and it runs on the caller's thread in a few
 * milliseconds once warm.
 *
 * <p>Why: {@link CodecWarmup} covers the codec, but the first real join also runs the membership state machines
 * (memberlist's push-pull merge, alive/suspect/dead handling, the broadcast queues, Serf's intents, member events,
 * Lamport clocks) for the first time, interpreted: measured with a 6-node pool on a loaded 2-core box, the first
 * pass took ~100 ms and the next ones 7-9 ms. The agent runs this once at start, on its warm-up thread, so that
 * cost is paid before the first join (a cold start's -retry-join is the common case), not during it.
 */
public final class JoinWarmup {
    private JoinWarmup() {}

    /** Runs the pool's life; returns true when it converged (it always should; a false only means less warm-up). */
    public static boolean run(SerfConfig agentConfig, int size) {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 42);
        List<Serf> nodes = new ArrayList<>(size);
        List<InetSocketAddress> addrs = new ArrayList<>(size);
        try {
            for (int i = 0; i < size; i++) {
                String name = "warmup-" + i;
                InetSocketAddress a = new InetSocketAddress("127.0.1." + (i + 1), 7946);
                SimScheduler s = new SimScheduler(clock, name, 1000L + i);
                SerfConfig c = new SerfConfig(agentConfig.swim().withName(name), agentConfig.tags(),
                        agentConfig.reapInterval(), agentConfig.reconnectInterval(), agentConfig.reconnectTimeout(),
                        agentConfig.tombstoneTimeout(), agentConfig.leavePropagateDelay(), agentConfig.eventBuffer(),
                        agentConfig.userEventSizeLimit(), agentConfig.broadcastTimeout(), agentConfig.recentIntentTimeout(),
                        agentConfig.queueCheckInterval(), agentConfig.maxQueueDepth());
                nodes.add(Serf.create(c, net.attach(a, s), s, e -> {}, NOPLogger.NOP_LOGGER, NOPLogger.NOP_LOGGER));
                addrs.add(a);
            }
            for (int i = 1; i < size; i++) nodes.get(i).join(List.of(addrs.get(0)), false);
            boolean converged = clock.runUntil(() -> allSee(nodes, size), Duration.ofMillis(50), Duration.ofSeconds(30));
            if (size > 2) {
                Map<String, String> tags = new HashMap<>(agentConfig.tags());
                tags.put("warmup", "1");
                nodes.get(1).setTags(tags);
                nodes.get(2).userEvent("warmup", "x".getBytes(StandardCharsets.UTF_8), false);
                clock.runFor(Duration.ofSeconds(2));
                nodes.get(size - 1).leave();
                clock.runFor(Duration.ofSeconds(5));
            }
            return converged;
        } finally {
            for (Serf n : nodes) n.shutdown();
        }
    }

    private static boolean allSee(List<Serf> nodes, int size) {
        for (Serf n : nodes) if (n.members().size() < size) return false;
        return true;
    }
}
