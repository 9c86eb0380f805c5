package io.failoverkit.discovery.gossip.swim;

import java.time.Duration;

/**
 * SWIM and Lifeguard timings, as memberlist's Config. {@link #lan()} is memberlist's DefaultLANConfig; the agent's
 * defaults are chosen in {@link #agent()} and measured against Serf in bench/gossip.sh.
 *
 * <p>How they relate (the relations {@link #check()} enforces):
 * <ul>
 *   <li>probeTimeout &lt; probeInterval: a probe's indirect phase must end before the next probe starts.</li>
 *   <li>suspicion timeout = suspicionMult x max(1, log10(N)) x probeInterval, the minimum once enough independent
 *       confirmations arrived; up to suspicionMaxTimeoutMult times that with none (Lifeguard).</li>
 *   <li>retransmits per broadcast = retransmitMult x ceil(log10(N + 1)).</li>
 *   <li>push-pull interval scales up beyond 32 nodes (memberlist's pushPullScale).</li>
 *   <li>Lifeguard awareness: every probe interval and timeout is multiplied by (health score + 1), score at most
 *       awarenessMaxMultiplier - 1.</li>
 * </ul>
 */
public record SwimConfig(
        String name,
        Duration probeInterval,
        Duration probeTimeout,
        int indirectChecks,
        int suspicionMult,
        int suspicionMaxTimeoutMult,
        int retransmitMult,
        Duration gossipInterval,
        int gossipNodes,
        Duration gossipToTheDeadTime,
        Duration pushPullInterval,
        Duration streamTimeout,
        int awarenessMaxMultiplier,
        Duration deadNodeReclaimTime,
        boolean disableStreamPings,
        byte[] versions) {

    /** memberlist protocol 1..5, speaking 2; Serf delegate protocol 2..5, speaking 5 (what serf 0.9 advertises). */
    public static final byte[] DEFAULT_VERSIONS = {1, 5, 2, 2, 5, 5};

    /** memberlist's DefaultLANConfig. */
    public static SwimConfig lan(String name) {
        return new SwimConfig(name, Duration.ofSeconds(1), Duration.ofMillis(500), 3, 4, 6, 4,
                Duration.ofMillis(200), 3, Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(10), 8,
                Duration.ZERO, false, DEFAULT_VERSIONS.clone());
    }

    /**
     * The agent's defaults: failure detection in half of Serf's (LAN) time at no more bandwidth at rest. Probes
     * every 500 ms (twice LAN's rate, but our ack carries no coordinate, so the bytes are Serf's), 250 ms to answer
     * directly, the rest of the interval for the indirect phase; suspicion 3 x log10(N) x 500 ms at least (1.5 s up
     * to 10 nodes, 2.2 s at 30), one independent confirmation (k = 3 - 2) brings it from the 6x maximum down to that
     * minimum; gossip every 100 ms (costs nothing at rest: nothing is gossiped when no broadcast is queued).
     */
    public static SwimConfig agent(String name) {
        return new SwimConfig(name, Duration.ofMillis(500), Duration.ofMillis(250), 3, 3, 6, 4,
                Duration.ofMillis(100), 3, Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(10), 8,
                Duration.ZERO, false, DEFAULT_VERSIONS.clone());
    }

    public SwimConfig withName(String n) {
        return new SwimConfig(n, probeInterval, probeTimeout, indirectChecks, suspicionMult, suspicionMaxTimeoutMult,
                retransmitMult, gossipInterval, gossipNodes, gossipToTheDeadTime, pushPullInterval, streamTimeout,
                awarenessMaxMultiplier, deadNodeReclaimTime, disableStreamPings, versions);
    }

    /** Throws if the timings contradict each other (see the class comment). */
    public SwimConfig check() {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("node name is empty");
        if (probeTimeout.compareTo(probeInterval) >= 0)
            throw new IllegalArgumentException("probe timeout " + probeTimeout + " must be shorter than the probe interval " + probeInterval);
        if (suspicionMult < 1 || suspicionMaxTimeoutMult < 1) throw new IllegalArgumentException("suspicion multipliers must be >= 1");
        if (indirectChecks < 0 || gossipNodes < 1 || retransmitMult < 1 || awarenessMaxMultiplier < 1)
            throw new IllegalArgumentException("indirect checks, gossip nodes, retransmit and awareness multipliers must be positive");
        return this;
    }
}
