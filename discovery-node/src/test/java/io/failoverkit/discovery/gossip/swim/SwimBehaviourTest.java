package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Memberlist's behaviour in small simulated pools, the schedulers, and SwimConfig's checks. */
class SwimBehaviourTest {
    private static final Duration STEP = Duration.ofMillis(50);

    /** One node built by hand: its delegate hands out queued user broadcasts and records what arrives. */
    static final class Hand {
        final SimClock clock;
        final InetSocketAddress address;
        final SimScheduler scheduler;
        final Capturing transport;
        final Memberlist memberlist;
        final List<byte[]> received = new ArrayList<>();
        final List<byte[]> toBroadcast = new ArrayList<>();
        final List<String> updates = new ArrayList<>();
        byte[] meta = new byte[]{1};
        int handedOut;

        Hand(SimClock clock, SimNetwork net, int i, SwimConfig cfg, boolean throwingListener) {
            this.clock = clock;
            this.address = SimPool.address(i);
            this.scheduler = new SimScheduler(clock, cfg.name(), 100 + i);
            this.transport = new Capturing(net.attach(address, scheduler));
            Delegate d = new Delegate() {
                public byte[] nodeMeta(int limit) { return meta; }
                public void notifyMsg(byte[] message) { received.add(message); }
                public List<byte[]> broadcasts(int overhead, int limit) {
                    // as Serf's own queues: each broadcast handed out a number of times (here 12)
                    if (toBroadcast.isEmpty() || ++handedOut > 12) return List.of();
                    return List.copyOf(toBroadcast);
                }
                public byte[] localState(boolean join) { return new byte[0]; }
                public void mergeRemoteState(byte[] state, boolean join) {}
            };
            EventListener l = new EventListener() {
                public void notifyJoin(Node node) { if (throwingListener) throw new IllegalStateException("listener bug"); }
                public void notifyLeave(Node node) { if (throwingListener) throw new IllegalStateException("listener bug"); }
                public void notifyUpdate(Node node) { updates.add(node.name()); }
            };
            this.memberlist = Memberlist.create(cfg, transport, scheduler, d, l);
            memberlist.start();
        }
    }

    /** Records what a node sends. */
    static final class Capturing implements Transport {
        final Transport inner;
        final List<List<Message>> packets = new ArrayList<>();

        /** What {@link #sendsFromAdvertised} answers (false, the interface's default, unless a test sets it). */
        boolean fromAdvertised;

        Capturing(Transport inner) { this.inner = inner; }

        public InetSocketAddress advertise() { return inner.advertise(); }
        public boolean sendsFromAdvertised() { return fromAdvertised; }
        public void start(Inbox inbox) { inner.start(inbox); }
        public void sendPacket(InetSocketAddress to, List<Message> messages) {
            packets.add(List.copyOf(messages));
            inner.sendPacket(to, messages);
        }
        public int packetLimit() { return inner.packetLimit(); }
        public int sizeOf(Message message) { return inner.sizeOf(message); }
        public CompletableFuture<PushPull> pushPull(InetSocketAddress to, PushPull local, Duration timeout) { return inner.pushPull(to, local, timeout); }
        public CompletableFuture<Message.Ack> pingStream(InetSocketAddress to, Message.Ping ping, Duration timeout) { return inner.pingStream(to, ping, timeout); }
        public CompletableFuture<Void> sendStream(InetSocketAddress to, Message message, Duration timeout) { return inner.sendStream(to, message, timeout); }
        public long droppedPackets() { return inner.droppedPackets(); }
        public void close() { inner.close(); }
    }

    private static List<Hand> pool(SimClock clock, SimNetwork net, int n, boolean throwing) {
        List<Hand> hands = new ArrayList<>();
        for (int i = 0; i < n; i++) hands.add(new Hand(clock, net, i, SwimConfig.agent("h" + i), throwing));
        for (int i = 1; i < n; i++) hands.get(i).memberlist.join(List.of(hands.get(0).address));
        clock.runUntil(() -> hands.stream().allMatch(h -> h.memberlist.numAlive() == n), STEP, Duration.ofSeconds(30));
        return hands;
    }

