package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SWIM layer on the simulated network: virtual clock, fixed seeds, deterministic. Times asserted here are
 * virtual (they are the same on every run and every machine).
 */
class SwimSimulationTest {
    private static final Duration STEP = Duration.ofMillis(50);

    @Test
    void fiftyNodesWithTenPercentLossConvergeAndDeclareNoLiveNodeDeadForTenMinutes() {
        SimPool pool = new SimPool(1001, SwimConfig::agent);
        pool.net.setLoss(0.10);
        pool.grow(50, Duration.ofMillis(100));
        assertThat(pool.runUntil(() -> pool.converged(50), STEP, Duration.ofSeconds(60)))
                .as("every node sees 50 alive").isGreaterThanOrEqualTo(0);

        // sampled every 250 ms: how many (observer, node) pairs were not alive (suspect) at that moment
        int notAliveSamples = 0;
        long end = pool.clock.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (pool.clock.nanoTime() < end) {
            pool.clock.runFor(Duration.ofMillis(250));
            for (SimPool.SimNode n : pool.nodes) notAliveSamples += 50 - n.alive();
        }
        long refutations = pool.nodes.stream().mapToLong(n -> n.memberlist.localNode().incarnation() - 1).sum();
        System.out.printf("lossy pool: 10 min at 10%% loss, %d packets (%d lost), %d refutations, %d node-samples suspect, %d deaths%n",
                pool.net.packetsSent(), pool.net.packetsLost(), refutations, notAliveSamples, pool.deaths.size());
        assertThat(pool.deaths).as("no live node declared dead by anyone").isEmpty();
        assertThat(refutations).as("the loss did cause suspicions that were refuted (the test has teeth)").isPositive();
        assertThat(pool.runUntil(() -> pool.converged(50), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        assertThat(pool.clock.failures()).isZero();
        assertThat(pool.nodes.stream().mapToLong(n -> n.memberlist.taskFailures()).sum()).isZero();
    }

    @Test
    void aSplitPoolHealsIntoOneAfterThePartitionEnds() {
        SimPool pool = new SimPool(2002, SwimConfig::agent);
        pool.grow(20, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(20), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);

        List<InetSocketAddress> a = new ArrayList<>(), b = new ArrayList<>();
        for (int i = 0; i < 20; i++) (i < 10 ? a : b).add(pool.nodes.get(i).address);
        pool.net.partition(a, b);
        assertThat(pool.runUntil(() -> pool.converged(10), STEP, Duration.ofSeconds(30)))
                .as("each half declares the other dead").isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(15));
        assertThat(pool.converged(10)).isTrue();
        assertThat(pool.deaths).hasSize(20 * 10);

        pool.net.heal();
        long healed = pool.runUntil(() -> pool.converged(20), STEP, Duration.ofSeconds(60));
        System.out.printf("split pool: healed %.1f s after the partition ended%n", healed / 1e9);
        assertThat(healed).as("every node sees all 20 alive again").isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(30));
        assertThat(pool.converged(20)).as("and it stays one pool").isTrue();
    }

