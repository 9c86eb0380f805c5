package io.failoverkit.discovery.gossip.swim;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A mass join on the simulated network (virtual clock, fixed seeds): N - 1 fresh nodes all join node 0 at the same
 * instant, as bench/gossip.sh's agents do; timed until every node sees all N alive. The nodes carry a node meta of
 * the agent's size (its Consul-like tags), which decides how many alives fit in one gossip packet.
 */
class SwimMassJoinTest {
    /** About what the agent's tags (role, dc, id, port, http_port, build, expect, vsn...) take in Serf's encoding. */
    static final byte[] META = new byte[160];

    static {
        Arrays.fill(META, (byte) 'x');
    }

    static final long[] SEEDS = {11, 12, 13, 14, 15};

    /** Virtual seconds from the simultaneous join until every node sees all n alive; -1 if not within 120 s. */
    static double massJoin(int n, Function<String, SwimConfig> cfg, long seed) {
        SimPool pool = new SimPool(seed, cfg);
        List<SimPool.SimNode> all = new ArrayList<>();
        for (int i = 0; i < n; i++) all.add(pool.add(cfg.apply("node-" + i), META));
        pool.clock.runFor(Duration.ofMillis(50));
        SimPool.SimNode first = all.get(0);
        for (int i = 1; i < n; i++) all.get(i).join(first);
        long t = pool.runUntil(() -> pool.converged(n), Duration.ofMillis(5), Duration.ofSeconds(120));
        assertThat(pool.clock.failures()).isZero();
        return t < 0 ? -1 : t / 1e9;
    }

    @Test
    void agentConvergesAfterAMassJoinNoSlowerThanLan() {
        for (int n : new int[]{10, 30}) {
            List<Double> agent = new ArrayList<>();
            List<Double> lan = new ArrayList<>();
            for (long seed : SEEDS) {
                agent.add(massJoin(n, SwimConfig::agent, seed * 100 + n));
                lan.add(massJoin(n, SwimConfig::lan, seed * 100 + n));
            }
            System.out.printf("mass join N=%d: agent %s (max %.3f s), lan %s (max %.3f s)%n", n, agent,
                    agent.stream().mapToDouble(d -> d).max().orElse(0), lan, lan.stream().mapToDouble(d -> d).max().orElse(0));
            assertThat(agent).as("N=%d: every agent() run converges", n).allMatch(d -> d >= 0);
            assertThat(lan).as("N=%d: every lan() run converges", n).allMatch(d -> d >= 0);
            double agentMedian = SwimSimulationTest.median(agent), lanMedian = SwimSimulationTest.median(lan);
            double agentMax = agent.stream().mapToDouble(d -> d).max().orElseThrow();
            double lanMax = lan.stream().mapToDouble(d -> d).max().orElseThrow();
            assertThat(agentMedian).as("N=%d: agent() median vs lan()", n).isLessThanOrEqualTo(lanMedian);
            assertThat(agentMax).as("N=%d: agent() slowest vs lan()", n).isLessThanOrEqualTo(lanMax);
            // and no member stays missing for seconds: every run about within serf 0.9.4's own figure on loopback (the
            // issue's: 0.48 s at N=10, 0.89 s at N=30; 1 s allowed here). Before joiners re-broadcast what they
            // merged: 6-27 s at N=30 (a broadcast died out and only the next push-pull repaired it).
            assertThat(agentMax).as("N=%d: agent() slowest run", n).isLessThanOrEqualTo(n == 10 ? 0.48 : 1.0);
        }
    }
}