    @Test
    void pingsNameTheirSourceOnlyWhenTheTransportCannotSayPacketsLeaveFromTheAdvertisedAddress() {
        for (boolean fromAdvertised : new boolean[]{true, false}) {
            SimClock clock = new SimClock();
            SimNetwork net = new SimNetwork(clock, 21);
            List<Hand> hands = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                Hand h = new Hand(clock, net, i, SwimConfig.agent("h" + i), false);
                h.transport.fromAdvertised = fromAdvertised;
                hands.add(h);
            }
            for (int i = 1; i < 5; i++) hands.get(i).memberlist.join(List.of(hands.get(0).address));
            clock.runFor(Duration.ofSeconds(30));

            int pings = 0;
            for (Hand h : hands) {
                assertThat(h.memberlist.numAlive()).as("%s, fromAdvertised=%s", h.memberlist.localNode().name(), fromAdvertised).isEqualTo(5);
                for (List<Message> p : h.transport.packets) {
                    for (Message m : p) {
                        assertThat(m).as("the acks came back: no one was suspected").isNotInstanceOf(Message.Suspect.class);
                        if (!(m instanceof Message.Ping ping)) continue;
                        pings++;
                        if (fromAdvertised) {
                            assertThat(ping.sourceAddr()).isEmpty();
                            assertThat(ping.sourcePort()).isZero();
                            assertThat(ping.sourceNode()).isEmpty();
                        } else {
                            assertThat(ping.sourceAddr()).isEqualTo(h.address.getAddress().getAddress());
                            assertThat(ping.sourcePort()).isEqualTo(h.address.getPort());
                            assertThat(ping.sourceNode()).isEqualTo(h.memberlist.localNode().name());
                        }
                    }
                }
            }
            assertThat(pings).as("30 s of probing, 5 nodes").isGreaterThan(200);
        }
    }

    @Test
    void userBroadcastsReachEveryoneAndRideAfterMemberlistsOwn() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 11);
        List<Hand> hands = pool(clock, net, 5, false);
        assertThat(hands).allMatch(h -> h.memberlist.numAlive() == 5);

        Hand a = hands.get(0);
        byte[] event = "event:deploy".getBytes(StandardCharsets.UTF_8);
        a.toBroadcast.add(event);
        a.memberlist.updateNode(Duration.ofSeconds(1)); // also queues an alive of memberlist's own
        clock.runFor(Duration.ofSeconds(2));
        for (Hand h : hands.subList(1, 5)) {
            assertThat(h.received).as(h.memberlist.localNode().name()).isNotEmpty();
            assertThat(h.received).allMatch(r -> java.util.Arrays.equals(r, event));
        }

        boolean sawBoth = false;
        for (List<Message> p : a.transport.packets) {
            int firstUser = -1, lastOwn = -1;
            for (int i = 0; i < p.size(); i++) {
                if (p.get(i) instanceof Message.User) { if (firstUser < 0) firstUser = i; }
                else lastOwn = i;
            }
            if (firstUser >= 0 && lastOwn >= 0) {
                sawBoth = true;
                assertThat(lastOwn).as("memberlist's messages come before the delegate's").isLessThan(firstUser);
            }
        }
        assertThat(sawBoth).as("one packet carried both").isTrue();
    }

    @Test
    void updateNodeRaisesTheIncarnationAndOthersSeeTheNewMeta() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 12);
        List<Hand> hands = pool(clock, net, 4, false);
        Hand a = hands.get(0);
        long inc = a.memberlist.localNode().incarnation();
        a.meta = "role=db".getBytes(StandardCharsets.UTF_8);
        CompletableFuture<Void> done = a.memberlist.updateNode(Duration.ofSeconds(5));
        clock.runFor(Duration.ofSeconds(3));
        assertThat(done).isCompleted();
        assertThat(a.memberlist.localNode().incarnation()).isGreaterThan(inc);
        for (Hand h : hands.subList(1, 4)) {
            assertThat(h.memberlist.member("h0").meta()).isEqualTo(a.meta);
            assertThat(h.updates).containsExactly("h0");
        }
    }

    @Test
    void aSecondNodeClaimingATakenNameIsRefusedAndTheFirstKept() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 13);
        List<Hand> hands = pool(clock, net, 3, false);
        InetSocketAddress original = hands.get(0).memberlist.member("h1").address();
        Transport raw = net.attach(SimPool.address(50), new SimScheduler(clock, "raw", 3));
        raw.start(new SwimSimulationTest.NullInbox());
        byte[] other = SimPool.address(50).getAddress().getAddress();
        raw.sendPacket(hands.get(0).address, List.of(
                new Message.Alive(99, "h1", other, 7946, new byte[0], SwimConfig.DEFAULT_VERSIONS),
                // malformed: a 3-byte address, and a nonsense version range: both ignored, nothing breaks
                new Message.Alive(5, "bad1", new byte[]{1, 2, 3}, 7946, new byte[0], SwimConfig.DEFAULT_VERSIONS),
                new Message.Alive(5, "bad2", other, 7946, new byte[0], new byte[]{5, 1, 2, 2, 5, 5}),
                new Message.Suspect(1, "nobody", "raw"),
                new Message.Dead(1, "nobody", "raw"),
                // fields the codec never leaves out: dropped and counted
                new Message.Alive(5, null, other, 7946, new byte[0], SwimConfig.DEFAULT_VERSIONS),
                new Message.Suspect(9, "h1", null),
                new Message.Ping(1, null, null, 0, null)));
        clock.runFor(Duration.ofSeconds(5));
        Memberlist m = hands.get(0).memberlist;
        assertThat(m.member("h1").address()).isEqualTo(original);
        assertThat(m.member("h1").incarnation()).isLessThan(99);
        assertThat(m.conflicts()).isEqualTo(1);
        assertThat(m.member("bad1")).isNull();
        assertThat(m.member("bad2")).isNull();
        assertThat(m.malformedMessages()).isEqualTo(3);
        assertThat(m.taskFailures()).isZero();
        assertThat(hands).allMatch(h -> h.memberlist.numAlive() == 3);
    }

    @Test
    void deadNodesAreReapedAfterGossipToTheDeadTime() {
        SimPool pool = new SimPool(14, SwimConfig::agent);
        pool.grow(6, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(6), STEP, Duration.ofSeconds(10))).isGreaterThanOrEqualTo(0);
        SimPool.SimNode x = pool.nodes.get(2);
        x.kill();
        assertThat(pool.runUntil(() -> pool.allSee(x.name, Set.of(NodeState.DEAD)), STEP, Duration.ofSeconds(20))).isGreaterThanOrEqualTo(0);
        long deadAt = pool.clock.nanoTime();
        pool.clock.runFor(Duration.ofSeconds(25));
        assertThat(pool.allSee(x.name, Set.of(NodeState.DEAD))).as("kept while gossiped to").isTrue();
        // reaped at the first probe round after 30 s (a round is 5 probes of 500 ms here)
        long reaped = pool.runUntil(() -> pool.live().stream().allMatch(n -> n == x || n.memberlist.member(x.name) == null),
                STEP, Duration.ofSeconds(20));
        assertThat(reaped).isGreaterThanOrEqualTo(0);
        assertThat(pool.clock.nanoTime() - deadAt).isGreaterThan(Duration.ofSeconds(30).toNanos());
        assertThat(pool.converged(5)).isTrue();
    }

    @Test
    void aListenerThatThrowsNeverStopsTheNode() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 15);
        List<Hand> hands = pool(clock, net, 4, true);
        assertThat(hands).allMatch(h -> h.memberlist.numAlive() == 4);
        assertThat(clock.failures()).isZero();
    }

    @Test
    void leaveAloneCompletesAtOnceAndStopsProbing() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 16);
        Hand a = new Hand(clock, net, 0, SwimConfig.agent("alone"), false);
        clock.runFor(Duration.ofSeconds(1));
        CompletableFuture<Void> left = a.memberlist.leave(Duration.ofSeconds(5));
        clock.runFor(Duration.ofMillis(10));
        assertThat(left).isCompleted();
        assertThat(a.memberlist.localNode().state()).isEqualTo(NodeState.LEFT);
        assertThat(a.memberlist.numMembers()).isZero();
    }

    @Test
    void simClockRunsTiesInOrderAndSurvivesATaskThatThrows() {
        SimClock clock = new SimClock();
        SimScheduler s = new SimScheduler(clock, "s", 1);
        List<String> order = new ArrayList<>();
        s.schedule(1000, () -> order.add("b"));
        s.schedule(500, () -> order.add("a"));
        s.schedule(1000, () -> { throw new IllegalStateException("boom"); });
        s.schedule(1000, () -> order.add("c"));
        Scheduler.Cancellable x = s.schedule(1000, () -> order.add("cancelled"));
        x.cancel();
        clock.runUntil(2000);
        assertThat(order).containsExactly("a", "b", "c");
        assertThat(clock.failures()).isEqualTo(1);

        // paused: timers wait and run on resume, in order
        s.pause();
        s.schedule(100, () -> order.add("d"));
        s.schedule(200, () -> order.add("e"));
        clock.runFor(Duration.ofSeconds(1));
        assertThat(order).hasSize(3);
        s.resume();
        clock.runFor(Duration.ZERO);
        assertThat(order).endsWith("d", "e");
        s.shutdown();
        s.execute(() -> order.add("after shutdown"));
        clock.runFor(Duration.ofSeconds(1));
        assertThat(order).doesNotContain("after shutdown");
    }

    @Test
    void realSchedulerSurvivesATaskThatThrows() throws Exception {
        RealScheduler s = new RealScheduler("test");
        try {
            CountDownLatch ran = new CountDownLatch(1);
            s.execute(() -> { throw new IllegalStateException("boom"); });
            s.schedule(TimeUnit.MILLISECONDS.toNanos(10), ran::countDown);
            assertThat(ran.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(s.failedTasks()).isEqualTo(1);
            CountDownLatch never = new CountDownLatch(1);
            s.schedule(TimeUnit.MILLISECONDS.toNanos(50), never::countDown).cancel();
            assertThat(never.await(300, TimeUnit.MILLISECONDS)).isFalse();
        } finally {
            s.shutdown();
        }
        s.execute(() -> { throw new AssertionError("runs after shutdown"); }); // dropped silently
    }

    @Test
    void configChecksTheRelationsBetweenTimings() {
        assertThat(SwimConfig.lan("n").check()).isNotNull();
        assertThat(SwimConfig.agent("n").check()).isNotNull();
        SwimConfig a = SwimConfig.agent("n");
        assertThatThrownBy(() -> new SwimConfig("n", a.probeInterval(), a.probeInterval(), 3, 3, 6, 6, a.gossipInterval(), 3,
                a.gossipToTheDeadTime(), a.pushPullInterval(), a.streamTimeout(), 8, Duration.ZERO, false, a.versions(), true).check())
                .hasMessageContaining("probe timeout");
        assertThatThrownBy(() -> new SwimConfig("n", a.probeInterval(), a.probeTimeout(), 3, 1, 6, 6, a.gossipInterval(), 3,
                a.gossipToTheDeadTime(), a.pushPullInterval(), a.streamTimeout(), 8, Duration.ZERO, false, a.versions(), true).check())
                .hasMessageContaining("suspicionMult");
        assertThatThrownBy(() -> new SwimConfig("n", a.probeInterval(), a.probeTimeout(), 3, 3, 6, 6, Duration.ofMillis(400), 3,
                a.gossipToTheDeadTime(), a.pushPullInterval(), a.streamTimeout(), 8, Duration.ZERO, false, a.versions(), true).check())
                .hasMessageContaining("gossip intervals");
        assertThatThrownBy(() -> a.withVersions(new byte[]{3, 2, 2, 2, 5, 5}).check()).hasMessageContaining("versions");
        assertThatThrownBy(() -> a.withName(" ").check()).hasMessageContaining("name");
    }
}
