package io.failoverkit.discovery.gossip.swim;

import java.time.Duration;

/**
 * SWIM and Lifeguard timings, as memberlist's Config. {@link #lan()} is memberlist's DefaultLANConfig; the agent's
 * defaults are chosen in {@link #agent()} and measured against Serf in bench/gossip.sh.
 *
 * <p>How they relate (N is the number of nodes known, dead ones included until reaped):
 * <ul>
 *   <li>A probe: a direct ping answered within probeTimeout, else indirect pings through indirectChecks members
 *       and a ping over a stream, all answered before probeInterval ends. So 0 &lt; probeTimeout &lt; probeInterval
 *       (enforced); the indirect phase gets probeInterval - probeTimeout.</li>
 *   <li>Lifeguard awareness: a node's probeInterval and probeTimeout are multiplied by (health score + 1), the score
 *       at most awarenessMaxMultiplier - 1 (&gt;= 1, enforced).</li>
 *   <li>Suspicion: min = suspicionMult x max(1, log10(N)) x probeInterval; it starts at
 *       max = suspicionMaxTimeoutMult x min and reaches min after k = suspicionMult - 2 independent confirmations
 *       (k = 0, the timer is min, when N - 2 &lt; k). suspicionMult &gt;= 2 (enforced): the suspected node is probed
 *       with the suspicion attached at least once or twice before it can be declared dead.</li>
 *   <li>A refutation must cross the pool before the shortest suspicion ends: min (N &lt;= 10) = suspicionMult x
 *       probeInterval &gt;= 4 gossip intervals (enforced).</li>
 *   <li>Broadcasts are sent retransmitMult x ceil(log10(N + 1)) times each, to gossipNodes random nodes every
 *       gossipInterval (one more per decade beyond 99 nodes) and piggybacked on pings and acks; nothing is gossiped when nothing is queued, so the gossip
 *       interval costs no bandwidth at rest.</li>
 *   <li>With eagerGossip, a queued broadcast goes out in a gossip round a few milliseconds later rather than at
 *       the next gossipInterval tick (at most one such round per quarter gossipInterval, so with the tick at most
 *       five rounds per gossipInterval while news keeps coming); memberlist (lan()) waits for the tick. It changes
 *       when broadcasts are sent, not how often: nothing at rest.</li>
 *   <li>Push-pull every pushPullInterval, x (ceil(log2(N) - log2(32)) + 1) beyond 32 nodes (memberlist's
 *       pushPullScale); 0 disables it.</li>
 *   <li>Dead and left nodes are still gossiped to for gossipToTheDeadTime (so one wrongly declared dead hears it and
 *       refutes), and a push-pull with a random dead node is tried every gossipToTheDeadTime / 3 (so a split heals);
 *       they are reaped after gossipToTheDeadTime + deadNodeReclaimTime. A dead node's name may be taken by another
 *       address once deadNodeReclaimTime has passed (0: only after it left).</li>
 *   <li>A node whose own timer runs more than probeInterval late was not running (GC pause, SIGSTOP, overload):
 *       for one shortest suspicion timeout (the min above) from then, its probes that end unanswered suspect no one
 *       (at most 3 in a row) and its suspicion timers wait that long more (at most 3 times per suspicion), so that it
 *       first reads the acks and refutations that waited in its socket buffer.</li>
 *   <li>Failure detection, kill to dead-everywhere, is about: the wait until someone probes the node (under one
 *       probeInterval) + probeInterval + the suspicion min (once confirmed) + a few gossip intervals.</li>
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
        byte[] versions,
        boolean eagerGossip) {

    /** memberlist protocol 1..5, speaking 2; Serf delegate protocol 2..5, speaking 5 (what serf 0.9 advertises). */
    public static final byte[] DEFAULT_VERSIONS = {1, 5, 2, 2, 5, 5};

    /** memberlist's DefaultLANConfig. */
    public static SwimConfig lan(String name) {
        return new SwimConfig(name, Duration.ofSeconds(1), Duration.ofMillis(500), 3, 4, 6, 4,
                Duration.ofMillis(200), 3, Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(10), 8,
                Duration.ZERO, false, DEFAULT_VERSIONS.clone(), false);
    }

    /**
     * The agent's defaults: failure detection in half of Serf's (LAN) time at no more bandwidth at rest. Probes
     * every 500 ms (twice LAN's rate, but our ack carries no coordinate, so the bytes are Serf's), 250 ms to answer
     * directly, the rest of the interval for the indirect phase; suspicion 3 x log10(N) x 500 ms at least (1.5 s up
     * to 10 nodes, 2.2 s at 30), one independent confirmation (k = 3 - 2) brings it from the 6x maximum down to that
     * minimum; gossip every 100 ms (costs nothing at rest: nothing is gossiped when no broadcast is queued), and eagerly
     * when news is queued (a join's, a suspicion's, a refutation's hop is not held for the tick).
     * Broadcasts are retransmitted 6 x ceil(log10(N + 1)) times (LAN: 4x): with suspicions this short, a member that
     * misses a refutation declares a live node dead, and at 10% packet loss 4x let about one member in 10^3 miss one
     * (15 false deaths in 8 x 10 simulated minutes of 50 nodes; 6x: none in 30 x 10 minutes). It costs nothing at
     * rest and 1.5x the gossip while something changes.
     *
     * <p>Bandwidth at rest per node (memberlist's encoding, CRC included, names of ~10 bytes): a ping naming its
     * source is ~87 bytes, ~40 without (Memberlist leaves SourceAddr/SourcePort/SourceNode out when the transport
     * sends from its advertised address, so the ack goes to the packet's source), our ack ~28, Serf's ~167 (its
     * Vivaldi coordinate); two of each a second here, ~140 B/s of UDP payload, against Serf's 254 (one of each).
     * Counting 28 bytes of IP/UDP header per packet, ~250 against 310 (with the source named: 342, 10% more). In
     * bench/gossip.sh, with push-pull: 275 vs 354 IP B/s at N=10, 359 vs 432 at N=30. Simulated (SwimSimulationTest, medians, kill to dead-everywhere): 2.3 s at N=10, 3.2-3.5 s at 30,
     * 5.5-5.8 s at 1,000; LAN: 6.0, 7.7-8.0 and 13.8 s.
     */
    public static SwimConfig agent(String name) {
        return new SwimConfig(name, Duration.ofMillis(500), Duration.ofMillis(250), 3, 3, 6, 6,
                Duration.ofMillis(100), 3, Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(10), 8,
                Duration.ZERO, false, DEFAULT_VERSIONS.clone(), true);
    }

    public SwimConfig withName(String n) {
        return new SwimConfig(n, probeInterval, probeTimeout, indirectChecks, suspicionMult, suspicionMaxTimeoutMult,
                retransmitMult, gossipInterval, gossipNodes, gossipToTheDeadTime, pushPullInterval, streamTimeout,
                awarenessMaxMultiplier, deadNodeReclaimTime, disableStreamPings, versions, eagerGossip);
    }

    /** The same with other protocol versions ([pmin, pmax, pcur, dmin, dmax, dcur]). */
    public SwimConfig withVersions(byte[] v) {
        return new SwimConfig(name, probeInterval, probeTimeout, indirectChecks, suspicionMult, suspicionMaxTimeoutMult,
                retransmitMult, gossipInterval, gossipNodes, gossipToTheDeadTime, pushPullInterval, streamTimeout,
                awarenessMaxMultiplier, deadNodeReclaimTime, disableStreamPings, v.clone(), eagerGossip);
    }

    /** Throws if the timings contradict each other (see the class comment). */
    public SwimConfig check() {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("node name is empty");
        if (probeInterval == null || probeTimeout == null || gossipInterval == null || gossipToTheDeadTime == null
                || pushPullInterval == null || streamTimeout == null || deadNodeReclaimTime == null)
            throw new IllegalArgumentException("a timing is missing");
        if (probeTimeout.isNegative() || probeTimeout.isZero())
            throw new IllegalArgumentException("probe timeout " + probeTimeout + " must be positive");
        if (probeTimeout.compareTo(probeInterval) >= 0)
            throw new IllegalArgumentException("probe timeout " + probeTimeout + " must be shorter than the probe interval " + probeInterval);
        if (suspicionMult < 2 || suspicionMaxTimeoutMult < 1)
            throw new IllegalArgumentException("suspicionMult must be >= 2 and suspicionMaxTimeoutMult >= 1");
        if (indirectChecks < 0 || gossipNodes < 1 || retransmitMult < 1 || awarenessMaxMultiplier < 1)
            throw new IllegalArgumentException("indirect checks, gossip nodes, retransmit and awareness multipliers must be positive");
        if (gossipInterval.isNegative() || gossipInterval.isZero())
            throw new IllegalArgumentException("gossip interval " + gossipInterval + " must be positive");
        if (probeInterval.multipliedBy(suspicionMult).compareTo(gossipInterval.multipliedBy(4)) < 0)
            throw new IllegalArgumentException("the shortest suspicion (" + probeInterval.multipliedBy(suspicionMult)
                    + ") must span at least 4 gossip intervals (" + gossipInterval + ") for a refutation to spread");
        if (pushPullInterval.isNegative() || gossipToTheDeadTime.isNegative() || deadNodeReclaimTime.isNegative()
                || streamTimeout.isNegative() || streamTimeout.isZero())
            throw new IllegalArgumentException("negative interval, or no stream timeout");
        if (versions == null || versions.length != 6)
            throw new IllegalArgumentException("versions must be [pmin, pmax, pcur, dmin, dmax, dcur]");
        int pMin = versions[0] & 0xff, pMax = versions[1] & 0xff, pCur = versions[2] & 0xff;
        int dMin = versions[3] & 0xff, dMax = versions[4] & 0xff, dCur = versions[5] & 0xff;
        if (pMin < 1 || pMin > pCur || pCur > pMax || dMin > dCur || dCur > dMax)
            throw new IllegalArgumentException("versions " + java.util.Arrays.toString(versions) + " are not min <= current <= max");
        return this;
    }
}