    @Test
    void aPausedNodeIsSuspectedRefutesOnResumeAndIsNeverDeclaredDead() {
        SimPool pool = new SimPool(3003, SwimConfig::agent);
        pool.grow(10, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(10), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(5));
        SimPool.SimNode x = pool.nodes.get(4);
        long inc = x.memberlist.localNode().incarnation();

        x.scheduler.pause();
        long pausedAt = pool.clock.nanoTime();
        assertThat(pool.runUntil(() -> pool.nodes.stream().anyMatch(n -> n != x && n.stateOf(x.name) == NodeState.SUSPECT),
                Duration.ofMillis(10), Duration.ofSeconds(10))).as("someone suspects the paused node").isGreaterThanOrEqualTo(0);
        long suspectedAfter = pool.clock.nanoTime() - pausedAt;
        // the shortest suspicion at N = 10 is 3 x 1 x 500 ms = 1.5 s: resume well within it
        pool.clock.runFor(Duration.ofMillis(300));
        x.scheduler.resume();
        assertThat(pool.runUntil(() -> pool.allSee(x.name, Set.of(NodeState.ALIVE)), Duration.ofMillis(10), Duration.ofSeconds(10)))
                .as("the refutation reaches everyone").isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(30));
        System.out.printf("paused node: suspected %.2f s after the pause, resumed at %.2f s, incarnation %d -> %d%n",
                suspectedAfter / 1e9, (suspectedAfter + 300_000_000L) / 1e9, inc, x.memberlist.localNode().incarnation());
        assertThat(x.memberlist.localNode().incarnation()).as("it refuted").isGreaterThan(inc);
        assertThat(pool.deaths).as("never declared dead").isEmpty();
        assertThat(pool.converged(10)).isTrue();
    }

    @Test
    void aNodePausedLongerIsDeclaredDeadAndRejoinsAfterResume() {
        SimPool pool = new SimPool(4004, SwimConfig::agent);
        pool.grow(10, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(10), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        SimPool.SimNode x = pool.nodes.get(6);

        x.scheduler.pause();
        assertThat(pool.runUntil(() -> pool.allSee(x.name, Set.of(NodeState.DEAD)), STEP, Duration.ofSeconds(30)))
                .as("declared dead by all").isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(10));
        assertThat(pool.deadObservers(x.name)).hasSize(9);

        x.scheduler.resume();
        long back = pool.runUntil(() -> pool.converged(10) && pool.allSee(x.name, Set.of(NodeState.ALIVE)), STEP, Duration.ofSeconds(60));
        System.out.printf("long-paused node: alive everywhere again %.2f s after resume%n", back / 1e9);
        assertThat(back).as("alive again everywhere after resume").isGreaterThanOrEqualTo(0);
        assertThat(x.alive()).isEqualTo(10);
    }

    @Test
    void aLeavingNodeIsSeenLeftByAllNotFailed() {
        SimPool pool = new SimPool(5005, SwimConfig::agent);
        pool.grow(12, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(12), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        SimPool.SimNode x = pool.nodes.get(3);

        CompletableFuture<Void> left = x.memberlist.leave(Duration.ofSeconds(5));
        pool.clock.runFor(Duration.ofSeconds(1));
        assertThat(left).isCompleted();
        x.kill(); // as the agent exits after leaving
        assertThat(pool.runUntil(() -> pool.allSee(x.name, Set.of(NodeState.LEFT)), STEP, Duration.ofSeconds(10)))
                .isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(20));
        assertThat(pool.allSee(x.name, Set.of(NodeState.LEFT))).as("still left, never turned dead").isTrue();
        assertThat(pool.deaths).as("nobody declared it failed").isEmpty();
        assertThat(pool.lefts.stream().filter(d -> d.node().equals(x.name)).map(SimPool.Declared::observer).distinct().count())
                .isEqualTo(12); // the 11 others and itself
    }

    @Test
    void aNodeWithAnIncompatibleProtocolRangeIsNotAdmitted() {
        SimPool pool = new SimPool(6006, SwimConfig::agent);
        pool.grow(5, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(5), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);

        // protocol 6..7 does not overlap 1..5
        SwimConfig odd = SwimConfig.agent("odd").withVersions(new byte[]{6, 7, 6, 2, 5, 5});
        SimPool.SimNode o = pool.add(odd, null);
        CompletableFuture<Integer> joined = o.join(pool.nodes.get(0), pool.nodes.get(1));
        pool.clock.runFor(Duration.ofSeconds(5));
        assertThat(joined).isCompletedWithValue(0);

        // its alive, gossiped straight at a member, is ignored too
        Transport raw = pool.net.attach(SimPool.address(99), new SimScheduler(pool.clock, "raw", 1));
        raw.start(new NullInbox());
        InetSocketAddress oa = o.address;
        raw.sendPacket(pool.nodes.get(2).address, List.of(new Message.Alive(7, "odd", oa.getAddress().getAddress(), oa.getPort(),
                new byte[0], new byte[]{6, 7, 6, 2, 5, 5})));
        pool.clock.runFor(Duration.ofSeconds(10));
        for (SimPool.SimNode n : pool.nodes) {
            if (n == o) continue;
            assertThat(n.memberlist.member("odd")).as(n.name + " does not list it").isNull();
            assertThat(n.alive()).isEqualTo(5);
        }
        assertThat(o.alive()).as("and it lists none of them").isEqualTo(1);
    }

    @Test
    void joiningOneselfNeverCountsAndEveryAddressIsContacted() {
        SimPool pool = new SimPool(7007, SwimConfig::agent);
        SimPool.SimNode a = pool.add();
        SimPool.SimNode b = pool.add();
        SimPool.SimNode c = pool.add();
        // a alone, joining itself: nothing
        CompletableFuture<Integer> self = a.join(a);
        pool.clock.runFor(Duration.ofSeconds(1));
        assertThat(self).isCompletedWithValue(0);
        // b and c know each other; a (listed first everywhere) joins all three: two answer
        b.join(c);
        pool.clock.runFor(Duration.ofSeconds(1));
        CompletableFuture<Integer> all = a.join(a, b, c);
        pool.clock.runFor(Duration.ofSeconds(1));
        assertThat(all).isCompletedWithValue(2);
        assertThat(pool.runUntil(() -> pool.converged(3), STEP, Duration.ofSeconds(5))).isGreaterThanOrEqualTo(0);
        // an address that answers with this node's own state only (this node under another name) does not count
        SimPool solo = new SimPool(7008, SwimConfig::agent);
        SimPool.SimNode s = solo.add();
        Transport alias = solo.net.attach(SimPool.address(77), new SimScheduler(solo.clock, "alias", 2));
        alias.start(new NullInbox() {
            @Override
            public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
                return CompletableFuture.completedFuture(new PushPull(false, remote.nodes(), new byte[0]));
            }
        });
        CompletableFuture<Integer> viaAlias = s.memberlist.join(List.of(SimPool.address(77)));
        solo.clock.runFor(Duration.ofSeconds(1));
        assertThat(viaAlias).isCompletedWithValue(0);
    }

    @Test
    void theSameSeedGivesTheSameRun() {
        java.util.function.Supplier<String> run = () -> {
            SimPool pool = new SimPool(4242, SwimConfig::agent);
            pool.net.setLoss(0.2);
            pool.grow(15, Duration.ofMillis(30));
            pool.clock.runFor(Duration.ofSeconds(20));
            pool.nodes.get(3).kill();
            pool.nodes.get(5).scheduler.pause();
            pool.clock.runFor(Duration.ofSeconds(20));
            pool.nodes.get(5).scheduler.resume();
            pool.clock.runFor(Duration.ofSeconds(20));
            StringBuilder b = new StringBuilder();
            b.append(pool.net.packetsSent()).append('/').append(pool.net.packetsLost()).append('/').append(pool.clock.eventsRun());
            for (SimPool.SimNode n : pool.nodes) {
                b.append(' ').append(n.name).append(':').append(n.alive());
                for (Node m : n.memberlist.members()) b.append(',').append(m.name()).append('=').append(m.state()).append('@').append(m.incarnation());
            }
            b.append(pool.deaths);
            return b.toString();
        };
        String first = run.get();
        assertThat(run.get()).isEqualTo(first);
        assertThat(first).contains("node-3=DEAD");
    }

    @Test
    void agentDetectsFailuresInLessThanHalfTheLanTime() {
        for (int n : new int[]{10, 30}) {
            Figures agent = measure(n, SwimConfig::agent, 8000 + n, 5, 5);
            Figures lan = measure(n, SwimConfig::lan, 8000 + n, 5, 5);
            System.out.printf("N=%d: agent detection %.2f s, join %.3f s, %.0f B/s per node at rest; lan detection %.2f s, join %.3f s, %.0f B/s%n",
                    n, agent.detection, agent.join, agent.bytesPerSecond, lan.detection, lan.join, lan.bytesPerSecond);
            assertThat(agent.detection).as("N=%d detection", n).isLessThanOrEqualTo(lan.detection / 2);
            // Serf's own figures on loopback: 6.0 s at N=10, 8.35 s at N=30
            assertThat(agent.detection).isLessThanOrEqualTo(n == 10 ? 3.0 : 4.175);
            assertThat(agent.join).isLessThanOrEqualTo(lan.join * 1.1);
            // bandwidth at rest (UDP payload; no broadcasts are queued at rest): we ping twice as often as LAN, but
            // Serf's every ack carries its Vivaldi coordinate (a version byte and a msgpack map of 8 + 3 float64s
            // with their field names, ~140 bytes) and ours carry nothing, and each node sends one ack per second
            // with LAN timings: Serf at rest = lan + 140 B/s per node
            assertThat(agent.bytesPerSecond).isLessThanOrEqualTo(lan.bytesPerSecond + 140);
        }
    }

    @Test
    void thousandNodesDetectAndConvergeWithinTwiceThirtyNodes() {
        long t0 = System.nanoTime();
        Figures small = measure(30, SwimConfig::agent, 9030, 20, 9);
        Figures large = measure(1000, SwimConfig::agent, 9030, 20, 9);
        System.out.printf("agent(): N=30 detection %.2f s, join convergence %.3f s; N=1000 detection %.2f s, join convergence %.3f s (ratios %.2f, %.2f; wall %d ms)%n",
                small.detection, small.join, large.detection, large.join, large.detection / small.detection,
                large.join / small.join, (System.nanoTime() - t0) / 1_000_000);
        assertThat(large.detection).isLessThanOrEqualTo(2 * small.detection);
        assertThat(large.join).isLessThanOrEqualTo(2 * small.join);
    }

    /** Medians over several joins and kills (simulated seconds), and bytes per second per node at rest. */
    record Figures(double join, double detection, double bytesPerSecond) {}

    /**
     * Forms a pool of {@code n} (each node joins node 0, 10 ms apart), then: {@code joins} times a new node joins an
     * established member, timed until every node sees every other alive (then it leaves); the UDP bytes per node over
     * 30 s at rest;
     * {@code kills} times a member is killed, timed until every live node holds it dead.
     */
    static Figures measure(int n, java.util.function.Function<String, SwimConfig> cfg, long seed, int joins, int kills) {
        SimPool pool = new SimPool(seed, cfg);
        pool.grow(n, Duration.ofMillis(10));
        assertThat(pool.runUntil(() -> pool.converged(n), STEP, Duration.ofSeconds(600))).isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(5));
        List<Double> joinTimes = new ArrayList<>();
        for (int r = 0; r < joins; r++) {
            // each joiner is timed until all n + 1 see each other alive, then leaves, so the pool stays at n
            SimPool.SimNode joiner = pool.add();
            joiner.join(pool.nodes.get(r));
            long t = pool.runUntil(() -> pool.converged(n + 1), Duration.ofMillis(5), Duration.ofSeconds(60));
            assertThat(t).as("join %d converges", r).isGreaterThanOrEqualTo(0);
            joinTimes.add(t / 1e9);
            pool.clock.runFor(Duration.ofSeconds(1));
            joiner.memberlist.leave(Duration.ofSeconds(1));
            pool.clock.runFor(Duration.ofSeconds(1));
            joiner.kill();
            assertThat(pool.runUntil(() -> pool.converged(n), STEP, Duration.ofSeconds(10))).isGreaterThanOrEqualTo(0);
        }
        pool.clock.runFor(Duration.ofSeconds(10));
        List<SimPool.SimNode> live = pool.live();
        long bytes0 = 0;
        for (SimPool.SimNode x : live) bytes0 += pool.net.bytesSent(x.address);
        pool.clock.runFor(Duration.ofSeconds(30));
        long bytes1 = 0;
        for (SimPool.SimNode x : live) bytes1 += pool.net.bytesSent(x.address);
        double bps = (bytes1 - bytes0) / 30.0 / live.size();
        List<Double> detections = new ArrayList<>();
        for (int r = 0; r < kills; r++) {
            SimPool.SimNode victim = pool.nodes.get((n / 2 + r * 3) % n); // one of the original n
            victim.kill();
            long t = pool.runUntil(() -> pool.allSee(victim.name, Set.of(NodeState.DEAD)), Duration.ofMillis(10), Duration.ofSeconds(120));
            assertThat(t).as("kill %d detected", r).isGreaterThanOrEqualTo(0);
            detections.add(t / 1e9);
            pool.clock.runFor(Duration.ofSeconds(3));
        }
        assertThat(pool.clock.failures()).isZero();
        return new Figures(median(joinTimes), median(detections), bps);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    static class NullInbox implements Transport.Inbox {
        @Override
        public void packet(InetSocketAddress from, Message message) {}

        @Override
        public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
            return CompletableFuture.failedFuture(new IllegalStateException("no"));
        }

        @Override
        public void stream(InetSocketAddress from, Message message) {}

        @Override
        public CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping) {
            return CompletableFuture.completedFuture(null);
        }
    }
}
